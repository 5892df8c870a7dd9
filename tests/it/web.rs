//! The HTTP side (`src/web/`) with real programs: the web configuration file against Debian's
//! `promtool check web-config` (the exporter accepts exactly what promtool accepts, the README's
//! examples pass both), the keys newer than promtool 2.42, a real Prometheus scraping over TLS with
//! client certificates and basic auth, curl for status codes and headers, certificate rotation
//! without restart; and hostile clients (half-sent heads, connection floods, oversized requests,
//! SIGTERM with connections held open) against `web::serve` and the binary.

use migration_testkit::WorkerWrites;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::stack::{Prometheus, Scratch};
use crate::harness::wait_for;
use axum::Router;
use axum::routing::get;
use exporter_web::{self as web, WebServer, WebSettings};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// The exporter binary as a child process, with its stderr lines.
struct Proc {
    child: Child,
    addr: String,
    lines: Arc<Mutex<Vec<String>>>,
}

enum Start {
    Listening(Proc),
    Exited { code: Option<i32>, stderr: String },
}

/// Starts the exporter with `args` (a DynamoDB endpoint that refuses unless given; listening on a
/// free loopback port unless `args` name addresses) and waits until it listens or exits.
fn start(args: &[&str], endpoint: Option<&str>, table: &str) -> Start {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migration-exporter"));
    cmd.args([
        "--dynamodb.endpoint-url",
        endpoint.unwrap_or("http://127.0.0.1:9"),
        "--dynamodb.table",
        table,
        "--log.format",
        "logfmt",
    ]);
    if !args.contains(&"--web.listen-address") {
        cmd.args(["--web.listen-address", "127.0.0.1:0"]);
    }
    let mut child = cmd
        .args(args)
        .env("AWS_ACCESS_KEY_ID", crate::harness::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", crate::harness::SECRET_KEY)
        .env("AWS_REGION", crate::harness::REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("MIGRATION_EXPORTER_WEB_CONFIG_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start migration-exporter");
    let stderr = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel::<Option<String>>();
    let sink = lines.clone();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("message=listening")
                && let Some(addr) = line
                    .split_whitespace()
                    .find_map(|kv| kv.strip_prefix("address="))
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(Some(addr.trim_matches('"').to_owned()));
            }
            sink.lock().unwrap().push(line);
        }
        if let Some(tx) = tx {
            let _ = tx.send(None);
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Some(addr)) => Start::Listening(Proc { child, addr, lines }),
        Ok(None) => {
            let status = child.wait().unwrap();
            Start::Exited {
                code: status.code(),
                stderr: lines.lock().unwrap().join("\n"),
            }
        }
        Err(_) => {
            let _ = child.kill();
            panic!(
                "exporter neither listened nor exited: {:?}",
                lines.lock().unwrap()
            );
        }
    }
}

fn start_ok(args: &[&str]) -> Proc {
    match start(args, None, "t") {
        Start::Listening(p) => p,
        Start::Exited { code, stderr } => panic!("exporter exited {code:?}: {stderr}"),
    }
}

impl Proc {
    fn port(&self) -> u16 {
        self.addr.parse::<SocketAddr>().unwrap().port()
    }
    fn log(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
    fn count(&self, needle: &str) -> usize {
        self.log().iter().filter(|l| l.contains(needle)).count()
    }
    fn terminate(&mut self, within: Duration) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < within,
                "exporter did not exit within {within:?} of SIGTERM: {:?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One curl call: (status, head, body). `args` come before the URL.
fn curl(args: &[&str], url: &str) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "10"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed (scripts/install-deps installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_ascii_lowercase(), body.to_owned())
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
        Start::Listening(_) => Ok(()),
        Start::Exited { code, stderr } => {
            assert_eq!(code, Some(2), "{stderr}");
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "one line: {stderr}");
            assert!(lines[0].contains("--web.config.file"), "{stderr}");
            Err(lines[0].to_owned())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The web configuration file

/// Files promtool 2.42 knows every key of: (name, YAML, key the exporter's error must name, or
/// `None` for a good file). Paths are relative to the file, as in the toolkit.
fn promtool_cases(pki: &Pki) -> Vec<(&'static str, String, Option<&'static str>)> {
    let users = format!("basic_auth_users:\n  prometheus: {}\n", hash("s3cret"));
    let tls = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n";
    let _ = pki;
    vec![
        ("empty", String::new(), None),
        ("tls", tls.to_owned(), None),
        (
            "mtls",
            format!(
                "{tls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n"
            ),
            None,
        ),
        ("basic-auth-only", users.clone(), None),
        (
            "everything",
            format!(
                "{tls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  min_version: TLS12\n  max_version: TLS13\n  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n  prefer_server_cipher_suites: true\n  curve_preferences: [X25519, CurveP256]\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n    Content-Security-Policy: default-src 'none'\n    X-XSS-Protection: 1; mode=block\n{users}"
            ),
            None,
        ),
        (
            "request-client-cert",
            format!("{tls}  client_auth_type: RequestClientCert\n"),
            None,
        ),
        (
            "require-any-client-cert",
            format!("{tls}  client_auth_type: RequireAnyClientCert\n"),
            None,
        ),
        (
            "verify-if-given",
            format!("{tls}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n"),
            None,
        ),
        ("tls13-only", format!("{tls}  min_version: TLS13\n"), None),
        (
            "unknown-top-level-key",
            format!("{users}basic_auth:\n  a: b\n"),
            Some("basic_auth"),
        ),
        (
            "unknown-tls-key",
            format!("{tls}  cert_path: server.pem\n"),
            Some("cert_path"),
        ),
        (
            "ca-without-client-auth-type",
            format!("{tls}  client_ca_file: ca.pem\n"),
            Some("tls_server_config.client_ca_file"),
        ),
        (
            "bad-client-auth-type",
            format!("{tls}  client_auth_type: RequireCertificate\n"),
            Some("tls_server_config.client_auth_type"),
        ),
        (
            "missing-cert-file",
            "tls_server_config:\n  cert_file: nowhere.pem\n  key_file: server-key.pem\n".into(),
            Some("tls_server_config.cert_file"),
        ),
        (
            "key-without-cert",
            "tls_server_config:\n  key_file: server-key.pem\n".into(),
            Some("tls_server_config.cert_file"),
        ),
        (
            "key-of-another-certificate",
            "tls_server_config:\n  cert_file: server.pem\n  key_file: client-key.pem\n".into(),
            Some("tls_server_config.key_file"),
        ),
        (
            "password-not-bcrypt",
            "basic_auth_users:\n  prometheus: s3cret\n".into(),
            Some("basic_auth_users.prometheus"),
        ),
        (
            "header-not-allowed",
            "http_server_config:\n  headers:\n    Server: nginx\n".into(),
            Some("http_server_config.headers.Server"),
        ),
        (
            "header-bad-value",
            "http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n".into(),
            Some("http_server_config.headers.X-Frame-Options"),
        ),
        (
            "unknown-tls-version",
            format!("{tls}  min_version: TLS14\n"),
            Some("min_version"),
        ),
        (
            "unknown-cipher",
            format!("{tls}  cipher_suites: [TLS_FANCY_WITH_ROT13]\n"),
            Some("cipher_suites"),
        ),
        (
            "unknown-curve",
            format!("{tls}  curve_preferences: [CurveP999]\n"),
            Some("curve_preferences"),
        ),
        (
            "not-yaml",
            "tls_server_config: [\n".into(),
            Some("web.config.file"),
        ),
        (
            "http2-not-a-bool",
            "http_server_config:\n  http2: 3\n".into(),
            Some("http2"),
        ),
    ]
}

#[test]
fn the_exporter_accepts_exactly_the_files_promtool_accepts() {
    let pki = Pki::new();
    let cases = promtool_cases(&pki);
    assert!(cases.len() >= 15);
    let mut disagreements = Vec::new();
    for (name, yaml, bad_key) in &cases {
        let file = pki.dir.write(&format!("{name}.yml"), yaml);
        let (promtool_ok, promtool_says) = promtool_accepts(&file);
        let exporter = exporter_verdict(&file);
        if promtool_ok != exporter.is_ok() || promtool_ok != bad_key.is_none() {
            disagreements.push(format!(
                "{name}: promtool {promtool_ok} ({}), exporter {exporter:?}, expected good: {}",
                promtool_says.trim(),
                bad_key.is_none()
            ));
            continue;
        }
        if let (Err(line), Some(key)) = (&exporter, bad_key) {
            assert!(line.contains(key), "{name}: {line:?} should name {key}");
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// Keys promtool 2.42 does not know yet (the current documentation has them), and what this
/// exporter refuses although the toolkit takes it because rustls cannot do it.
#[test]
fn newer_keys_and_what_rustls_cannot_do() {
    let pki = Pki::new();
    let tls = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n";
    let indent = |pem: String| pem.trim_end().replace('\n', "\n    ");
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "rate-limit",
            "rate_limit:\n  interval: 1s\n  burst: 10\n".into(),
            None,
        ),
        (
            "rate-limit-off",
            "rate_limit:\n  interval: 0s\n  burst: 0\n".into(),
            None,
        ),
        (
            "allowed-sans",
            format!(
                "{tls}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n  client_allowed_sans: [prometheus.example]\n"
            ),
            None,
        ),
        (
            "inline",
            format!(
                "tls_server_config:\n  cert: |\n    {}\n  key: |\n    {}\n  client_ca: |\n    {}\n  client_auth_type: RequireAndVerifyClientCert\n",
                indent(pki.read("server.pem")),
                indent(pki.read("server-key.pem")),
                indent(pki.read("ca.pem"))
            ),
            None,
        ),
        (
            "rate-limit-bad-interval",
            "rate_limit:\n  interval: often\n".into(),
            Some("rate_limit.interval"),
        ),
        (
            "allowed-sans-without-required-cert",
            format!(
                "{tls}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n  client_allowed_sans: [prometheus.example]\n"
            ),
            Some("tls_server_config.client_allowed_sans"),
        ),
        (
            "cert-and-cert-file",
            format!("{tls}  cert: |\n    {}\n", indent(pki.read("server.pem"))),
            Some("tls_server_config.cert_file"),
        ),
        (
            "tls10",
            format!("{tls}  min_version: TLS10\n"),
            Some("TLS10"),
        ),
        (
            "tls11",
            format!("{tls}  max_version: TLS11\n"),
            Some("TLS11"),
        ),
        (
            "cbc-cipher",
            format!("{tls}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n"),
            Some("tls_server_config.cipher_suites"),
        ),
        (
            "p521",
            format!("{tls}  curve_preferences: [CurveP521]\n"),
            Some("tls_server_config.curve_preferences"),
        ),
        (
            "verify-without-ca",
            format!("{tls}  client_auth_type: RequireAndVerifyClientCert\n"),
            Some("tls_server_config.client_auth_type"),
        ),
    ];
    for (name, yaml, bad) in cases {
        let file = pki.dir.write(&format!("{name}.yml"), &yaml);
        match (exporter_verdict(&file), bad) {
            (Ok(()), None) => {}
            (Err(line), Some(key)) => assert!(line.contains(key), "{name}: {line}"),
            (got, want) => panic!("{name}: got {got:?}, wanted an error naming {want:?}"),
        }
    }
}

/// The YAML blocks of the README's "Securing the endpoint" section, by their first-line comment.
fn readme_blocks() -> Vec<(String, String)> {
    let readme = crate::harness::stack::repo_file("README.md");
    let section = readme
        .split("\n## Securing the endpoint")
        .nth(1)
        .expect("README has a section '## Securing the endpoint'");
    let section = section.split("\n## ").next().unwrap();
    let mut out = Vec::new();
    for block in section.split("```yaml\n").skip(1) {
        let body = block.split("\n```").next().unwrap().to_owned() + "\n";
        let first = body.lines().next().unwrap_or("").to_owned();
        out.push((first, body));
    }
    out
}

#[test]
fn readme_examples_pass_promtool_and_start_the_exporter() {
    let pki = Pki::new();
    // The files the examples name, beside them.
    for (from, to) in [
        ("server.pem", "migration-exporter.crt"),
        ("server-key.pem", "migration-exporter.key"),
        ("ca.pem", "clients-ca.crt"),
        ("ca.pem", "exporter-ca.crt"),
        ("client.pem", "prometheus.crt"),
        ("client-key.pem", "prometheus.key"),
    ] {
        pki.dir.write(to, &pki.read(from));
    }
    pki.dir.write("migration-exporter.password", "s3cret\n");
    let blocks = readme_blocks();
    let web_configs: Vec<_> = blocks
        .iter()
        .filter(|(first, _)| first.starts_with("# web-config.yml"))
        .collect();
    assert!(web_configs.len() >= 2, "{blocks:?}");
    for (i, (first, yaml)) in web_configs.iter().enumerate() {
        let file = pki.dir.write(&format!("readme-{i}.yml"), yaml);
        if !first.contains("newer than promtool 2.42") {
            let (ok, says) = promtool_accepts(&file);
            assert!(ok, "promtool rejects README example {first}: {says}");
        }
        assert_eq!(exporter_verdict(&file), Ok(()), "README example {first}");
        // The example's hash is the password the text says.
        if let Some(hash) = yaml
            .lines()
            .find_map(|l| l.trim().strip_prefix("prometheus: $2"))
        {
            assert!(bcrypt::verify("s3cret", &format!("$2{hash}")).unwrap());
        }
    }
    let scrape: Vec<_> = blocks
        .iter()
        .filter(|(first, _)| first.starts_with("# prometheus.yml"))
        .collect();
    assert_eq!(scrape.len(), 1, "one Prometheus example");
    let file = pki.dir.write("prometheus.yml", &scrape[0].1);
    let out = Command::new("promtool")
        .args(["check", "config", "--syntax-only"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// TLS, client certificates and basic auth with real clients

fn mtls_auth_config(pki: &Pki, extra: &str) -> PathBuf {
    pki.dir.write(
        "mtls-auth.yml",
        &format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n  prometheus: {}\n{extra}",
            hash("s3cret")
        ),
    )
}

#[test]
fn curl_sees_status_codes_and_headers() {
    let pki = Pki::new();
    let file = mtls_auth_config(&pki, "");
    let exporter = start_ok(&["--web.config.file", &file.display().to_string()]);
    let port = exporter.port();
    let (cert, key) = (pki.path("client.pem"), pki.path("client-key.pem"));
    let client = ["--cert", cert.as_str(), "--key", key.as_str()];
    fn with<'a>(client: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = client.to_vec();
        a.extend_from_slice(extra);
        a
    }

    // Right password: 200, the configured headers, gzip when asked, HTTP/2 by ALPN.
    let (code, head, body) = curl_tls(
        &pki,
        port,
        "/metrics",
        &with(&client, &["-u", "prometheus:s3cret", "--compressed"]),
    );
    assert_eq!(code, 200, "{head}");
    assert!(head.starts_with("http/2 200"), "{head}");
    assert!(head.contains("x-frame-options: deny"), "{head}");
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(body.contains("migration_exporter_build_info"), "{body}");
    let (_, head, _) = curl_tls(
        &pki,
        port,
        "/metrics",
        &with(&client, &["-u", "prometheus:s3cret"]),
    );
    assert!(!head.contains("content-encoding"), "{head}");

    // Wrong or missing password: 401 with WWW-Authenticate, on every path.
    for path in ["/metrics", "/-/healthy", "/-/ready", "/"] {
        let (code, head, _) = curl_tls(
            &pki,
            port,
            path,
            &with(&client, &["-u", "prometheus:wrong"]),
        );
        assert_eq!(code, 401, "{path}: {head}");
        assert!(head.contains("www-authenticate: basic"), "{head}");
        assert!(head.contains("x-frame-options: deny"), "{head}");
        let (code, _, _) = curl_tls(&pki, port, path, &client);
        assert_eq!(code, 401, "{path}");
    }
    let (code, _, _) = curl_tls(
        &pki,
        port,
        "/metrics",
        &with(&client, &["-u", "nobody:s3cret"]),
    );
    assert_eq!(code, 401);

    // No client certificate, or one from another CA: no TLS session at all.
    let (code, _, _) = curl_tls(&pki, port, "/metrics", &["-u", "prometheus:s3cret"]);
    assert_eq!(code, 0);
    let (scert, skey) = (pki.path("stranger.pem"), pki.path("stranger-key.pem"));
    let (code, _, _) = curl_tls(
        &pki,
        port,
        "/metrics",
        &["--cert", &scert, "--key", &skey, "-u", "prometheus:s3cret"],
    );
    assert_eq!(code, 0);
    // Plain HTTP to the TLS port is not served.
    let (code, _, _) = curl(&[], &format!("http://127.0.0.1:{port}/metrics"));
    assert_ne!(code, 200);
    assert!(exporter.count("message=\"TLS handshake failed\"") >= 1);
    assert!(exporter.count("message=\"basic auth failed\"") >= 1);
}

#[test]
fn idle_tls_connections_are_closed_after_the_read_header_timeout() {
    let pki = Pki::new();
    let file = pki.dir.write(
        "idle.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n",
    );
    let exporter = start_ok(&[
        "--web.config.file",
        &file.display().to_string(),
        "--web.read-header-timeout",
        "1s",
    ]);
    // One client negotiates HTTP/2, one HTTP/1.1; both finish the handshake and then say nothing.
    for alpn in ["h2", "http/1.1"] {
        let started = Instant::now();
        let mut client = Command::new("openssl")
            .args([
                "s_client",
                "-quiet",
                "-alpn",
                alpn,
                "-connect",
                &exporter.addr,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl is installed");
        let closed = loop {
            if client.try_wait().unwrap().is_some() {
                break true;
            }
            if started.elapsed() > Duration::from_secs(6) {
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = client.kill();
        let _ = client.wait();
        assert!(closed, "{alpn}: an idle connection was kept open");
        assert!(started.elapsed() >= Duration::from_millis(900), "{alpn}");
    }
}

#[test]
fn http2_off_serves_http1_only() {
    let pki = Pki::new();
    let file = pki.dir.write(
        "h1.yml",
        "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\nhttp_server_config:\n  http2: false\n",
    );
    let exporter = start_ok(&["--web.config.file", &file.display().to_string()]);
    let (code, head, _) = curl_tls(&pki, exporter.port(), "/-/healthy", &["--http2"]);
    assert_eq!(code, 200);
    assert!(head.starts_with("http/1.1 200"), "{head}");
}

#[test]
fn client_allowed_sans_and_inline_certificates() {
    let pki = Pki::new();
    let indent = |pem: String| pem.trim_end().replace('\n', "\n    ");
    let file = pki.dir.write(
        "sans.yml",
        &format!(
            "tls_server_config:\n  cert: |\n    {}\n  key: |\n    {}\n  client_ca: |\n    {}\n  client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [prometheus.example]\n",
            indent(pki.read("server.pem")),
            indent(pki.read("server-key.pem")),
            indent(pki.read("ca.pem"))
        ),
    );
    let exporter = start_ok(&["--web.config.file", &file.display().to_string()]);
    let port = exporter.port();
    let (c, k) = (pki.path("client.pem"), pki.path("client-key.pem"));
    let (code, _, _) = curl_tls(&pki, port, "/-/healthy", &["--cert", &c, "--key", &k]);
    assert_eq!(code, 200);
    // Same CA, SAN not on the list.
    let (c, k) = (pki.path("intruder.pem"), pki.path("intruder-key.pem"));
    let (code, _, _) = curl_tls(&pki, port, "/-/healthy", &["--cert", &c, "--key", &k]);
    assert_eq!(code, 0);
    wait_for("the SAN refusal logged", Duration::from_secs(5), || {
        exporter
            .log()
            .iter()
            .any(|l| l.contains("TLS handshake failed") && l.contains("client_allowed_sans"))
            .then_some(())
            .ok_or_else(|| format!("{:?}", exporter.log()))
    });
}

#[test]
fn client_auth_types_keep_go_meanings() {
    let pki = Pki::new();
    let (c, k) = (pki.path("client.pem"), pki.path("client-key.pem"));
    let (s, sk) = (pki.path("stranger.pem"), pki.path("stranger-key.pem"));
    let none: &[&str] = &[];
    let trusted: &[&str] = &["--cert", &c, "--key", &k];
    let stranger: &[&str] = &["--cert", &s, "--key", &sk];
    // (type, needs the CA, served without a cert, with a trusted cert, with another CA's cert)
    for (kind, ca, without, with_trusted, with_stranger) in [
        ("NoClientCert", false, true, true, true),
        ("RequestClientCert", false, true, true, true),
        ("RequireAnyClientCert", false, false, true, true),
        ("VerifyClientCertIfGiven", true, true, true, false),
        ("RequireAndVerifyClientCert", true, false, true, false),
    ] {
        let file = pki.dir.write(
            &format!("{kind}.yml"),
            &format!(
                "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  client_auth_type: {kind}\n{}",
                if ca { "  client_ca_file: ca.pem\n" } else { "" }
            ),
        );
        let exporter = start_ok(&["--web.config.file", &file.display().to_string()]);
        for (args, want) in [
            (none, without),
            (trusted, with_trusted),
            (stranger, with_stranger),
        ] {
            let (code, _, _) = curl_tls(&pki, exporter.port(), "/-/healthy", args);
            assert_eq!(code == 200, want, "{kind} with {args:?}: {code}");
        }
    }
}

#[test]
fn rate_limit_answers_429_beyond_the_burst() {
    let file = Scratch::new("web-rate");
    let path = file.write("web.yml", "rate_limit:\n  interval: 1m\n  burst: 3\n");
    let exporter = start_ok(&["--web.config.file", &path.display().to_string()]);
    let url = format!("http://{}/-/healthy", exporter.addr);
    let codes: Vec<u16> = (0..5).map(|_| curl(&[], &url).0).collect();
    assert_eq!(codes, vec![200, 200, 200, 429, 429]);
}

#[test]
fn certificates_rotate_without_restart_and_a_broken_file_keeps_the_old_config() {
    let pki = Pki::new();
    let file = pki.dir.write(
        "rotate.yml",
        "tls_server_config:\n  cert_file: live.pem\n  key_file: server-key.pem\n",
    );
    pki.dir.write("live.pem", &pki.read("server.pem"));
    let exporter = start_ok(&[
        "--web.config.file",
        &file.display().to_string(),
        "--web.config.reload-interval",
        "200ms",
    ]);
    let port = exporter.port();
    let subject = || {
        let out = Command::new("curl")
            .args(["-sv", "--max-time", "5", "-o", "/dev/null", "--cacert"])
            .arg(pki.path("ca.pem"))
            .arg(format!("https://127.0.0.1:{port}/-/healthy"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        err.lines()
            .find(|l| l.contains("subject:"))
            .unwrap_or("")
            .to_owned()
    };
    assert!(subject().contains("CN=original"), "{}", subject());
    // The renewed certificate replaces the file in one rename, as certificate tools do.
    let tmp = pki
        .dir
        .write("live.pem.tmp", &pki.read("server-renewed.pem"));
    std::fs::rename(tmp, pki.dir.path.join("live.pem")).unwrap();
    wait_for(
        "the renewed certificate served",
        Duration::from_secs(5),
        || {
            let s = subject();
            s.contains("CN=renewed").then_some(()).ok_or(s)
        },
    );
    assert_eq!(exporter.count("web configuration reloaded"), 1);

    // A file that does not parse: one error line, the previous configuration stays. (Only the web
    // side's lines count: the refresh loop, with no DynamoDB here, logs its own error.)
    let tmp = pki.dir.write("rotate.yml.tmp", "tls_server_config: [\n");
    std::fs::rename(tmp, &file).unwrap();
    wait_for("the reload error logged", Duration::from_secs(5), || {
        (exporter.count("web configuration not reloaded") == 1)
            .then_some(())
            .ok_or_else(|| format!("{:?}", exporter.log()))
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        exporter.count("web configuration not reloaded"),
        1,
        "{:?}",
        exporter.log()
    );
    assert!(subject().contains("CN=renewed"));
    // A certificate that does not load keeps the old one too.
    let tmp = pki.dir.write(
        "rotate.yml.tmp",
        "tls_server_config:\n  cert_file: live.pem\n  key_file: client-key.pem\n",
    );
    std::fs::rename(tmp, &file).unwrap();
    wait_for("the key error logged", Duration::from_secs(5), || {
        (exporter.count("web configuration not reloaded") == 2)
            .then_some(())
            .ok_or_else(|| format!("{:?}", exporter.log()))
    });
    assert!(
        exporter
            .log()
            .iter()
            .any(|l| l.contains("level=error") && l.contains("key_file"))
    );
    assert!(subject().contains("CN=renewed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_over_tls_with_client_certificates_and_basic_auth() {
    let pki = Pki::new();
    let table = crate::harness::new_table("web-prom").await;
    let now = migration_core::model::Timestamp::now();
    let items = (0..5)
        .map(|i| {
            migration_core::table::item::encode(&crate::harness::record(
                "did:mailto:example.com:owner",
                &format!("did:key:z6MkWeb{i}"),
                migration_core::model::Status::Completed,
                "1",
                "1",
                10,
                10,
                now,
            ))
        })
        .collect();
    table.put_items(items).await.unwrap();
    let file = mtls_auth_config(&pki, "");
    let endpoint = crate::harness::dynamodb_local().endpoint.clone();
    let exporter = match start(
        &[
            "--web.config.file",
            &file.display().to_string(),
            "--refresh.interval",
            "1s",
        ],
        Some(&endpoint),
        table.name(),
    ) {
        Start::Listening(p) => p,
        Start::Exited { stderr, .. } => panic!("{stderr}"),
    };
    let target = format!("127.0.0.1:{}", exporter.port());
    let job = |name: &str, cert: bool, password: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    tls_config:\n      ca_file: {ca}\n      server_name: localhost\n{cert}    basic_auth:\n      username: prometheus\n      password: {password}\n    static_configs:\n      - targets: ['{target}']\n",
            ca = pki.path("ca.pem"),
            cert = if cert {
                format!(
                    "      cert_file: {}\n      key_file: {}\n",
                    pki.path("client.pem"),
                    pki.path("client-key.pem")
                )
            } else {
                String::new()
            },
        )
    };
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}",
        job("good", true, "s3cret"),
        job("wrong-password", true, "guess"),
        job("no-client-cert", false, "s3cret"),
    );
    let prometheus = Prometheus::start(&config, &[]);
    wait_for("up for the three jobs", Duration::from_secs(30), || {
        let up = |job: &str| prometheus.value(&format!("up{{job=\"{job}\"}}"));
        match (up("good"), up("wrong-password"), up("no-client-cert")) {
            (Some(1.0), Some(0.0), Some(0.0)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    wait_for(
        "table data through TLS",
        Duration::from_secs(30),
        || match prometheus.value("sum(migration_spaces{job=\"good\",status=\"completed\"})") {
            Some(5.0) => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    let log = exporter.log();
    assert!(
        log.iter()
            .any(|l| l.contains("basic auth failed") && l.contains("reason=\"wrong password\"")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("TLS handshake failed")
            && l.contains("remote=127.0.0.1")
            && l.to_ascii_lowercase().contains("certificate")),
        "{log:?}"
    );
    drop(prometheus);
}

// ---------------------------------------------------------------------------------------------
// Hostile clients, against web::serve in this process

fn test_router() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { "ok" }).post(|body: String| async move { body }),
        )
        .route("/big", get(|| async { "metric_line 1\n".repeat(10_000) }))
        .route(
            "/slow",
            get(|| async {
                // 20 chunks of 1 KiB, one every 100 ms: a 2 s response.
                let chunks = futures_util::stream::unfold(0u32, |i| async move {
                    if i == 20 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((Ok::<_, std::io::Error>(vec![b'x'; 1024]), i + 1))
                });
                axum::body::Body::from_stream(chunks)
            }),
        )
}

struct Running {
    addrs: Vec<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), web::WebError>>,
}

impl Running {
    fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }
    /// Triggers shutdown; returns how long `serve` took to return.
    async fn shutdown(mut self) -> Duration {
        let started = Instant::now();
        let _ = self.stop.take().unwrap().send(());
        self.done.await.unwrap().unwrap();
        started.elapsed()
    }
}

fn settings(tune: impl FnOnce(&mut WebSettings)) -> WebSettings {
    let mut s = WebSettings::plain(vec!["127.0.0.1:0".parse().unwrap()]);
    tune(&mut s);
    s
}

fn run(settings: WebSettings) -> Running {
    let server = WebServer::bind(settings).unwrap();
    let addrs = server.local_addrs();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.serve(test_router(), async move {
        let _ = rx.await;
    }));
    Running {
        addrs,
        stop: Some(tx),
        done,
    }
}

/// Sends `raw` and reads until the server closes (or `within`): the bytes read.
async fn exchange(addr: SocketAddr, raw: &[u8], within: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(within, s.read_to_end(&mut out)).await;
    out
}

fn status(raw: &[u8]) -> u16 {
    String::from_utf8_lossy(raw)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

/// Reads one `ok` response from a keep-alive connection.
async fn keep_alive_get(s: &mut TcpStream, within: Duration) -> bool {
    if s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !got.ends_with(b"\r\n\r\nok") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    tokio::time::timeout(within, read).await.unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_sent_head_is_closed_and_others_are_served() {
    let server = run(settings(|s| {
        s.read_header_timeout = Duration::from_millis(500)
    }));
    let mut half = TcpStream::connect(server.addr()).await.unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        status(&exchange(server.addr(), GET, Duration::from_secs(2)).await),
        200
    );
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(3), half.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the half-sent request was not closed");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    // An idle connection that never sends a byte is closed the same way.
    let mut idle = TcpStream::connect(server.addr()).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(3), idle.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the silent connection was not closed");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_max_connections_new_ones_wait_and_open_ones_are_served() {
    let server = run(settings(|s| {
        s.max_connections = 2;
        s.read_header_timeout = Duration::from_millis(1500);
    }));
    let addr = server.addr();
    let mut scrape = TcpStream::connect(addr).await.unwrap();
    assert!(keep_alive_get(&mut scrape, Duration::from_secs(2)).await);
    let mut hog = TcpStream::connect(addr).await.unwrap();
    hog.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Third connection: accepted by the kernel, not served while two are open.
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let got = exchange(addr, GET, Duration::from_secs(5)).await;
        (status(&got), started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "served beyond --web.max-connections"
    );
    // The open scrape connection is not starved.
    assert!(keep_alive_get(&mut scrape, Duration::from_millis(500)).await);
    // Once the hog is timed out, the waiting one is served.
    let (code, waited) = waiting.await.unwrap();
    assert_eq!(code, 200);
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_and_heads_get_4xx_and_the_server_goes_on() {
    let server = run(settings(|s| {
        s.max_request_bytes = 1024;
        s.max_header_bytes = 8192;
    }));
    let addr = server.addr();
    let small =
        b"POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello";
    let got = exchange(addr, small, Duration::from_secs(2)).await;
    assert_eq!(status(&got), 200);
    assert!(got.ends_with(b"hello"));
    let mut big =
        b"POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 100000\r\n\r\n"
            .to_vec();
    big.extend(vec![b'x'; 100_000]);
    assert_eq!(
        status(&exchange(addr, &big, Duration::from_secs(2)).await),
        413
    );
    let mut chunked =
        b"POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..10 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend(vec![b'y'; 1024]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(
        status(&exchange(addr, &chunked, Duration::from_secs(2)).await),
        413
    );
    let head = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "z".repeat(20_000)
    );
    assert_eq!(
        status(&exchange(addr, head.as_bytes(), Duration::from_secs(2)).await),
        431
    );
    assert_eq!(
        status(&exchange(addr, GET, Duration::from_secs(2)).await),
        200
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_finishes_open_responses_within_the_bound() {
    let server = run(settings(|s| s.shutdown_timeout = Duration::from_secs(4)));
    let addr = server.addr();
    let slow = tokio::spawn(exchange(
        addr,
        b"GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        Duration::from_secs(10),
    ));
    // Connections that hold on: idle keep-alive and half-sent.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    assert!(keep_alive_get(&mut idle, Duration::from_secs(2)).await);
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let took = server.shutdown().await;
    let body = slow.await.unwrap();
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status(&body), 200);
    assert_eq!(
        text.matches('x').count(),
        20 * 1024,
        "the response in flight was cut"
    );
    assert!(took < Duration::from_secs(4), "shutdown took {took:?}");
    // New connections are refused once serve returned.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_never_waits_past_its_timeout() {
    let server = run(settings(|s| {
        s.shutdown_timeout = Duration::from_millis(600)
    }));
    let addr = server.addr();
    let slow = tokio::spawn(exchange(
        addr,
        b"GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        Duration::from_secs(10),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let took = server.shutdown().await;
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    let body = slow.await.unwrap();
    assert!(String::from_utf8_lossy(&body).matches('x').count() < 20 * 1024);
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_when_the_client_accepts_it() {
    let server = run(settings(|_| {}));
    let addr = server.addr();
    let gz = exchange(
        addr,
        b"GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    let head = String::from_utf8_lossy(&gz).to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip"), "{head:.300}");
    assert!(gz.len() < 10_000, "{}", gz.len());
    let plain = exchange(
        addr,
        b"GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(
        !String::from_utf8_lossy(&plain)
            .to_ascii_lowercase()
            .contains("content-encoding")
    );
    assert!(plain.len() > 140_000);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listens_on_ipv4_and_ipv6_on_one_port() {
    let port = crate::harness::free_port();
    let server = run(settings(|s| {
        s.listen_addresses = vec![
            format!("127.0.0.1:{port}").parse().unwrap(),
            format!("[::1]:{port}").parse().unwrap(),
        ]
    }));
    assert_eq!(server.addrs.len(), 2);
    for addr in server.addrs.clone() {
        assert_eq!(
            status(&exchange(addr, GET, Duration::from_secs(2)).await),
            200,
            "{addr}"
        );
    }
    server.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// The binary

#[test]
fn sigterm_exits_within_the_shutdown_timeout_while_clients_hold_connections() {
    let mut exporter = start_ok(&[
        "--web.shutdown-timeout",
        "2s",
        "--web.read-header-timeout",
        "1m",
    ]);
    let addr: SocketAddr = exporter.addr.parse().unwrap();
    use std::io::{Read, Write};
    let mut idle = std::net::TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 512];
    let _ = idle.read(&mut buf).unwrap();
    let mut half = std::net::TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nX-Never: ")
        .unwrap();
    let _silent = std::net::TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (status, took) = exporter.terminate(Duration::from_secs(6));
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn several_listen_addresses_and_env_fallbacks() {
    let (a, b) = (crate::harness::free_port(), crate::harness::free_port());
    let a_addr = format!("127.0.0.1:{a}");
    let b_addr = format!("[::1]:{b}");
    let exporter = start_ok(&[
        "--web.listen-address",
        &a_addr,
        "--web.listen-address",
        &b_addr,
    ]);
    assert_eq!(exporter.count("message=listening"), 2);
    assert_eq!(curl(&[], &format!("http://{a_addr}/-/healthy")).0, 200);
    assert_eq!(curl(&[], &format!("http://{b_addr}/-/healthy")).0, 200);
    // The environment stands in for flags, and a bad value there is one line, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_migration-exporter"))
        .env("MIGRATION_EXPORTER_WEB_SHUTDOWN_TIMEOUT", "whenever")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--web.shutdown-timeout"), "{stderr}");
}
