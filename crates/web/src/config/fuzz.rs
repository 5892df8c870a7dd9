//! Property tests of the web configuration parser ([`parse`]): arbitrary bytes, and YAML built from
//! the exporter-toolkit format's real keys with values of every type (wrong ones, nested junk,
//! anchors and aliases, alias bombs, very long strings, inline PEM and the vendored test
//! certificates). The contract (the module doc): every input is `Ok` or a [`ConfigError`] that is
//! one line naming a key, and each parse takes under a second of CPU time. `PROPTEST_CASES`
//! raises the case count.

use std::time::Duration;

use crate::cpu_time::thread_cpu_time;

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// The default case count: a few seconds in a debug build.
const CASES: u32 = 256;

/// What one parse may take at most.
const PER_INPUT: Duration = Duration::from_secs(1);

const TOP: [&str; 4] = [
    "tls_server_config",
    "http_server_config",
    "rate_limit",
    "basic_auth_users",
];
const TLS: [&str; 13] = [
    "cert",
    "key",
    "client_ca",
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
    "curve_preferences",
];
const HTTP: [&str; 2] = ["http2", "headers"];
const RATE: [&str; 2] = ["interval", "burst"];
const HEADERS: [&str; 7] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
    "Server",
    "x-frame-options",
];

/// Scalars the format's keys take, right and wrong.
const SCALARS: &[&str] = &[
    "true",
    "yes",
    "no",
    "off",
    "Y",
    "~",
    "null",
    "''",
    "1s",
    "-1s",
    "0",
    "1m30s",
    "250ms",
    "9999999999999h",
    "1.5.5s",
    "-5",
    "5",
    "2147483648",
    "99999999999999999999999",
    "1e400",
    "0x10",
    ".inf",
    "-.nan",
    "TLS10",
    "TLS11",
    "TLS12",
    "TLS13",
    "TLS14",
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
    "CurveP256",
    "CurveP521",
    "X25519",
    "TLS_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "server.crt",
    "server.key",
    "client_selfsigned.pem",
    "/nonexistent/file",
    ".",
    "nosniff",
    "deny",
    "sameorigin",
    "max-age=31536000",
    "$2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq",
    "$2y$03$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq",
    "$2y$",
    "!!binary aGVsbG8=",
    "!!str 5",
    "!!int x",
    "*undefined",
    "&a",
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "{a: {b: {c: d}}}",
];

fn config() -> ProptestConfig {
    // `with_cases` would override PROPTEST_CASES; the environment's value wins when set.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig::with_cases(cases)
}

/// The vendored exporter-toolkit test data: its certificates and keys are real, so files and
/// inline PEM can build a TLS configuration.
fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/toolkit-testdata")
}

/// A YAML value as generated, rendered by [`render`].
#[derive(Debug, Clone)]
enum Yaml {
    /// Written as is (plain scalars, tags, aliases, flow collections).
    Raw(String),
    /// Written double-quoted, escaped.
    Quoted(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
    /// `&name value`.
    Anchored(String, Box<Yaml>),
}

/// Any text, double-quoted: newlines, control characters, up to 100 KB.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => "[\\x00-\\x1f\"\\\\:#&*!|>'%@`{}\\[\\],?-]{0,12}",
        1 => (0usize..100_000).prop_map(|n| "a".repeat(n)),
        1 => Just(std::fs::read_to_string(testdata().join("server.crt")).unwrap_or_default()),
        1 => Just(std::fs::read_to_string(testdata().join("server.key")).unwrap_or_default()),
    ]
}

fn scalar() -> impl Strategy<Value = Yaml> {
    prop_oneof![
        4 => prop::sample::select(SCALARS).prop_map(|s| Yaml::Raw(s.to_owned())),
        2 => text().prop_map(Yaml::Quoted),
        1 => "[a-z*&!:-]{0,8}".prop_map(Yaml::Raw),
        1 => "\\*[ab]".prop_map(Yaml::Raw),
    ]
}

/// A value for any key: a scalar, or junk nested a few levels, sometimes anchored.
fn value() -> impl Strategy<Value = Yaml> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Yaml::Seq),
            vec(("[a-z_]{1,8}", inner.clone()), 0..4).prop_map(Yaml::Map),
            ("[ab]", inner).prop_map(|(a, v)| Yaml::Anchored(a, Box::new(v))),
        ]
    })
}

/// A mapping with (mostly) the given real keys, sometimes repeated, sometimes misspelled.
fn section(keys: &'static [&'static str], values: BoxedStrategy<Yaml>) -> BoxedStrategy<Yaml> {
    let key = prop_oneof![
        4 => prop::sample::select(keys).prop_map(str::to_owned),
        1 => "[a-zA-Z_. -]{0,12}",
        1 => text(),
        1 => "[a-z]{0,3}[\n\r\u{85}\u{2028}\t][a-z]{0,3}",
    ];
    prop_oneof![
        6 => vec((key, values.clone()), 0..6).prop_map(Yaml::Map),
        1 => values,
    ]
    .boxed()
}

fn document() -> impl Strategy<Value = Yaml> {
    let users = section(&["alice", "bob", "alice"], value().boxed());
    let headers = section(&HEADERS, value().boxed());
    let http_value = prop_oneof![3 => value(), 1 => headers].boxed();
    let sections = prop_oneof![
        section(&TLS, value().boxed()),
        section(&HTTP, http_value),
        section(&RATE, value().boxed()),
        users,
    ]
    .boxed();
    section(&TOP, sections)
}

/// Double-quoted YAML: backslash escapes for quotes, backslashes and every control character.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || c == '\u{feff}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders in flow style, which nests without indentation.
fn render(y: &Yaml, out: &mut String) {
    match y {
        Yaml::Raw(s) => out.push_str(s),
        Yaml::Quoted(s) => out.push_str(&quote(s)),
        Yaml::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(item, out);
            }
            out.push(']');
        }
        Yaml::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&quote(k));
                out.push_str(": ");
                render(v, out);
            }
            out.push('}');
        }
        Yaml::Anchored(name, v) => {
            out.push_str(&format!("&{name} "));
            render(v, out);
        }
    }
}

/// The top-level mapping in block style (as files are written) or flow style.
fn render_document(y: &Yaml, block: bool) -> String {
    let mut out = String::new();
    match y {
        Yaml::Map(entries) if block => {
            for (k, v) in entries {
                out.push_str(&quote(k));
                out.push_str(": ");
                render(v, &mut out);
                out.push('\n');
            }
        }
        _ => render(y, &mut out),
    }
    out
}

/// An alias bomb under `rate_limit.interval` (read as any YAML value, so fully expanded): each
/// level a list of `width` aliases of the level below.
fn alias_bomb(levels: usize, width: usize) -> String {
    let mut items = vec!["&a0 [\"lol\"]".to_owned()];
    for l in 1..=levels {
        let refs = vec![format!("*a{}", l - 1); width].join(", ");
        items.push(format!("&a{l} [{refs}]"));
    }
    format!("rate_limit:\n  interval: [{}]\n", items.join(", "))
}

/// Parses within [`PER_INPUT`] and checks the error's shape: one line, naming a key of the file
/// (or the file itself, for what is not under any key).
fn check(text: &[u8]) -> Result<(), TestCaseError> {
    let start = thread_cpu_time();
    let result = parse(text, &testdata());
    let took = thread_cpu_time() - start;
    prop_assert!(took < PER_INPUT, "parse took {took:?}");
    match result {
        Ok(c) => {
            for (name, _) in c.headers.iter() {
                let allowed = ALLOWED_HEADERS
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(name.as_str()));
                prop_assert!(allowed, "header {name} set");
            }
            prop_assert!(c.rate_limit.is_none_or(|r| !r.interval.is_zero()));
        }
        Err(e) => {
            let line = e.to_string();
            let breaks = [
                '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
            ];
            prop_assert!(!line.contains(breaks), "not one line: {line:?}");
            let names_a_key = e.key == "web.config.file"
                || TOP
                    .iter()
                    .any(|k| e.key == *k || e.key.starts_with(&format!("{k}.")));
            prop_assert!(names_a_key, "key {:?} of {line:?}", e.key);
            prop_assert!(!e.reason.trim().is_empty(), "no reason: {line:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Any bytes at all: `Ok` or a one-line error naming a key, quickly.
    #[test]
    fn arbitrary_bytes_are_refused_in_one_line_or_read(bytes in vec(any::<u8>(), 0..4096)) {
        check(&bytes)?;
    }

    /// YAML made of the format's keys with values of any shape (block or flow style):
    /// `Ok` or a one-line error naming a key, quickly.
    #[test]
    fn any_yaml_of_the_formats_keys_is_read_or_refused_naming_a_key(
        doc in document(),
        block in any::<bool>(),
    ) {
        check(render_document(&doc, block).as_bytes())?;
    }

    /// Aliases that expand to billions of nodes are refused or read in bounded time.
    #[test]
    fn alias_bombs_are_bounded(levels in 1usize..10, width in 1usize..10) {
        check(alias_bomb(levels, width).as_bytes())?;
    }
}
