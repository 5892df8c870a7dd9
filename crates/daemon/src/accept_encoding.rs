//! Which content coding a `/metrics` client gets, from its `Accept-Encoding` (RFC 9110
//! §12.5.3): gzip when it weighs gzip (or `x-gzip`, or `*` when gzip is not named) above 0 and
//! not below an explicitly weighed `identity`; identity otherwise, also when nothing is
//! acceptable (a page rather than a `406`, as Go's promhttp does). Elements with a malformed
//! weight are ignored, as tower-http's gzip layer ignores them.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_ENCODING;

use super::page::Coding;

/// The coding to answer `headers` with.
pub(crate) fn negotiate(headers: &HeaderMap) -> Coding {
    let (mut gzip, mut identity, mut any) = (None, None, None);
    let elements = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for element in elements {
        let mut parts = element.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let Some(q) = weight(parts) else { continue };
        let slot = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding.eq_ignore_ascii_case("identity") {
            &mut identity
        } else if coding == "*" {
            &mut any
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |was: u16| was.max(q)));
    }
    let gzip = gzip.or(any).unwrap_or(0);
    // Identity not weighed by the client is its fallback, below any coding it accepts.
    let identity = identity.or(any).unwrap_or(0);
    if gzip > 0 && gzip >= identity {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

/// The weight among an element's parameters, in thousandths (1000 when none is given); `None`
/// when it is malformed.
fn weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut q = 1000;
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            q = qvalue(value.trim())?;
        }
    }
    Some(q)
}

/// `0`, `0.`, up to three decimals, or `1` with only zeros after the point.
fn qvalue(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac
        .bytes()
        .zip([100, 10, 1])
        .map(|(digit, scale)| u16::from(digit - b'0') * scale)
        .sum::<u16>();
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn coding(values: &[&str]) -> Coding {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        negotiate(&headers)
    }

    #[test]
    fn prometheus_and_curl_get_gzip() {
        assert_eq!(coding(&["gzip"]), Coding::Gzip);
        assert_eq!(coding(&["deflate, gzip"]), Coding::Gzip);
        assert_eq!(coding(&["br;q=1.0, GZIP;q=0.5"]), Coding::Gzip);
        assert_eq!(coding(&["x-gzip"]), Coding::Gzip);
        assert_eq!(coding(&["*"]), Coding::Gzip);
        assert_eq!(coding(&["identity;q=0.5", "gzip"]), Coding::Gzip);
    }

    #[test]
    fn a_zero_weight_means_not_gzip() {
        assert_eq!(coding(&["gzip;q=0"]), Coding::Identity);
        assert_eq!(coding(&["gzip; q=0.000"]), Coding::Identity);
        assert_eq!(coding(&["*, gzip;q=0"]), Coding::Identity);
        assert_eq!(coding(&["*;q=0"]), Coding::Identity);
        assert_eq!(coding(&["gzip;q=0, identity;q=0"]), Coding::Identity);
    }

    #[test]
    fn identity_weighed_higher_wins() {
        assert_eq!(coding(&["gzip;q=0.5, identity"]), Coding::Identity);
        assert_eq!(coding(&["gzip;q=0.5, *"]), Coding::Identity);
        assert_eq!(coding(&["gzip;q=0.8, identity;q=0.8"]), Coding::Gzip);
    }

    #[test]
    fn without_gzip_named_or_a_usable_weight_it_is_identity() {
        assert_eq!(coding(&[]), Coding::Identity);
        assert_eq!(coding(&[""]), Coding::Identity);
        assert_eq!(coding(&["br, deflate, zstd"]), Coding::Identity);
        assert_eq!(coding(&["identity"]), Coding::Identity);
        for bad in [
            "gzip;q=2",
            "gzip;q=1.5",
            "gzip;q=0.1234",
            "gzip;q=",
            "gzip;q=x",
        ] {
            assert_eq!(coding(&[bad]), Coding::Identity, "{bad}");
        }
    }

    #[test]
    fn weights_parse_as_thousandths() {
        assert_eq!(qvalue("0.5"), Some(500));
        assert_eq!(qvalue("0.05"), Some(50));
        assert_eq!(qvalue("0.001"), Some(1));
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("0."), Some(0));
        assert_eq!(qvalue("1.001"), None);
        assert_eq!(qvalue("-0"), None);
    }
}
