//! The protocol side of `tls_server_config`: `min_version`/`max_version`, `cipher_suites` and
//! `curve_preferences` as Go names them, turned into a rustls crypto provider (ring) and the
//! protocol versions to offer. Every name Go knows is accepted. What Go knows but rustls cannot
//! offer (TLS 1.0 and 1.1, CBC and RSA key exchange suites, CurveP521) is left out and reported
//! in [`Protocol::not_offered`] for one warning per load; only a name Go does not know, or keys
//! that leave nothing to offer, are refused.

use rustls::SupportedProtocolVersion;
use rustls::crypto::CryptoProvider;

use crate::error::ConfigError;

/// Cipher suite names Go's `tls.CipherSuites()` knows (the names the toolkit accepts).
const GO_CIPHER_SUITES: &[&str] = &[
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// Go's TLS 1.3 suites: accepted and, as in Go, without effect (TLS 1.3 suites are not chosen).
const GO_TLS13_SUITES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// The TLS 1.2 suites of which Go's HTTP/2 server wants one in a `cipher_suites` list.
const HTTP2_REQUIRED: &[&str] = &[
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
];

const GO_CURVES: &[&str] = &["CurveP256", "CurveP384", "CurveP521", "X25519"];

/// Go's names of TLS versions; an empty one is unknown there too.
const GO_VERSIONS: &[&str] = &["TLS10", "TLS11", "TLS12", "TLS13"];

/// A TLS version as Go names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::Tls10 => "TLS10",
            Version::Tls11 => "TLS11",
            Version::Tls12 => "TLS12",
            Version::Tls13 => "TLS13",
        }
    }
}

fn version(field: &str, v: Option<&str>, default: Version) -> Result<Version, ConfigError> {
    match v {
        None => Ok(default),
        Some("TLS13") => Ok(Version::Tls13),
        Some("TLS12") => Ok(Version::Tls12),
        Some("TLS11") => Ok(Version::Tls11),
        Some("TLS10") => Ok(Version::Tls10),
        Some(other) => Err(ConfigError::tls(
            field,
            format!("unknown TLS version {other:?} (expected TLS10, TLS11, TLS12 or TLS13)"),
        )),
    }
}

/// The protocol keys of `tls_server_config` as written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProtocolKeys<'a> {
    pub min_version: Option<&'a str>,
    pub max_version: Option<&'a str>,
    pub cipher_suites: Option<&'a [String]>,
    pub curve_preferences: Option<&'a [String]>,
}

/// What the keys choose: the provider (suites and groups) and the versions to offer.
pub(crate) struct Protocol {
    pub provider: CryptoProvider,
    pub versions: Vec<&'static SupportedProtocolVersion>,
    /// What the keys ask for that rustls cannot offer, one line per key, to log once per load.
    pub not_offered: Vec<String>,
}

impl ProtocolKeys<'_> {
    /// Without TLS the keys are unused, but their names must still be ones Go knows.
    pub(crate) fn check_names(&self) -> Result<(), ConfigError> {
        for (field, v) in [
            ("min_version", self.min_version),
            ("max_version", self.max_version),
        ] {
            if let Some(s) = v
                && !GO_VERSIONS.contains(&s)
            {
                return Err(ConfigError::tls(
                    field,
                    format!("unknown TLS version {s:?}"),
                ));
            }
        }
        for s in self.cipher_suites.into_iter().flatten() {
            if !GO_CIPHER_SUITES.contains(&s.as_str()) {
                return Err(ConfigError::tls(
                    "cipher_suites",
                    format!("unknown cipher {s:?}"),
                ));
            }
        }
        for c in self.curve_preferences.into_iter().flatten() {
            if !GO_CURVES.contains(&c.as_str()) {
                return Err(ConfigError::tls(
                    "curve_preferences",
                    format!("unknown curve {c:?}"),
                ));
            }
        }
        Ok(())
    }

    /// With HTTP/2 on, a TLS 1.2 `cipher_suites` list must hold the suite HTTP/2 requires over
    /// TLS 1.2 (RFC 7540, 9.2.2): Go's HTTP/2 server refuses to start without it, whichever of the
    /// listed suites Go offers.
    pub(crate) fn check_http2(&self, http2: bool) -> Result<(), ConfigError> {
        let Some(names) = self.cipher_suites.filter(|n| !n.is_empty()) else {
            return Ok(());
        };
        let min = version("min_version", self.min_version, Version::Tls12)?;
        if !http2
            || min >= Version::Tls13
            || names.iter().any(|n| HTTP2_REQUIRED.contains(&n.as_str()))
        {
            return Ok(());
        }
        Err(ConfigError::tls(
            "cipher_suites",
            format!(
                "HTTP/2 over TLS 1.2 needs {} in the list, as in Go: add one, set min_version: TLS13, or set http_server_config.http2: false",
                HTTP2_REQUIRED.join(" or ")
            ),
        ))
    }

    /// The provider and versions the keys ask for, less what rustls cannot offer.
    pub(crate) fn protocol(&self) -> Result<Protocol, ConfigError> {
        self.check_names()?;
        let mut not_offered = Vec::new();
        let (min, max) = self.versions(&mut not_offered)?;
        let mut provider = rustls::crypto::ring::default_provider();
        let offer_tls12 = min <= Version::Tls12
            && self.choose_suites(&mut provider, max >= Version::Tls13, &mut not_offered);
        if let Some(curves) = self.curve_preferences.filter(|c| !c.is_empty()) {
            provider.kx_groups = chosen_groups(curves, &mut not_offered)?;
        }
        let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
        if offer_tls12 {
            versions.push(&rustls::version::TLS12);
        }
        if max >= Version::Tls13 {
            versions.push(&rustls::version::TLS13);
        }
        if versions.is_empty() {
            return Err(ConfigError::tls(
                "cipher_suites",
                "leaves no TLS 1.2 suite this exporter's TLS library (rustls with ring) can offer while max_version is TLS12, so nothing is left to offer",
            ));
        }
        Ok(Protocol {
            provider,
            versions,
            not_offered,
        })
    }

    /// Narrows the provider's TLS 1.2 suites to `cipher_suites` (TLS 1.3 keeps all of its own,
    /// as in Go); whether a TLS 1.2 suite is left.
    fn choose_suites(
        &self,
        provider: &mut CryptoProvider,
        tls13: bool,
        not_offered: &mut Vec<String>,
    ) -> bool {
        let Some(names) = self.cipher_suites.filter(|n| !n.is_empty()) else {
            return true;
        };
        let (tls12, missing) = tls12_suites(provider, names);
        if !missing.is_empty() {
            not_offered.push(format!(
                "tls_server_config.cipher_suites: {} cannot be offered by this exporter's TLS library (rustls with ring), which has only the ECDHE AES-GCM and ChaCha20-Poly1305 suites{}",
                missing.join(", "),
                match (tls12.is_empty(), tls13) {
                    (false, _) => "; serving with the others",
                    (true, true) => "; none is left for TLS 1.2, so only TLS 1.3 is served",
                    (true, false) => "",
                }
            ));
        }
        let left = !tls12.is_empty();
        let tls13_suites = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied();
        provider.cipher_suites = tls12.into_iter().chain(tls13_suites).collect();
        left
    }

    /// `min_version` and `max_version`, with TLS 1.0 and 1.1 (which rustls does not offer)
    /// raised to TLS 1.2 for `min_version` and refused for `max_version`.
    fn versions(&self, not_offered: &mut Vec<String>) -> Result<(Version, Version), ConfigError> {
        let min = version("min_version", self.min_version, Version::Tls12)?;
        let max = version("max_version", self.max_version, Version::Tls13)?;
        if min > max {
            return Err(ConfigError::tls(
                "min_version",
                format!("{} is above max_version {}", min.name(), max.name()),
            ));
        }
        if max < Version::Tls12 {
            return Err(ConfigError::tls(
                "max_version",
                format!(
                    "{}: this exporter's TLS library (rustls) offers only TLS12 and TLS13, so nothing is left to offer",
                    max.name()
                ),
            ));
        }
        if min < Version::Tls12 {
            not_offered.push(format!(
                "tls_server_config.min_version: {} cannot be offered by this exporter's TLS library (rustls), which offers only TLS12 and TLS13; serving from TLS12",
                min.name()
            ));
        }
        Ok((min.max(Version::Tls12), max))
    }
}

/// The TLS 1.2 suites of `names` rustls offers, in their order, and the names it does not
/// offer (Go's TLS 1.3 names are skipped, as Go ignores them here; all names were checked
/// against Go's before).
fn tls12_suites(
    provider: &CryptoProvider,
    names: &[String],
) -> (Vec<rustls::SupportedCipherSuite>, Vec<String>) {
    let mut offered = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        if GO_TLS13_SUITES.contains(&name.as_str()) {
            continue;
        }
        match provider
            .cipher_suites
            .iter()
            .find(|s| format!("{:?}", s.suite()) == *name)
        {
            Some(s) => offered.push(*s),
            None => missing.push(name.clone()),
        }
    }
    (offered, missing)
}

/// The key exchange groups of `curves` ring offers, in their order; the curves it does not offer
/// are noted in `not_offered`, and refused when none is left (names were checked against Go's).
fn chosen_groups(
    curves: &[String],
    not_offered: &mut Vec<String>,
) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>, ConfigError> {
    let mut groups: Vec<&'static dyn rustls::crypto::SupportedKxGroup> = Vec::new();
    let mut missing = Vec::new();
    for c in curves {
        match c.as_str() {
            "X25519" => groups.push(rustls::crypto::ring::kx_group::X25519),
            "CurveP256" => groups.push(rustls::crypto::ring::kx_group::SECP256R1),
            "CurveP384" => groups.push(rustls::crypto::ring::kx_group::SECP384R1),
            other => missing.push(other.to_owned()),
        }
    }
    let missing = missing.join(", ");
    if groups.is_empty() {
        return Err(ConfigError::tls(
            "curve_preferences",
            format!(
                "{missing} cannot be offered by this exporter's TLS library (rustls with ring), so no curve is left: add X25519, CurveP256 or CurveP384"
            ),
        ));
    }
    if !missing.is_empty() {
        not_offered.push(format!(
            "tls_server_config.curve_preferences: {missing} cannot be offered by this exporter's TLS library (rustls with ring); serving with the others"
        ));
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Why `keys` are refused (the test fails if they are accepted).
    fn refusal(keys: &ProtocolKeys) -> ConfigError {
        match keys.protocol() {
            Ok(_) => panic!("accepted: {keys:?}"),
            Err(e) => e,
        }
    }

    fn tls12_names(p: &Protocol) -> Vec<String> {
        p.provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .map(|s| format!("{:?}", s.suite()))
            .collect()
    }

    #[test]
    fn every_go_suite_is_accepted_and_those_rustls_lacks_are_named_once() {
        let all = names(GO_CIPHER_SUITES);
        let keys = ProtocolKeys {
            cipher_suites: Some(&all),
            ..ProtocolKeys::default()
        };
        let p = keys.protocol().unwrap();
        assert_eq!(p.versions.len(), 2);
        assert_eq!(tls12_names(&p).len(), 6, "{:?}", tls12_names(&p));
        assert_eq!(p.not_offered.len(), 1, "{:?}", p.not_offered);
        let line = &p.not_offered[0];
        for lacking in [
            "TLS_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        ] {
            assert!(line.contains(lacking), "{line}");
        }
        assert!(
            !line.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            "{line}"
        );
        assert!(
            line.starts_with("tls_server_config.cipher_suites: "),
            "{line}"
        );
    }

    #[test]
    fn the_order_of_the_suites_is_kept() {
        let list = names(&[
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ]);
        let keys = ProtocolKeys {
            cipher_suites: Some(&list),
            ..ProtocolKeys::default()
        };
        let p = keys.protocol().unwrap();
        assert_eq!(tls12_names(&p), names(&[&list[0], &list[2]]));
    }

    #[test]
    fn suites_that_leave_nothing_for_tls12_serve_tls13_or_are_refused() {
        let cbc = names(&["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]);
        let keys = ProtocolKeys {
            cipher_suites: Some(&cbc),
            ..ProtocolKeys::default()
        };
        let p = keys.protocol().unwrap();
        assert_eq!(p.versions, vec![&rustls::version::TLS13]);
        assert!(
            p.not_offered[0].contains("only TLS 1.3"),
            "{:?}",
            p.not_offered
        );
        let keys = ProtocolKeys {
            max_version: Some("TLS12"),
            ..keys
        };
        let e = refusal(&keys);
        assert_eq!(e.key, "tls_server_config.cipher_suites");
        let invented = names(&["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048"]);
        let keys = ProtocolKeys {
            cipher_suites: Some(&invented),
            ..ProtocolKeys::default()
        };
        assert!(refusal(&keys).reason.contains("unknown cipher"));
    }

    #[test]
    fn curve_p521_is_left_out_and_refused_alone() {
        let all = names(GO_CURVES);
        let keys = ProtocolKeys {
            curve_preferences: Some(&all),
            ..ProtocolKeys::default()
        };
        let p = keys.protocol().unwrap();
        assert_eq!(p.provider.kx_groups.len(), 3);
        assert_eq!(p.not_offered.len(), 1);
        assert!(
            p.not_offered[0].contains("CurveP521"),
            "{:?}",
            p.not_offered
        );
        let p521 = names(&["CurveP521"]);
        let keys = ProtocolKeys {
            curve_preferences: Some(&p521),
            ..ProtocolKeys::default()
        };
        let e = refusal(&keys);
        assert_eq!(e.key, "tls_server_config.curve_preferences");
        assert!(e.reason.contains("CurveP521") && !e.reason.contains('\n'));
        let invented = names(&["CurveP257"]);
        let keys = ProtocolKeys {
            curve_preferences: Some(&invented),
            ..ProtocolKeys::default()
        };
        assert!(refusal(&keys).reason.contains("unknown curve"));
    }

    #[test]
    fn tls10_and_tls11_raise_the_minimum_and_cannot_be_the_maximum() {
        let keys = ProtocolKeys {
            min_version: Some("TLS10"),
            ..ProtocolKeys::default()
        };
        let p = keys.protocol().unwrap();
        assert_eq!(p.versions.len(), 2);
        assert!(p.not_offered[0].contains("TLS10"), "{:?}", p.not_offered);
        let keys = ProtocolKeys {
            min_version: Some("TLS10"),
            max_version: Some("TLS11"),
            ..ProtocolKeys::default()
        };
        assert_eq!(refusal(&keys).key, "tls_server_config.max_version");
        let keys = ProtocolKeys {
            min_version: Some("TLS13"),
            max_version: Some("TLS12"),
            ..ProtocolKeys::default()
        };
        assert_eq!(refusal(&keys).key, "tls_server_config.min_version");
        for unknown in ["TLS111", ""] {
            let keys = ProtocolKeys {
                min_version: Some(unknown),
                ..ProtocolKeys::default()
            };
            let e = refusal(&keys);
            assert!(e.reason.contains("unknown TLS version"), "{e}");
            assert!(keys.check_names().is_err());
        }
    }

    #[test]
    fn what_rustls_offers_gives_no_warning() {
        let list = names(&[
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_AES_128_GCM_SHA256",
        ]);
        let curves = names(&["X25519", "CurveP384"]);
        let keys = ProtocolKeys {
            min_version: Some("TLS12"),
            cipher_suites: Some(&list),
            curve_preferences: Some(&curves),
            ..ProtocolKeys::default()
        };
        let p = keys.protocol().unwrap();
        assert!(p.not_offered.is_empty(), "{:?}", p.not_offered);
        assert_eq!(p.provider.kx_groups.len(), 2);
    }

    #[test]
    fn http2_needs_its_suite_in_a_tls12_list_as_in_go() {
        let aes256 = names(&["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]);
        let keys = ProtocolKeys {
            cipher_suites: Some(&aes256),
            ..ProtocolKeys::default()
        };
        let e = keys.check_http2(true).unwrap_err();
        assert_eq!(e.key, "tls_server_config.cipher_suites");
        assert!(e.reason.contains("http2: false"), "{e}");
        assert!(keys.check_http2(false).is_ok());
        let tls13 = ProtocolKeys {
            min_version: Some("TLS13"),
            ..keys
        };
        assert!(tls13.check_http2(true).is_ok());
        let with_it = names(&[
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ]);
        let keys = ProtocolKeys {
            cipher_suites: Some(&with_it),
            ..ProtocolKeys::default()
        };
        assert!(keys.check_http2(true).is_ok());
        assert!(ProtocolKeys::default().check_http2(true).is_ok());
    }
}
