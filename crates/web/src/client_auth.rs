//! Client certificates for `tls_server_config`: the five `client_auth_type`s with Go's meaning,
//! the client CA, and `client_allowed_sans`, as one rustls client certificate verifier.

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

/// The verifier for `auth`, trusting `ca` when it verifies, and checking `allowed_sans`.
pub(crate) fn verifier(
    auth: ClientAuth,
    ca: Option<ClientCa>,
    allowed_sans: Option<&[String]>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, ConfigError> {
    if let Some(ca) = &ca
        && auth == ClientAuth::No
    {
        return Err(ConfigError::tls(
            ca.field,
            "client CA's have been configured without a Client Auth Policy (set client_auth_type)",
        ));
    }
    if allowed_sans.is_some() && !auth.requires() {
        return Err(ConfigError::tls(
            "client_allowed_sans",
            "requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert",
        ));
    }
    let chain = match auth {
        ClientAuth::No => return Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuth::Request | ClientAuth::RequireAny => ChainCheck::None,
        ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify => {
            ChainCheck::WebPki(webpki(auth, ca, provider)?)
        }
    };
    Ok(Arc::new(ClientVerifier {
        mandatory: auth.requires(),
        chain,
        allowed_sans: allowed_sans.map(<[String]>::to_vec),
        algs: provider.signature_verification_algorithms,
    }))
}

/// A verifying client auth type's chain check against the client CA.
fn webpki(
    auth: ClientAuth,
    ca: Option<ClientCa>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, ConfigError> {
    debug_assert!(auth.verifies());
    let Some(ca) = ca else {
        return Err(ConfigError::tls(
            "client_auth_type",
            "verifying client certificates needs client_ca_file or client_ca (system roots are not used)",
        ));
    };
    let mut roots = RootCertStore::empty();
    for c in ca.certs {
        roots
            .add(c)
            .map_err(|e| ConfigError::tls(ca.field, format!("unusable CA certificate: {e}")))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let builder = if auth == ClientAuth::VerifyIfGiven {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder
        .build()
        .map_err(|e| ConfigError::tls("client_auth_type", format!("cannot verify clients: {e}")))
}

/// How a client certificate's chain is checked.
#[derive(Debug)]
enum ChainCheck {
    /// Any certificate is taken (RequestClientCert, RequireAnyClientCert): only the handshake
    /// signature proves the client holds its key.
    None,
    /// Against the client CA.
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
