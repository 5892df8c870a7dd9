//! The HTTP side (`exporter-web`) with real programs, one file per concern: the web configuration
//! file against Debian's `promtool check web-config` ([`config_files`]), TLS, client certificates,
//! basic auth and reloads with curl and openssl ([`tls`]), a real Prometheus scraping over TLS
//! ([`prometheus`]), hostile clients and limits against `exporter_web` in this process
//! ([`limits`], sharing [`serving`]), crowds of them against the daemon ([`crowd`]) and shutdown of the server and of the binary ([`shutdown`]).
//! Here: the test PKI and the helpers that start the exporter (through the harness's
//! [`Exporter`]) and talk to it.

mod config_files;
mod crowd;
mod limits;
mod prometheus;
mod serving;
mod shutdown;
mod tls;

use std::path::Path;
use std::process::Command;

use crate::harness::stack::Scratch;
use crate::harness::{Exited, Exporter};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

// ---------------------------------------------------------------------------------------------
// Certificates, files and the exporter process

/// A CA, a server certificate for localhost/127.0.0.1, client certificates (one trusted with SAN
/// `prometheus.example`, one trusted with SAN `intruder.example`, one from another CA) and a
/// renewed server certificate with the same key, as PEM files in a scratch directory.
struct Pki {
    dir: Scratch,
}

fn cert_params(cn: &str, sans: &[&str]) -> CertificateParams {
    let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("certificate parameters");
    p.distinguished_name.push(DnType::CommonName, cn);
    p
}

fn new_ca(cn: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut p = cert_params(cn, &[]);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(p, key))
}

impl Pki {
    fn new() -> Pki {
        let dir = Scratch::new("web-pki");
        let (ca_pem, ca) = new_ca("test CA");
        let (other_pem, other) = new_ca("other CA");
        dir.write("ca.pem", &ca_pem);
        dir.write("other-ca.pem", &other_pem);
        let server_key = KeyPair::generate().unwrap();
        let server = cert_params("original", &["localhost", "127.0.0.1", "::1"])
            .signed_by(&server_key, &ca)
            .unwrap();
        let renewed = cert_params("renewed", &["localhost", "127.0.0.1", "::1"])
            .signed_by(&server_key, &ca)
            .unwrap();
        dir.write("server.pem", &server.pem());
        dir.write("server-renewed.pem", &renewed.pem());
        dir.write("server-key.pem", &server_key.serialize_pem());
        for (name, san, issuer) in [
            ("client", "prometheus.example", &ca),
            ("intruder", "intruder.example", &ca),
            ("stranger", "prometheus.example", &other),
        ] {
            let key = KeyPair::generate().unwrap();
            let cert = cert_params(name, &[san]).signed_by(&key, issuer).unwrap();
            dir.write(&format!("{name}.pem"), &cert.pem());
            dir.write(&format!("{name}-key.pem"), &key.serialize_pem());
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path.join(name).display().to_string()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path.join(name)).unwrap()
    }
}

/// A bcrypt hash of `password` (cost 4: tests only).
fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// Where the exporter reads DynamoDB when a test does not need it: a port that refuses.
const NO_DYNAMODB: &str = "http://127.0.0.1:9";

/// Starts the exporter with `args` (DynamoDB at `endpoint`, or one that refuses; listening on a
/// free loopback port unless `args` name addresses) and waits until it listens or exits.
fn start(args: &[&str], endpoint: Option<&str>, table: &str) -> Result<Exporter, Exited> {
    let mut all = vec![
        "--dynamodb.endpoint-url",
        endpoint.unwrap_or(NO_DYNAMODB),
        "--dynamodb.table",
        table,
        "--log.format",
        "logfmt",
    ];
    if !args.contains(&"--web.listen-address") {
        all.extend(["--web.listen-address", "127.0.0.1:0"]);
    }
    all.extend_from_slice(args);
    Exporter::try_spawn(&all)
}

/// [`start`] without DynamoDB, which must listen.
fn start_ok(args: &[&str]) -> Exporter {
    start(args, None, "t").unwrap_or_else(|e| panic!("exporter exited: {e:?}"))
}

/// A web configuration `name` serving TLS with the test server certificate, then `extra`.
fn tls_file(pki: &Pki, name: &str, extra: &str) -> String {
    pki.dir
        .write(
            name,
            &format!(
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n{extra}"
            ),
        )
        .display()
        .to_string()
}

/// One curl call: (status, head, body). `args` come before the URL.
fn curl(args: &[&str], url: &str) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "10"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed (scripts/install-deps installs it)");
    crate::harness::split_response(&String::from_utf8_lossy(&out.stdout))
}

/// curl with the test CA, over TLS to 127.0.0.1.
fn curl_tls(pki: &Pki, port: u16, path: &str, extra: &[&str]) -> (u16, String, String) {
    let ca = pki.path("ca.pem");
    let mut args = vec!["--cacert", ca.as_str()];
    args.extend_from_slice(extra);
    curl(&args, &format!("https://127.0.0.1:{port}{path}"))
}

/// `promtool check web-config FILE` succeeded.
fn promtool_accepts(file: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(["check", "web-config"])
        .arg(file)
        .output()
        .expect("promtool is installed (scripts/install-deps installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Whether the exporter starts with `file` (listening) or refuses it (exit 2 with one line, which
/// is returned).
fn exporter_verdict(file: &Path) -> Result<(), String> {
    let path = file.display().to_string();
    match start(&["--web.config.file", &path], None, "t") {
        Ok(_) => Ok(()),
        Err(Exited { code, stderr }) => {
            assert_eq!(code, Some(2), "{stderr}");
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "one line: {stderr}");
            assert!(lines[0].contains("--web.config.file"), "{stderr}");
            Err(lines[0].to_owned())
        }
    }
}
