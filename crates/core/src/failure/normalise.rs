//! The error-class normaliser: an `error` text with its variable parts masked (numbers, hex and
//! base-N ids, DIDs, CIDs, UUIDs, URLs, IP addresses, quoted strings, e-mail addresses),
//! whitespace and control characters folded, and the result cut to [`MAX_CLASS_CHARS`], so that
//! "Connection timeout after 3 retries" and "... after 5 retries" are one class. Deterministic
//! (no state, no locale), and bounded: only the first [`MAX_SCAN_BYTES`] of a text are looked at,
//! each in one pass (a quote looks at most [`MAX_QUOTED_CHARS`] ahead for its end).

/// How much of an error text is looked at.
pub const MAX_SCAN_BYTES: usize = 4096;
/// The longest class, in characters (a longer one is cut and ends with `…`).
pub const MAX_CLASS_CHARS: usize = 120;
/// How far a quote looks for its closing quote before it counts as a plain character.
const MAX_QUOTED_CHARS: usize = 256;
/// The name of the row that sums the classes past the listed ones: no rule may take it.
pub const OTHER: &str = "other";
/// The class of a missing or empty (or all-blank) error.
pub const NO_ERROR: &str = "<no error>";

/// The class text of an error message (see the module doc); [`NO_ERROR`] for none.
pub fn normalise(error: Option<&str>) -> String {
    let text = prefix(error.unwrap_or(""), MAX_SCAN_BYTES);
    let mut out = String::with_capacity(text.len().min(MAX_CLASS_CHARS * 4));
    for word in words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        mask_word(word, &mut out);
        if out.chars().count() > MAX_CLASS_CHARS {
            break;
        }
    }
    if out.is_empty() {
        return NO_ERROR.to_owned();
    }
    cut(out)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn cut(mut out: String) -> String {
    if let Some((at, _)) = out.char_indices().nth(MAX_CLASS_CHARS) {
        out.truncate(at);
        out.push('…');
    }
    out
}

fn is_blank(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '`')
}

/// A piece of the text: a run of non-blank characters, or a whole quoted string.
enum Word<'a> {
    Plain(&'a str),
    Quoted,
}

/// Splits `text` into words at blanks; a quote that opens a word and is closed within
/// [`MAX_QUOTED_CHARS`] (by the same quote ending a word) makes the whole quoted string one word.
fn words(text: &str) -> impl Iterator<Item = Word<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(is_blank);
        let first = rest.chars().next()?;
        if is_quote(first)
            && let Some(len) = quoted_len(rest, first)
        {
            rest = &rest[len..];
            return Some(Word::Quoted);
        }
        let end = rest.find(is_blank).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(Word::Plain(word))
    })
}

/// The byte length of the quoted string `s` starts with (quote to closing quote), if it closes
/// within [`MAX_QUOTED_CHARS`] at the end of a word.
fn quoted_len(s: &str, quote: char) -> Option<usize> {
    let body = &s[quote.len_utf8()..];
    let mut chars = body.char_indices().take(MAX_QUOTED_CHARS).peekable();
    while let Some((i, c)) = chars.next() {
        let ends_word = chars.peek().is_none_or(|(_, n)| !n.is_alphanumeric());
        if c == quote && ends_word {
            return Some(quote.len_utf8() + i + c.len_utf8());
        }
    }
    None
}

fn mask_word(word: Word<'_>, out: &mut String) {
    let Word::Plain(word) = word else {
        out.push_str("<str>");
        return;
    };
    // Punctuation around a token ("(did:key:z6Mk...)," or "<https://...>") stays as it is.
    let core_start = word
        .find(|c: char| !matches!(c, '(' | '[' | '{' | '<' | '"' | '\''))
        .unwrap_or(word.len());
    let core_end = word
        .rfind(|c: char| {
            !matches!(
                c,
                ')' | ']' | '}' | '>' | ',' | '.' | ';' | ':' | '!' | '?' | '"' | '\''
            )
        })
        .map_or(core_start, |i| {
            i + word[i..].chars().next().map_or(1, char::len_utf8)
        })
        .max(core_start);
    let (lead, core, trail) = (
        &word[..core_start],
        &word[core_start..core_end],
        &word[core_end..],
    );
    // "[fe80::1]:443" is an address with its brackets.
    if let Some(mask) = whole_token(&word[..core_end]) {
        out.push_str(mask);
        out.push_str(trail);
        return;
    }
    out.push_str(lead);
    match whole_token(core) {
        Some(mask) => out.push_str(mask),
        None => mask_parts(core, out),
    }
    out.push_str(trail);
}

/// The mask of a token that is one thing as a whole: a URL, an e-mail address, a DID, a CID, a
/// UUID or an IP address (with or without a port).
fn whole_token(t: &str) -> Option<&'static str> {
    if t.is_empty() {
        return None;
    }
    if let Some((scheme, rest)) = t.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
    {
        return Some("<url>");
    }
    if t.len() > 4 && t.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("did:")) {
        return Some("<did>");
    }
    if is_email(t) {
        return Some("<email>");
    }
    if is_cid(t) {
        return Some("<cid>");
    }
    if is_uuid(t) {
        return Some("<uuid>");
    }
    if is_ip(t) {
        return Some("<ip>");
    }
    None
}

fn is_email(t: &str) -> bool {
    let Some((local, domain)) = t.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "._%+-".contains(c))
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || ".-".contains(c))
}

/// A CIDv0 (`Qm` + 44 base58) or a CIDv1 in base32 (`b` + at least 50 of a-z2-7, as `bafy...`).
fn is_cid(t: &str) -> bool {
    let base58 = |c: char| c.is_ascii_alphanumeric() && !"0OIl".contains(c);
    let base32 = |c: char| c.is_ascii_lowercase() || ('2'..='7').contains(&c);
    (t.len() == 46 && t.starts_with("Qm") && t.chars().all(base58))
        || (t.len() >= 50 && t.starts_with('b') && t.chars().all(base32))
}

fn is_uuid(t: &str) -> bool {
    let groups: Vec<&str> = t.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// IPv4 (`10.0.0.1`, `10.0.0.1:8080`) or IPv6 (`::1`, `[fe80::1]:443`, `2001:db8::5`).
fn is_ip(t: &str) -> bool {
    let is_port = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    let t = t.trim_start_matches('[');
    let host = match t.split_once(']') {
        Some((h, "")) => h,
        Some((h, rest)) if rest.strip_prefix(':').is_some_and(is_port) => h,
        Some(_) => return false,
        None => match t.rsplit_once(':') {
            Some((h, port)) if !h.contains(':') && is_port(port) => h,
            _ => t,
        },
    };
    host.parse::<std::net::Ipv4Addr>().is_ok()
        || (host.matches(':').count() >= 2 && host.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Masks the numbers, hex strings and long ids inside a token, keeping the rest.
fn mask_parts(t: &str, out: &mut String) {
    let mut rest = t;
    while let Some(c) = rest.chars().next() {
        if c.is_alphanumeric() {
            let end = rest
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(rest.len());
            out.push_str(mask_run(&rest[..end]));
            rest = &rest[end..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
}

/// A run of letters and digits: `<n>` for a number, `<hex>` for hex, `<id>` for a long mixed
/// id (base32, base58, base64url), or itself.
fn mask_run(run: &str) -> &str {
    let digits = run.chars().filter(char::is_ascii_digit).count();
    let len = run.chars().count();
    if digits == len {
        return "<n>";
    }
    let hex_body = run
        .strip_prefix("0x")
        .or_else(|| run.strip_prefix("0X"))
        .filter(|b| !b.is_empty());
    if hex_body.is_some_and(|b| b.chars().all(|c| c.is_ascii_hexdigit()))
        || (len >= 8 && digits > 0 && run.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return "<hex>";
    }
    let letters = len - digits;
    if len >= 16 && digits > 0 && letters > 0 {
        return "<id>";
    }
    // A number with a unit or an ordinal ("30s", "5th", "2xx") is still a number.
    if digits > 0 && run.chars().next().is_some_and(|c| c.is_ascii_digit()) && letters <= 3 {
        let unit = run.trim_start_matches(|c: char| c.is_ascii_digit());
        if unit.chars().all(|c| c.is_ascii_alphabetic()) {
            return match unit {
                "ms" => "<n>ms",
                "s" => "<n>s",
                "m" => "<n>m",
                "h" => "<n>h",
                "xx" => "<n>xx",
                _ => "<n>",
            };
        }
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalise(Some(s))
    }

    #[test]
    fn retries_differing_only_by_count_are_one_class() {
        assert_eq!(
            n("Connection timeout after 3 retries"),
            "Connection timeout after <n> retries"
        );
        assert_eq!(
            n("Connection timeout after 3 retries"),
            n("Connection timeout after 15 retries")
        );
    }

    #[test]
    fn ids_addresses_and_quoted_strings_are_masked() {
        assert_eq!(
            n(
                "upload bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi of did:key:z6MkqNUN4 failed"
            ),
            "upload <cid> of <did> failed"
        );
        assert_eq!(
            n("GET https://up.example.com/x?y=1 returned 503"),
            "GET <url> returned <n>"
        );
        assert_eq!(
            n("cannot reach 10.0.3.7:8080 or [fe80::1]:443"),
            "cannot reach <ip> or <ip>"
        );
        assert_eq!(
            n("request 123e4567-e89b-12d3-a456-426614174000 lost"),
            "request <uuid> lost"
        );
        assert_eq!(n("mail ops@example.com about it"), "mail <email> about it");
        assert_eq!(
            n("key 'abc def' not in \"bucket-7\""),
            "key <str> not in <str>"
        );
        assert_eq!(
            n("block 0xdeadbeef hash 9f86d081884c7d65"),
            "block <hex> hash <hex>"
        );
        assert_eq!(
            n("shard zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"),
            "shard <id>"
        );
        assert_eq!(n("waited 30s then 250ms"), "waited <n>s then <n>ms");
    }

    #[test]
    fn punctuation_around_a_token_is_kept() {
        assert_eq!(
            n("failed (did:key:z6Mk1), retrying."),
            "failed (<did>), retrying."
        );
        assert_eq!(n("status: 500."), "status: <n>.");
    }

    #[test]
    fn apostrophes_and_unbalanced_quotes_are_plain_characters() {
        assert_eq!(n("can't open 'x"), "can't open 'x");
        assert_eq!(n("it's 'quoted' here"), "it's <str> here");
    }

    #[test]
    fn a_token_starting_with_a_wide_character_is_no_did() {
        // Found by the fuzz test: byte 4 fell inside a four-byte character.
        assert_eq!(n("{\u{105d8}ab"), "{\u{105d8}ab");
    }

    #[test]
    fn whitespace_and_control_characters_fold_to_one_space() {
        assert_eq!(n("  a\t\tb\r\n\u{0}c  "), "a b c");
    }

    #[test]
    fn a_missing_empty_or_blank_error_has_its_own_class() {
        assert_eq!(normalise(None), NO_ERROR);
        assert_eq!(n(""), NO_ERROR);
        assert_eq!(n(" \n\t"), NO_ERROR);
    }

    #[test]
    fn long_texts_are_cut_to_a_bounded_class() {
        let long = "word ".repeat(10_000);
        let class = n(&long);
        assert_eq!(class.chars().count(), MAX_CLASS_CHARS + 1);
        assert!(class.ends_with('…'));
        let one_word = "é".repeat(1_000_000);
        assert!(n(&one_word).chars().count() <= MAX_CLASS_CHARS + 1);
    }

    #[test]
    fn only_the_bounded_prefix_is_looked_at() {
        let mut s = "x".repeat(MAX_SCAN_BYTES - 1);
        s.push('é');
        assert_eq!(prefix(&s, MAX_SCAN_BYTES).len(), MAX_SCAN_BYTES - 1);
    }
}
