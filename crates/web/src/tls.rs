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
    #[serde(default, deserialize_with = "crate::config::go_yaml::bool")]
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

/// What reading the section's files gathers: their bytes (to notice changes) and warnings.
#[derive(Default)]
struct Reads {
    bytes: Vec<u8>,
    warnings: Vec<String>,
}

/// One PEM source of the section: inline under `inline_key` or a file under `file_key`.
struct Source<'a> {
    inline_key: &'static str,
    inline: &'a Option<String>,
    file_key: &'static str,
    path: &'a Option<String>,
}

impl Source<'_> {
    /// The key the value came from (the file key when it is set or neither is).
    fn field(&self) -> &'static str {
        if set(self.inline) && !set(self.path) {
            self.inline_key
        } else {
            self.file_key
        }
    }

    /// Reads the file (relative to `dir`) or else the inline value. With both set the file
    /// wins and the inline value is ignored with a warning, as the toolkit reads only the file.
    /// The bytes of a file read are kept in `reads`.
    fn read(
        &self,
        dir: &Path,
        required: bool,
        reads: &mut Reads,
    ) -> Result<Option<Vec<u8>>, ConfigError> {
        let (inline_key, file_key) = (self.inline_key, self.file_key);
        match (set(self.inline), set(self.path)) {
            (false, false) if required => Err(ConfigError::tls(
                file_key,
                format!("missing one of {inline_key} or {file_key}"),
            )),
            (false, false) => Ok(None),
            (true, false) => Ok(self.inline.as_ref().map(|s| s.as_bytes().to_vec())),
            (inline, true) => {
                if inline {
                    reads.warnings.push(format!(
                        "tls_server_config.{inline_key} is ignored: {file_key} is set too, and as in the toolkit the file is used"
                    ));
                }
                let full: PathBuf = dir.join(self.path.as_deref().unwrap_or_default());
                let data = std::fs::read(&full).map_err(|e| {
                    ConfigError::tls(file_key, format!("cannot read {}: {e}", full.display()))
                })?;
                reads.bytes.extend_from_slice(&data);
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

    fn identity(&self, dir: &Path, reads: &mut Reads) -> Result<Identity, ConfigError> {
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
        let cert_pem = cert.read(dir, true, reads)?.unwrap_or_default();
        let key_pem = key.read(dir, true, reads)?.unwrap_or_default();
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

    /// The client CA, read, checked against the client auth type as the toolkit does, then
    /// parsed.
    fn client_ca(
        &self,
        dir: &Path,
        auth: ClientAuth,
        reads: &mut Reads,
    ) -> Result<Option<ClientCa>, ConfigError> {
        let ca = Source {
            inline_key: "client_ca",
            inline: &self.client_ca,
            file_key: "client_ca_file",
            path: &self.client_ca_file,
        };
        let field = ca.field();
        let pem = ca.read(dir, false, reads)?;
        let sans = self.client_allowed_sans.as_deref();
        client_auth::check_policy(auth, pem.as_ref().map(|_| field), sans)?;
        pem.map(|pem| {
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
    let mut reads = Reads::default();
    let identity = t.identity(dir, &mut reads)?;
    let protocol = t.protocol_keys().protocol()?;
    t.protocol_keys().check_http2(http2)?;
    let provider = Arc::new(protocol.provider);
    let auth = ClientAuth::parse(t.client_auth_type.as_deref())?;
    let ca = t.client_ca(dir, auth, &mut reads)?;
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
    let mut warnings = protocol.not_offered;
    warnings.append(&mut reads.warnings);
    Ok(Built {
        config,
        file_bytes: reads.bytes,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/toolkit-testdata")
    }

    fn build_yaml(yaml: &str) -> Result<Built, ConfigError> {
        let t: TlsFile = serde_norway::from_str(yaml).unwrap();
        build(&t, &testdata(), true)
    }

    #[test]
    fn with_both_a_file_and_an_inline_value_the_file_is_used_and_the_value_named() {
        let b = build_yaml(
            "cert: not a certificate\ncert_file: server.crt\nkey: not a key\nkey_file: server.key\n",
        )
        .unwrap();
        assert_eq!(b.warnings.len(), 2, "{:?}", b.warnings);
        assert!(b.warnings[0].starts_with("tls_server_config.cert is ignored: cert_file"));
        assert!(b.warnings[1].starts_with("tls_server_config.key is ignored: key_file"));
        assert!(!b.file_bytes.is_empty());
    }

    #[test]
    fn an_unreadable_file_is_named_even_with_an_inline_value() {
        let inline = std::fs::read_to_string(testdata().join("server.crt")).unwrap();
        let yaml = format!(
            "cert: |\n  {}\ncert_file: missing.crt\nkey_file: server.key\n",
            inline.trim_end().replace('\n', "\n  ")
        );
        let e = build_yaml(&yaml).err().unwrap();
        assert_eq!(e.key, "tls_server_config.cert_file");
    }

    #[test]
    fn files_alone_give_no_warning() {
        let b = build_yaml("cert_file: server.crt\nkey_file: server.key\n").unwrap();
        assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    }

    #[test]
    fn a_client_ca_without_a_policy_is_named_before_its_contents_are_parsed() {
        // An empty file, as the toolkit's /dev/null: Go refuses it for the missing policy.
        let e = build_yaml(
            "cert_file: server.crt\nkey_file: server.key\nclient_ca_file: web_config_empty.yml\n",
        )
        .err()
        .unwrap();
        assert_eq!(e.key, "tls_server_config.client_ca_file");
        assert!(e.reason.contains("without a Client Auth Policy"), "{e}");
    }
}
