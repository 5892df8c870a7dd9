//! The web configuration file of Prometheus exporters (exporter-toolkit's `web-configuration.md`):
//! the YAML as written (unknown keys refused), its checks, and [`LoadedConfig`], what the server
//! runs with. Every error is one line naming the key. Relative paths are read from the file's
//! directory, as the toolkit does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;

pub(crate) use crate::error::ConfigError;
use crate::tls::{self, TlsFile};

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default, deserialize_with = "go_yaml::http_section")]
    http_server_config: Option<HttpFile>,
    #[serde(default)]
    rate_limit: Option<RateLimitFile>,
    #[serde(default, deserialize_with = "go_yaml::unique_map")]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    #[serde(default, deserialize_with = "go_yaml::bool")]
    http2: Option<bool>,
    #[serde(default, deserialize_with = "go_yaml::unique_map")]
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFile {
    #[serde(default)]
    interval: Option<serde_norway::Value>,
    #[serde(default)]
    burst: Option<i64>,
}

/// The token bucket of `rate_limit`: one request every `interval`, bursts of `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
}

/// A web configuration ready to serve with.
#[derive(Clone)]
pub(crate) struct LoadedConfig {
    /// `None`: plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// user -> bcrypt hash; empty: no basic auth.
    pub users: Arc<BTreeMap<String, String>>,
    pub headers: Arc<Vec<(HeaderName, HeaderValue)>>,
    pub rate_limit: Option<RateLimit>,
    pub http2: bool,
    /// The bytes of the file and of every file it names, to notice changes.
    pub fingerprint: Vec<u8>,
    /// What the file asks for that cannot be done as asked (a cipher suite rustls does not
    /// offer...), one line each: logged once per load that is applied, never per connection.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for LoadedConfig {
    // Password hashes and file contents stay out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("headers", &self.headers)
            .field("rate_limit", &self.rate_limit)
            .field("http2", &self.http2)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl LoadedConfig {
    /// Logs each of [`LoadedConfig::warnings`] at warn, naming the file.
    pub(crate) fn log_warnings(&self, path: &Path) {
        for w in &self.warnings {
            tracing::warn!(file = %path.display(), "{w}");
        }
    }
}

/// The response headers the toolkit lets a file set, with their allowed values (empty: any).
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// Reads and checks the file at `path` and everything it names, and logs its warnings.
pub(crate) fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let loaded = load_quiet(path)?;
    loaded.log_warnings(path);
    Ok(loaded)
}

/// [`load`] without logging the warnings: the reload loop loads every interval and logs them
/// only for a file it applies.
pub(crate) fn load_quiet(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let text = std::fs::read(path)
        .map_err(|e| ConfigError::new("web.config.file", format!("cannot read: {e}")))?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&text, &dir)
}

/// Parses and checks a file's `text`, reading named files relative to `dir`.
pub(crate) fn parse(text: &[u8], dir: &Path) -> Result<LoadedConfig, ConfigError> {
    let file: FileConfig = if text.iter().all(u8::is_ascii_whitespace) {
        FileConfig::default()
    } else {
        serde_norway::from_slice::<Option<FileConfig>>(text)
            .map_err(yaml_error)?
            .unwrap_or_default()
    };
    let mut fingerprint = text.to_vec();
    let users = file.basic_auth_users.unwrap_or_default();
    check_users(&users)?;
    let http = file.http_server_config.unwrap_or_default();
    let headers = checked_headers(http.headers.unwrap_or_default())?;
    let rate_limit = file.rate_limit.map(rate_limit).transpose()?.flatten();
    let http2 = http.http2.unwrap_or(true);
    let mut warnings = Vec::new();
    let tls = match file.tls_server_config {
        Some(t) if t.is_enabled() => {
            let built = tls::build(&t, dir, http2)?;
            fingerprint.extend_from_slice(&built.file_bytes);
            warnings = built.warnings;
            Some(Arc::new(built.config))
        }
        Some(t) => {
            t.check_without_tls()?;
            None
        }
        None => None,
    };
    Ok(LoadedConfig {
        tls,
        users: Arc::new(users),
        headers: Arc::new(headers),
        rate_limit,
        http2,
        fingerprint,
        warnings,
    })
}

/// Every password must be a bcrypt hash.
fn check_users(users: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (user, hash) in users {
        let cost = hash
            .parse::<bcrypt::HashParts>()
            .map(|parts| parts.get_cost())
            .map_err(|e| format!("not a bcrypt hash ({e})"));
        // Go's bcrypt.Cost, which the toolkit checks every hash with, refuses these costs.
        let checked = cost.and_then(|c| {
            if (4..=31).contains(&c) {
                Ok(())
            } else {
                Err(format!("bcrypt cost {c} is outside 4 to 31"))
            }
        });
        if let Err(why) = checked {
            return Err(ConfigError::new(
                format!("basic_auth_users.{user}"),
                format!("{why}; make one with htpasswd -nBC 10 \"\" | tr -d ':\\n'"),
            ));
        }
    }
    Ok(())
}

/// The response headers of `http_server_config.headers`, each allowed and with an allowed value;
/// an empty value sets nothing.
fn checked_headers(
    written: BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    let mut headers = Vec::new();
    for (name, value) in written {
        let key = format!("http_server_config.headers.{name}");
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
            return Err(ConfigError::new(
                key,
                format!(
                    "HTTP header {name:?} can not be configured (allowed: {})",
                    ALLOWED_HEADERS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return Err(ConfigError::new(
                key,
                format!("expected one of {allowed:?}, got {value:?}"),
            ));
        }
        if value.is_empty() {
            continue;
        }
        let value = HeaderValue::from_str(&value)
            .map_err(|_| ConfigError::new(&key, "not a valid header value"))?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConfigError::new(&key, "not a valid header name"))?;
        headers.push((name, value));
    }
    Ok(headers)
}

/// `rate_limit` as used: `None` when the interval is zero (off).
fn rate_limit(r: RateLimitFile) -> Result<Option<RateLimit>, ConfigError> {
    let interval = match &r.interval {
        None => Duration::ZERO,
        Some(v) => go_duration_value(v).map_err(|e| ConfigError::new("rate_limit.interval", e))?,
    };
    // Go takes any int; a burst below 1 lets no request through, there as here.
    let burst = u32::try_from(r.burst.unwrap_or(0).max(0)).unwrap_or(u32::MAX);
    Ok((!interval.is_zero()).then_some(RateLimit { interval, burst }))
}

/// Where Go's YAML decoder (yaml.v2's `UnmarshalStrict`, YAML 1.1) and serde_norway (YAML 1.2)
/// read a file differently: the toolkit's reading. Also used by `tls`.
pub(crate) mod go_yaml {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{Deserializer, Error, MapAccess, Visitor};

    /// A boolean, also as YAML 1.1 spells it (`yes`/`no`, `on`/`off`, `y`/`n`), as Go reads it.
    pub(crate) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        d.deserialize_any(Yaml11Bool)
    }

    struct Yaml11Bool;

    impl Visitor<'_> for Yaml11Bool {
        type Value = Option<bool>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean")
        }

        // A key with no value is Go's zero value.
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(Some(false))
        }

        fn visit_bool<E: Error>(self, b: bool) -> Result<Self::Value, E> {
            Ok(Some(b))
        }

        fn visit_str<E: Error>(self, s: &str) -> Result<Self::Value, E> {
            yaml11_bool(s)
                .map(Some)
                .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(s), &self))
        }
    }

    fn yaml11_bool(s: &str) -> Option<bool> {
        match s {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
                Some(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False"
            | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// `http_server_config`; written with no value (its keys commented out, say) it is Go's
    /// zero value, in which `http2` is false.
    pub(super) fn http_section<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<super::HttpFile>, D::Error> {
        let section = <Option<super::HttpFile> as serde::Deserialize>::deserialize(d)?;
        Ok(Some(section.unwrap_or(super::HttpFile {
            http2: Some(false),
            headers: None,
        })))
    }

    /// A map of strings in which, as `UnmarshalStrict` requires, no key comes twice.
    pub(crate) fn unique_map<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<BTreeMap<String, String>>, D::Error> {
        d.deserialize_option(UniqueMap)
    }

    struct UniqueMap;

    impl<'de> Visitor<'de> for UniqueMap {
        type Value = Option<BTreeMap<String, String>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of strings")
        }

        fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((key, value)) = map.next_entry::<String, String>()? {
                if out.contains_key(&key) {
                    return Err(A::Error::custom(format!("key {key:?} already set in map")));
                }
                out.insert(key, value);
            }
            Ok(Some(out))
        }
    }
}

/// A YAML error as `path: message`, one line.
fn yaml_error(e: serde_norway::Error) -> ConfigError {
    let msg = e.to_string();
    // serde_norway prefixes nested errors with their path ("tls_server_config: unknown field ...").
    match msg.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') && !path.is_empty() && path != "invalid type" => {
            ConfigError::new(path, rest)
        }
        _ => ConfigError::new("web.config.file", msg),
    }
}

/// A Go duration as YAML holds it: a string like "1s", "1m30s", "1.5s", "250ms" (or an integer
/// of nanoseconds, as Go's YAML decoder takes). A negative one is zero: the toolkit's limiter
/// then has an infinite rate (`rate.Every`), which limits nothing, as zero does here.
fn go_duration_value(v: &serde_norway::Value) -> Result<Duration, String> {
    match v {
        serde_norway::Value::String(s) => match s.strip_prefix('-') {
            Some(magnitude) => parse_go_duration(magnitude).map(|_| Duration::ZERO),
            None => parse_go_duration(s),
        },
        serde_norway::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(nanos), _) => Ok(Duration::from_nanos(nanos)),
            (None, Some(_negative)) => Ok(Duration::ZERO),
            (None, None) => Err("expected a duration like 1s".to_owned()),
        },
        serde_norway::Value::Null => Ok(Duration::ZERO),
        _ => Err("expected a duration like 1s".to_owned()),
    }
}

/// Go's `time.ParseDuration` for non-negative values.
pub(crate) fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}: expected a Go duration like 1s, 500ms or 1m30s");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() || rest.starts_with('-') {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, after) = rest.split_at(num_end);
        let value: f64 = num.parse().map_err(|_| bad())?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let nanos = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += value * nanos;
        rest = next;
    }
    Ok(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<LoadedConfig, ConfigError> {
        parse(s.as_bytes(), Path::new("."))
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert!(parse_go_duration("1").is_err());
        assert!(parse_go_duration("soon").is_err());
        assert!(parse_go_duration("-1s").is_err());
    }

    #[test]
    fn empty_file_is_plain_http() {
        let c = parse_str("").unwrap();
        assert!(c.tls.is_none() && c.users.is_empty() && c.rate_limit.is_none());
        let c = parse_str("---\n").unwrap();
        assert!(c.tls.is_none());
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = parse_str("basic_auth_user:\n  a: b\n").unwrap_err();
        assert!(e.to_string().contains("basic_auth_user"), "{e}");
        let e = parse_str("http_server_config:\n  http3: true\n").unwrap_err();
        assert!(e.to_string().contains("http3"), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn headers_and_users_are_checked() {
        let e =
            parse_str("http_server_config:\n  headers:\n    X-Frame-Options: allow\n").unwrap_err();
        assert_eq!(e.key, "http_server_config.headers.X-Frame-Options");
        let e = parse_str("http_server_config:\n  headers:\n    Server: x\n").unwrap_err();
        assert_eq!(e.key, "http_server_config.headers.Server");
        let e = parse_str("basic_auth_users:\n  alice: secret\n").unwrap_err();
        assert_eq!(e.key, "basic_auth_users.alice");
        let cost_3 = "$2y$03$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq";
        let e = parse_str(&format!("basic_auth_users:\n  bob: {cost_3}\n")).unwrap_err();
        assert!(e.reason.contains("cost 3"), "{e}");
        let cost_31 = cost_3.replace("$03$", "$31$");
        assert!(parse_str(&format!("basic_auth_users:\n  bob: {cost_31}\n")).is_ok());
        let c = parse_str(
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\nrate_limit:\n  interval: 1s\n  burst: 5\n",
        )
        .unwrap();
        assert_eq!(c.headers.len(), 1);
        assert_eq!(
            c.rate_limit,
            Some(RateLimit {
                interval: Duration::from_secs(1),
                burst: 5
            })
        );
    }

    #[test]
    fn what_rustls_cannot_offer_is_served_without_and_kept_as_warnings() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/toolkit-testdata");
        let yaml = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS11\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA]\n  curve_preferences: [CurveP521, X25519]\n";
        let c = parse(yaml.as_bytes(), &dir).unwrap();
        assert!(c.tls.is_some());
        assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
        for (w, key) in c
            .warnings
            .iter()
            .zip(["min_version", "cipher_suites", "curve_preferences"])
        {
            assert!(w.starts_with(&format!("tls_server_config.{key}: ")), "{w}");
        }
        let plain = parse_str("basic_auth_users: {}\n").unwrap();
        assert!(plain.warnings.is_empty());
    }

    #[test]
    fn yaml_is_read_as_go_reads_it() {
        for (yaml, http2) in [
            ("http_server_config:\n  http2: yes\n", true),
            ("http_server_config:\n  http2: off\n", false),
            ("http_server_config:\n  http2: N\n", false),
            ("http_server_config:\n  http2: false\n", false),
            ("http_server_config: {}\n", true),
            ("basic_auth_users: {}\n", true),
            // No value: Go's zero value.
            ("http_server_config:\n  http2:\n", false),
            ("http_server_config:\n  # http2: true\n", false),
        ] {
            assert_eq!(parse_str(yaml).unwrap().http2, http2, "{yaml}");
        }
        let e = parse_str("http_server_config:\n  http2: 3\n").unwrap_err();
        assert_eq!(e.key, "http_server_config.http2");
        let e = parse_str("http_server_config:\n  http2: maybe\n").unwrap_err();
        assert_eq!(e.key, "http_server_config.http2");
        let hash = "$2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq";
        let twice = format!("basic_auth_users:\n  dave: {hash}\n  dave: {hash}\n");
        let e = parse_str(&twice).unwrap_err();
        assert_eq!(e.key, "basic_auth_users", "{e}");
        assert!(e.reason.contains("already set"), "{e}");
        let headers = "http_server_config:\n  headers:\n    X-XSS-Protection: 1\n";
        assert_eq!(parse_str(headers).unwrap().headers.len(), 1);
        let c = parse_str("rate_limit:\n  interval: 1s\n  burst: -1\n").unwrap();
        assert_eq!(c.rate_limit.map(|r| r.burst), Some(0));
        for off in ["-1s", "-1", "0", "0s"] {
            let c = parse_str(&format!("rate_limit:\n  interval: {off}\n  burst: 1\n")).unwrap();
            assert_eq!(c.rate_limit, None, "{off}");
        }
        assert!(parse_str("rate_limit:\n  interval: -soon\n").is_err());
    }
}
