//! `tls_server_config` of the web configuration file, turned into a rustls server configuration
//! (ring provider): certificates from files or inline PEM, the five client auth types with Go's
//! meaning, `client_allowed_sans`, versions, cipher suites and curves where rustls can honour them.
//! What rustls cannot do (TLS 1.0/1.1, CBC or RSA-key-exchange suites, P-521) is refused by name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use serde::Deserialize;

use crate::error::ConfigError;

/// `tls_server_config` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsFile {
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    client_ca: Option<String>,
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    client_allowed_sans: Option<Vec<String>>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Option<Vec<String>>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    curve_preferences: Option<Vec<String>>,
}

const KEY: &str = "tls_server_config";

fn err(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::new(format!("{KEY}.{field}"), reason)
}

fn set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty())
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    Tls12,
    Tls13,
}

fn version(field: &str, v: &Option<String>, default: Version) -> Result<Version, ConfigError> {
    match v.as_deref() {
        None | Some("") => Ok(default),
        Some("TLS13") => Ok(Version::Tls13),
        Some("TLS12") => Ok(Version::Tls12),
        Some(old @ ("TLS10" | "TLS11")) => Err(err(
            field,
            format!(
                "{old} is not supported: this exporter's TLS library (rustls) offers TLS12 and TLS13 only"
            ),
        )),
        Some(other) => Err(err(
            field,
            format!("unknown TLS version {other:?} (expected TLS12 or TLS13)"),
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    No,
    Request,
    RequireAny,
    VerifyIfGiven,
    RequireAndVerify,
}

fn client_auth(v: &Option<String>) -> Result<ClientAuth, ConfigError> {
    Ok(match v.as_deref().unwrap_or("") {
        "" | "NoClientCert" => ClientAuth::No,
        "RequestClientCert" => ClientAuth::Request,
        // "RequireClientCert" is the toolkit's old spelling, still accepted there.
        "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAny,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        other => {
            return Err(err(
                "client_auth_type",
                format!(
                    "invalid ClientAuth {other:?} (expected NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
                ),
            ));
        }
    })
}

/// What [`build`] made, and the bytes of the files it read.
pub(crate) struct Built {
    pub config: rustls::ServerConfig,
    pub file_bytes: Vec<u8>,
}

impl TlsFile {
    /// Whether the section asks for TLS at all (the toolkit's `IsEnabled`).
    pub(crate) fn is_enabled(&self) -> bool {
        [
            &self.cert,
            &self.key,
            &self.client_ca,
            &self.cert_file,
            &self.key_file,
            &self.client_auth_type,
            &self.client_ca_file,
        ]
        .into_iter()
        .any(set)
    }

    /// Without TLS the rest of the section is unused, but its names must still be known ones.
    pub(crate) fn check_without_tls(&self) -> Result<(), ConfigError> {
        for (field, v) in [
            ("min_version", &self.min_version),
            ("max_version", &self.max_version),
        ] {
            if let Some(s) = v.as_deref()
                && !["", "TLS10", "TLS11", "TLS12", "TLS13"].contains(&s)
            {
                return Err(err(field, format!("unknown TLS version {s:?}")));
            }
        }
        for s in self.cipher_suites.iter().flatten() {
            if !GO_CIPHER_SUITES.contains(&s.as_str()) {
                return Err(err("cipher_suites", format!("unknown cipher {s:?}")));
            }
        }
        for c in self.curve_preferences.iter().flatten() {
            if !GO_CURVES.contains(&c.as_str()) {
                return Err(err("curve_preferences", format!("unknown curve {c:?}")));
            }
        }
        Ok(())
    }
}

/// Reads `inline` or the file `path` (relative to `dir`), exactly one of them.
fn source(
    dir: &Path,
    inline_key: &str,
    inline: &Option<String>,
    file_key: &str,
    path: &Option<String>,
    required: bool,
    bytes: &mut Vec<u8>,
) -> Result<Option<Vec<u8>>, ConfigError> {
    match (set(inline), set(path)) {
        (true, true) => Err(err(
            file_key,
            format!("set {file_key} or {inline_key}, not both"),
        )),
        (false, false) if required => Err(err(
            file_key,
            format!("missing one of {inline_key} or {file_key}"),
        )),
        (false, false) => Ok(None),
        (true, false) => Ok(inline.as_ref().map(|s| s.as_bytes().to_vec())),
        (false, true) => {
            let p = path.as_deref().unwrap_or_default();
            let full: PathBuf = dir.join(p);
            let data = std::fs::read(&full)
                .map_err(|e| err(file_key, format!("cannot read {}: {e}", full.display())))?;
            bytes.extend_from_slice(&data);
            Ok(Some(data))
        }
    }
}

fn certificates(field: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| err(field, format!("cannot parse PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(err(field, "no PEM certificate found"));
    }
    Ok(certs)
}

/// Builds the rustls server configuration; `http2` offers h2 by ALPN.
pub(crate) fn build(t: &TlsFile, dir: &Path, http2: bool) -> Result<Built, ConfigError> {
    let mut bytes = Vec::new();
    let cert_pem = source(
        dir,
        "cert",
        &t.cert,
        "cert_file",
        &t.cert_file,
        true,
        &mut bytes,
    )?
    .unwrap_or_default();
    let key_pem = source(
        dir,
        "key",
        &t.key,
        "key_file",
        &t.key_file,
        true,
        &mut bytes,
    )?
    .unwrap_or_default();
    let cert_field = if set(&t.cert) { "cert" } else { "cert_file" };
    let key_field = if set(&t.key) { "key" } else { "key_file" };
    let chain = certificates(cert_field, &cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| err(key_field, format!("cannot parse a PEM private key: {e}")))?;

    let min = version("min_version", &t.min_version, Version::Tls12)?;
    let max = version("max_version", &t.max_version, Version::Tls13)?;
    if min > max {
        return Err(err("min_version", "is above max_version"));
    }

    let mut provider = rustls::crypto::ring::default_provider();
    let mut allow_tls12 = min <= Version::Tls12;
    if let Some(names) = &t.cipher_suites
        && !names.is_empty()
    {
        let mut tls12 = Vec::new();
        for name in names {
            if GO_TLS13_SUITES.contains(&name.as_str()) {
                continue;
            }
            if !GO_CIPHER_SUITES.contains(&name.as_str()) {
                return Err(err("cipher_suites", format!("unknown cipher {name:?}")));
            }
            let found = provider
                .cipher_suites
                .iter()
                .find(|s| format!("{:?}", s.suite()) == *name)
                .copied();
            match found {
                Some(s) => tls12.push(s),
                None => {
                    return Err(err(
                        "cipher_suites",
                        format!(
                            "{name} is not offered by this exporter's TLS library (rustls); it offers the ECDHE AES-GCM and ChaCha20-Poly1305 suites"
                        ),
                    ));
                }
            }
        }
        // As in Go, the list chooses TLS 1.2 suites; TLS 1.3 keeps all of its own.
        let tls13: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        if tls12.is_empty() {
            allow_tls12 = false;
        }
        provider.cipher_suites = tls12.into_iter().chain(tls13).collect();
    }
    if let Some(curves) = &t.curve_preferences
        && !curves.is_empty()
    {
        let mut groups = Vec::new();
        for c in curves {
            let g = match c.as_str() {
                "X25519" => rustls::crypto::ring::kx_group::X25519,
                "CurveP256" => rustls::crypto::ring::kx_group::SECP256R1,
                "CurveP384" => rustls::crypto::ring::kx_group::SECP384R1,
                "CurveP521" => {
                    return Err(err(
                        "curve_preferences",
                        "CurveP521 is not offered by this exporter's TLS library (rustls with ring): use X25519, CurveP256 or CurveP384",
                    ));
                }
                other => return Err(err("curve_preferences", format!("unknown curve {other:?}"))),
            };
            groups.push(g);
        }
        provider.kx_groups = groups;
    }
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if allow_tls12 && min <= Version::Tls12 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= Version::Tls13 {
        versions.push(&rustls::version::TLS13);
    }
    if versions.is_empty() {
        return Err(err(
            "cipher_suites",
            "leaves no TLS 1.2 suite while max_version is TLS12",
        ));
    }
    let provider = Arc::new(provider);

    let auth = client_auth(&t.client_auth_type)?;
    let ca_pem = source(
        dir,
        "client_ca",
        &t.client_ca,
        "client_ca_file",
        &t.client_ca_file,
        false,
        &mut bytes,
    )?;
    let ca_field = if set(&t.client_ca) {
        "client_ca"
    } else {
        "client_ca_file"
    };
    if ca_pem.is_some() && auth == ClientAuth::No {
        return Err(err(
            ca_field,
            "client CA's have been configured without a Client Auth Policy (set client_auth_type)",
        ));
    }
    let roots = match &ca_pem {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for c in certificates(ca_field, pem)? {
                roots
                    .add(c)
                    .map_err(|e| err(ca_field, format!("unusable CA certificate: {e}")))?;
            }
            Some(Arc::new(roots))
        }
        None => None,
    };
    let algs = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ClientCertVerifier> = match auth {
        ClientAuth::No => WebPkiClientVerifier::no_client_auth(),
        ClientAuth::Request => Arc::new(AnyClientCert {
            mandatory: false,
            algs,
        }),
        ClientAuth::RequireAny => Arc::new(AnyClientCert {
            mandatory: true,
            algs,
        }),
        ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify => {
            let Some(roots) = roots else {
                return Err(err(
                    "client_auth_type",
                    "verifying client certificates needs client_ca_file or client_ca (system roots are not used)",
                ));
            };
            let builder = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
            let builder = if auth == ClientAuth::VerifyIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map_err(|e| err("client_auth_type", format!("cannot verify clients: {e}")))?
        }
    };
    let verifier = match &t.client_allowed_sans {
        None => verifier,
        Some(sans) => {
            if !matches!(auth, ClientAuth::RequireAny | ClientAuth::RequireAndVerify) {
                return Err(err(
                    "client_allowed_sans",
                    "requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert",
                ));
            }
            Arc::new(SanCheck {
                inner: verifier,
                allowed: sans.clone(),
            })
        }
    };

    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| err("min_version", format!("unusable TLS settings: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| err(key_field, format!("failed to load the key pair: {e}")))?;
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Built {
        config,
        file_bytes: bytes,
    })
}

/// Asks for a client certificate and accepts any (Go's RequestClientCert and RequireAnyClientCert):
/// only the handshake signature proves the client holds its key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// `client_allowed_sans`: after the inner verifier, the client certificate must carry one of the
/// allowed DNS, e-mail, IP or URI subject alternative names (exact match, as the toolkit).
#[derive(Debug)]
struct SanCheck {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

/// The subject alternative names of a DER certificate, as Go prints them.
pub(crate) fn subject_alt_names(der: &[u8]) -> Result<Vec<String>, String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("error parsing client certificate: {e}"))?;
    let mut out = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                    out.push((*s).to_owned())
                }
                GeneralName::IPAddress(b) => match b.len() {
                    4 => out.push(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(b);
                        out.push(std::net::Ipv6Addr::from(a).to_string())
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Ok(out)
}

impl ClientCertVerifier for SanCheck {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }
    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let sans = subject_alt_names(end_entity).map_err(rustls::Error::General)?;
        if sans.iter().any(|s| self.allowed.contains(s)) {
            Ok(verified)
        } else {
            Err(rustls::Error::General(format!(
                "client certificate SANs {sans:?} match none of client_allowed_sans {:?}",
                self.allowed
            )))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
