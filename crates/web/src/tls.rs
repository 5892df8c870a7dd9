//! `tls_server_config` of the web configuration file, turned into a rustls server configuration
//! (ring provider): the certificate and key from files or inline PEM, then the protocol keys
//! ([`crate::tls_suites`]) and client certificates ([`crate::client_auth`]), and ALPN.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use crate::client_auth::{self, ClientAuth, ClientCa};
use crate::error::ConfigError;
use crate::tls_suites::ProtocolKeys;

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

fn set(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty())
}

/// What [`build`] made, the bytes of the files it read, and what it could not do as asked (one
/// line each, for a warning).
pub(crate) struct Built {
    pub config: rustls::ServerConfig,
    pub file_bytes: Vec<u8>,
    pub warnings: Vec<String>,
}

/// One PEM source of the section: inline under `inline_key` or a file under `file_key`.
struct Source<'a> {
    inline_key: &'static str,
    inline: &'a Option<String>,
    file_key: &'static str,
    path: &'a Option<String>,
}

impl Source<'_> {
    /// The key the value came from (the file key when neither is set).
    fn field(&self) -> &'static str {
        if set(self.inline) {
            self.inline_key
        } else {
            self.file_key
        }
    }

    /// Reads the inline value or the file (relative to `dir`), exactly one of them; the bytes
    /// of a file read are appended to `bytes`.
    fn read(
        &self,
        dir: &Path,
        required: bool,
        bytes: &mut Vec<u8>,
    ) -> Result<Option<Vec<u8>>, ConfigError> {
        let (inline_key, file_key) = (self.inline_key, self.file_key);
        match (set(self.inline), set(self.path)) {
            (true, true) => Err(ConfigError::tls(
                file_key,
                format!("set {file_key} or {inline_key}, not both"),
            )),
            (false, false) if required => Err(ConfigError::tls(
                file_key,
                format!("missing one of {inline_key} or {file_key}"),
            )),
            (false, false) => Ok(None),
            (true, false) => Ok(self.inline.as_ref().map(|s| s.as_bytes().to_vec())),
            (false, true) => {
                let full: PathBuf = dir.join(self.path.as_deref().unwrap_or_default());
                let data = std::fs::read(&full).map_err(|e| {
                    ConfigError::tls(file_key, format!("cannot read {}: {e}", full.display()))
                })?;
                bytes.extend_from_slice(&data);
                Ok(Some(data))
            }
        }
    }
}

fn certificates(field: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| ConfigError::tls(field, format!("cannot parse PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(ConfigError::tls(field, "no PEM certificate found"));
    }
    Ok(certs)
}

/// The server's certificate chain and key, and the key they came from.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    key_field: &'static str,
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
        self.protocol_keys().check_names()
    }

    fn protocol_keys(&self) -> ProtocolKeys<'_> {
        ProtocolKeys {
            min_version: self.min_version.as_deref(),
            max_version: self.max_version.as_deref(),
            cipher_suites: self.cipher_suites.as_deref(),
            curve_preferences: self.curve_preferences.as_deref(),
        }
    }

    fn identity(&self, dir: &Path, bytes: &mut Vec<u8>) -> Result<Identity, ConfigError> {
        let cert = Source {
            inline_key: "cert",
            inline: &self.cert,
            file_key: "cert_file",
            path: &self.cert_file,
        };
        let key = Source {
            inline_key: "key",
            inline: &self.key,
            file_key: "key_file",
            path: &self.key_file,
        };
        let cert_pem = cert.read(dir, true, bytes)?.unwrap_or_default();
        let key_pem = key.read(dir, true, bytes)?.unwrap_or_default();
        let chain = certificates(cert.field(), &cert_pem)?;
        let key_field = key.field();
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            ConfigError::tls(key_field, format!("cannot parse a PEM private key: {e}"))
        })?;
        Ok(Identity {
            chain,
            key,
            key_field,
        })
    }

    fn client_ca(&self, dir: &Path, bytes: &mut Vec<u8>) -> Result<Option<ClientCa>, ConfigError> {
        let ca = Source {
            inline_key: "client_ca",
            inline: &self.client_ca,
            file_key: "client_ca_file",
            path: &self.client_ca_file,
        };
        let field = ca.field();
        ca.read(dir, false, bytes)?
            .map(|pem| {
                Ok(ClientCa {
                    field,
                    certs: certificates(field, &pem)?,
                })
            })
            .transpose()
    }
}

/// The ALPN protocols to offer: h2 first when `http2`.
pub(crate) fn alpn(http2: bool) -> Vec<Vec<u8>> {
    if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    }
}

/// Builds the rustls server configuration; `http2` offers h2 by ALPN.
pub(crate) fn build(t: &TlsFile, dir: &Path, http2: bool) -> Result<Built, ConfigError> {
    let mut bytes = Vec::new();
    let identity = t.identity(dir, &mut bytes)?;
    let protocol = t.protocol_keys().protocol()?;
    t.protocol_keys().check_http2(http2)?;
    let provider = Arc::new(protocol.provider);
    let auth = ClientAuth::parse(t.client_auth_type.as_deref())?;
    let ca = t.client_ca(dir, &mut bytes)?;
    let verifier = client_auth::verifier(auth, ca, t.client_allowed_sans.as_deref(), &provider)?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol.versions)
        .map_err(|e| ConfigError::tls("min_version", format!("unusable TLS settings: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| {
            ConfigError::tls(
                identity.key_field,
                format!("failed to load the key pair: {e}"),
            )
        })?;
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = alpn(http2);
    Ok(Built {
        config,
        file_bytes: bytes,
        warnings: protocol.not_offered,
    })
}
