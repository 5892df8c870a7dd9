//! The protocol side of `tls_server_config`: `min_version`/`max_version`, `cipher_suites` and
//! `curve_preferences` as Go names them, turned into a rustls crypto provider (ring) and the
//! protocol versions to offer. Go's names are all known here; what rustls cannot offer is refused
//! by name.

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

const GO_CURVES: &[&str] = &["CurveP256", "CurveP384", "CurveP521", "X25519"];

const GO_VERSIONS: &[&str] = &["", "TLS10", "TLS11", "TLS12", "TLS13"];

/// A TLS version rustls offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    Tls12,
    Tls13,
}

fn version(field: &str, v: Option<&str>, default: Version) -> Result<Version, ConfigError> {
    match v {
        None | Some("") => Ok(default),
        Some("TLS13") => Ok(Version::Tls13),
        Some("TLS12") => Ok(Version::Tls12),
        Some(old @ ("TLS10" | "TLS11")) => Err(ConfigError::tls(
            field,
            format!(
                "{old} is not supported: this exporter's TLS library (rustls) offers TLS12 and TLS13 only"
            ),
        )),
        Some(other) => Err(ConfigError::tls(
            field,
            format!("unknown TLS version {other:?} (expected TLS12 or TLS13)"),
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

    /// The provider and versions the keys ask for.
    pub(crate) fn protocol(&self) -> Result<Protocol, ConfigError> {
        let min = version("min_version", self.min_version, Version::Tls12)?;
        let max = version("max_version", self.max_version, Version::Tls13)?;
        if min > max {
            return Err(ConfigError::tls("min_version", "is above max_version"));
        }
        let mut provider = rustls::crypto::ring::default_provider();
        let mut allow_tls12 = min <= Version::Tls12;
        if let Some(names) = self.cipher_suites.filter(|n| !n.is_empty()) {
            let tls12 = tls12_suites(&provider, names)?;
            if tls12.is_empty() {
                allow_tls12 = false;
            }
            // As in Go, the list chooses TLS 1.2 suites; TLS 1.3 keeps all of its own.
            let tls13 = provider
                .cipher_suites
                .iter()
                .filter(|s| s.version() == &rustls::version::TLS13)
                .copied();
            provider.cipher_suites = tls12.into_iter().chain(tls13).collect();
        }
        if let Some(curves) = self.curve_preferences.filter(|c| !c.is_empty()) {
            provider.kx_groups = groups(curves)?;
        }
        let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
        if allow_tls12 {
            versions.push(&rustls::version::TLS12);
        }
        if max >= Version::Tls13 {
            versions.push(&rustls::version::TLS13);
        }
        if versions.is_empty() {
            return Err(ConfigError::tls(
                "cipher_suites",
                "leaves no TLS 1.2 suite while max_version is TLS12",
            ));
        }
        Ok(Protocol { provider, versions })
    }
}

/// The TLS 1.2 suites of `names` (Go's TLS 1.3 names are skipped, as Go ignores them).
fn tls12_suites(
    provider: &CryptoProvider,
    names: &[String],
) -> Result<Vec<rustls::SupportedCipherSuite>, ConfigError> {
    let mut out = Vec::new();
    for name in names {
        if GO_TLS13_SUITES.contains(&name.as_str()) {
            continue;
        }
        if !GO_CIPHER_SUITES.contains(&name.as_str()) {
            return Err(ConfigError::tls(
                "cipher_suites",
                format!("unknown cipher {name:?}"),
            ));
        }
        match provider
            .cipher_suites
            .iter()
            .find(|s| format!("{:?}", s.suite()) == *name)
        {
            Some(s) => out.push(*s),
            None => {
                return Err(ConfigError::tls(
                    "cipher_suites",
                    format!(
                        "{name} is not offered by this exporter's TLS library (rustls); it offers the ECDHE AES-GCM and ChaCha20-Poly1305 suites"
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// The key exchange groups of `curves`, in their order.
fn groups(
    curves: &[String],
) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>, ConfigError> {
    let mut out = Vec::new();
    for c in curves {
        let g = match c.as_str() {
            "X25519" => rustls::crypto::ring::kx_group::X25519,
            "CurveP256" => rustls::crypto::ring::kx_group::SECP256R1,
            "CurveP384" => rustls::crypto::ring::kx_group::SECP384R1,
            "CurveP521" => {
                return Err(ConfigError::tls(
                    "curve_preferences",
                    "CurveP521 is not offered by this exporter's TLS library (rustls with ring): use X25519, CurveP256 or CurveP384",
                ));
            }
            other => {
                return Err(ConfigError::tls(
                    "curve_preferences",
                    format!("unknown curve {other:?}"),
                ));
            }
        };
        out.push(g);
    }
    Ok(out)
}
