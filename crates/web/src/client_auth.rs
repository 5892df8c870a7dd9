//! Client certificates for `tls_server_config`: the five `client_auth_type`s with Go's meaning,
//! the client CA (or, without one, the system's trust store, as Go), and `client_allowed_sans`, as
//! one rustls client certificate verifier.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use crate::error::ConfigError;

/// Go's `tls.ClientAuthType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    No,
    Request,
    RequireAny,
    VerifyIfGiven,
    RequireAndVerify,
}

impl ClientAuth {
    /// Parses `client_auth_type` as the toolkit does.
    pub(crate) fn parse(v: Option<&str>) -> Result<ClientAuth, ConfigError> {
        Ok(match v.unwrap_or("") {
            "" | "NoClientCert" => ClientAuth::No,
            "RequestClientCert" => ClientAuth::Request,
            // "RequireClientCert" is the toolkit's old spelling, still accepted there.
            "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAny,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
            other => {
                return Err(ConfigError::tls(
                    "client_auth_type",
                    format!(
                        "invalid ClientAuth {other:?} (expected NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"
                    ),
                ));
            }
        })
    }

    /// The name a file gives it.
    fn name(self) -> &'static str {
        match self {
            ClientAuth::No => "NoClientCert",
            ClientAuth::Request => "RequestClientCert",
            ClientAuth::RequireAny => "RequireAnyClientCert",
            ClientAuth::VerifyIfGiven => "VerifyClientCertIfGiven",
            ClientAuth::RequireAndVerify => "RequireAndVerifyClientCert",
        }
    }

    fn verifies(self) -> bool {
        matches!(
            self,
            ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify
        )
    }

    fn requires(self) -> bool {
        matches!(self, ClientAuth::RequireAny | ClientAuth::RequireAndVerify)
    }
}

/// The client CA as read: the key it came from and its certificates.
pub(crate) struct ClientCa {
    pub field: &'static str,
    pub certs: Vec<CertificateDer<'static>>,
}

/// The checks of the toolkit between the client auth type and the client CA, made before the
/// CA is parsed (as Go, which reads the CA file first): `ca_field` names the CA's key when one is
/// set.
pub(crate) fn check_policy(
    auth: ClientAuth,
    ca_field: Option<&str>,
    allowed_sans: Option<&[String]>,
) -> Result<(), ConfigError> {
    if let Some(field) = ca_field
        && auth == ClientAuth::No
    {
        return Err(ConfigError::tls(
            field,
            "client CA's have been configured without a Client Auth Policy (set client_auth_type)",
        ));
    }
    if allowed_sans.is_some() && auth == ClientAuth::No {
        return Err(ConfigError::tls(
            "client_allowed_sans",
            "has no effect with client_auth_type NoClientCert, which asks for no client certificate (the toolkit would ignore the list and serve every client): set client_auth_type to RequireAndVerifyClientCert",
        ));
    }
    Ok(())
}

/// The verifier for `auth`, trusting `ca` when it verifies, and checking `allowed_sans` (see
/// [`check_policy`], which must have passed).
///
/// With `allowed_sans`, a client must present a certificate, whichever type asks for one: the
/// toolkit's SAN check then refuses a client without one (it fails the handshake, by a panic).
pub(crate) fn verifier(
    auth: ClientAuth,
    ca: Option<ClientCa>,
    allowed_sans: Option<&[String]>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, ConfigError> {
    check_policy(auth, ca.as_ref().map(|c| c.field), allowed_sans)?;
    let chain = match auth {
        ClientAuth::No => return Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuth::Request | ClientAuth::RequireAny => ChainCheck::None,
        ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify => {
            ChainCheck::WebPki(webpki(auth, Trust::read(auth, ca)?, provider)?)
        }
    };
    Ok(Arc::new(ClientVerifier {
        mandatory: auth.requires() || allowed_sans.is_some(),
        chain,
        allowed_sans: allowed_sans.map(<[String]>::to_vec),
        algs: provider.signature_verification_algorithms,
    }))
}

/// What a verifying client auth type checks chains against.
enum Trust {
    /// The client CA.
    Ca(RootCertStore),
    /// Without a client CA, as Go: the system's trust store.
    System(RootCertStore),
}

impl Trust {
    /// The client CA, or without one the system's trust store, read now (so again at every
    /// load of the file).
    fn read(auth: ClientAuth, ca: Option<ClientCa>) -> Result<Trust, ConfigError> {
        Ok(match ca {
            Some(ca) => Trust::Ca(ca_roots(ca)?),
            None => Trust::System(system_roots(
                auth,
                rustls_native_certs::load_native_certs(),
            )?),
        })
    }
}

/// A verifying client auth type's chain check against `trust`.
fn webpki(
    auth: ClientAuth,
    trust: Trust,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, ConfigError> {
    debug_assert!(auth.verifies());
    let builder = match trust {
        Trust::Ca(roots) => {
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        }
        // Go names no acceptable CA in its certificate request when it uses the system roots;
        // the hundred-odd names of a system store would only bloat every handshake.
        Trust::System(roots) => {
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .clear_root_hint_subjects()
        }
    };
    let builder = if auth == ClientAuth::VerifyIfGiven {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder
        .build()
        .map_err(|e| ConfigError::tls("client_auth_type", format!("cannot verify clients: {e}")))
}

/// The client CA's certificates as trust anchors.
fn ca_roots(ca: ClientCa) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    for c in ca.certs {
        roots
            .add(c)
            .map_err(|e| ConfigError::tls(ca.field, format!("unusable CA certificate: {e}")))?;
    }
    Ok(roots)
}

/// The trust anchors of the system's store as `rustls-native-certs` found it (`SSL_CERT_FILE`,
/// `SSL_CERT_DIR`, else the distribution's bundle, as Go looks); refused when none is usable.
fn system_roots(
    auth: ClientAuth,
    found: rustls_native_certs::CertificateResult,
) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    let (usable, _unusable) = roots.add_parsable_certificates(found.certs);
    if usable > 0 {
        return Ok(roots);
    }
    let why = found
        .errors
        .first()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    Err(ConfigError::tls(
        "client_ca_file",
        format!(
            "is not set, so {} verifies client certificates against the system's trust store, which has no usable certificate{why}; set client_ca_file or client_ca, or install the system's CA certificates",
            auth.name()
        ),
    ))
}

/// How a client certificate's chain is checked.
#[derive(Debug)]
enum ChainCheck {
    /// Any certificate is taken (RequestClientCert, RequireAnyClientCert): only the handshake
    /// signature proves the client holds its key.
    None,
    /// Against the client CA or the system's trust store.
    WebPki(Arc<dyn ClientCertVerifier>),
}

/// Asks for a client certificate, checks its chain as [`ChainCheck`] says, then (with
/// `client_allowed_sans`) requires one of the allowed DNS, e-mail, IP or URI subject alternative
/// names (exact match, as the toolkit).
#[derive(Debug)]
struct ClientVerifier {
    mandatory: bool,
    chain: ChainCheck,
    allowed_sans: Option<Vec<String>>,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        match &self.chain {
            ChainCheck::None => &[],
            ChainCheck::WebPki(v) => v.root_hint_subjects(),
        }
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if let ChainCheck::WebPki(v) = &self.chain {
            v.verify_client_cert(end_entity, intermediates, now)?;
        }
        let Some(allowed) = &self.allowed_sans else {
            return Ok(ClientCertVerified::assertion());
        };
        let sans = subject_alt_names(end_entity).map_err(rustls::Error::General)?;
        if sans.iter().any(|s| allowed.contains(s)) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "client certificate SANs {sans:?} match none of client_allowed_sans {allowed:?}"
            )))
        }
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

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject;

    use super::*;

    /// A file of the vendored exporter-toolkit test data.
    fn testdata(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/toolkit-testdata")
            .join(name)
    }

    #[test]
    fn an_empty_system_store_is_refused_in_one_line_naming_client_ca_file() {
        let found = rustls_native_certs::CertificateResult::default();
        let e = system_roots(ClientAuth::VerifyIfGiven, found).unwrap_err();
        assert_eq!(e.key, "tls_server_config.client_ca_file");
        assert!(e.reason.contains("VerifyClientCertIfGiven"), "{e}");
        assert!(e.reason.contains("system's trust store"), "{e}");
    }

    #[test]
    fn an_unreadable_system_store_says_why() {
        let missing = testdata("no-such-bundle.pem");
        let found = rustls_native_certs::load_certs_from_paths(Some(&missing), None);
        let e = system_roots(ClientAuth::RequireAndVerify, found).unwrap_err();
        assert_eq!(e.key, "tls_server_config.client_ca_file");
        assert!(e.reason.contains("no-such-bundle.pem"), "{e}");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn the_system_store_as_found_becomes_the_roots() {
        let bundle = testdata("client_selfsigned.pem");
        let found = rustls_native_certs::load_certs_from_paths(Some(&bundle), None);
        let roots = system_roots(ClientAuth::RequireAndVerify, found).unwrap();
        assert_eq!(roots.len(), 1);
    }

    #[test]
    fn a_client_ca_is_used_instead_of_the_system_store_and_named_in_requests() {
        let pem = std::fs::read(testdata("client_selfsigned.pem")).unwrap();
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let ca = ClientCa {
            field: "client_ca_file",
            certs,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = verifier(ClientAuth::RequireAndVerify, Some(ca), None, &provider).unwrap();
        assert!(v.client_auth_mandatory());
        assert_eq!(v.root_hint_subjects().len(), 1);
    }

    #[test]
    fn the_system_store_is_not_named_in_certificate_requests() {
        let bundle = testdata("client_selfsigned.pem");
        let found = rustls_native_certs::load_certs_from_paths(Some(&bundle), None);
        let trust = Trust::System(system_roots(ClientAuth::VerifyIfGiven, found).unwrap());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = webpki(ClientAuth::VerifyIfGiven, trust, &provider).unwrap();
        assert!(v.root_hint_subjects().is_empty());
        assert!(!v.client_auth_mandatory());
    }

    #[test]
    fn policy_checks_are_the_toolkits_and_sans_need_a_certificate_asked_for() {
        let sans = vec!["test3".to_owned()];
        let e = check_policy(ClientAuth::No, Some("client_ca_file"), None).unwrap_err();
        assert_eq!(e.key, "tls_server_config.client_ca_file");
        assert!(e.reason.contains("without a Client Auth Policy"), "{e}");
        let e = check_policy(ClientAuth::No, None, Some(&sans)).unwrap_err();
        assert_eq!(e.key, "tls_server_config.client_allowed_sans");
        for auth in [
            ClientAuth::Request,
            ClientAuth::RequireAny,
            ClientAuth::VerifyIfGiven,
            ClientAuth::RequireAndVerify,
        ] {
            assert!(check_policy(auth, Some("client_ca"), Some(&sans)).is_ok());
        }
    }

    #[test]
    fn allowed_sans_make_a_certificate_required_as_the_toolkits_check_does() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let sans = vec!["test3".to_owned()];
        let asks = verifier(ClientAuth::Request, None, None, &provider).unwrap();
        assert!(asks.offer_client_auth() && !asks.client_auth_mandatory());
        let with_sans = verifier(ClientAuth::Request, None, Some(&sans), &provider).unwrap();
        assert!(with_sans.client_auth_mandatory());
        let none = verifier(ClientAuth::No, None, None, &provider).unwrap();
        assert!(!none.offer_client_auth());
    }
}
