//! The web configuration file: the exporter accepts exactly the files promtool accepts, the keys
//! newer than promtool 2.42 work, and the README's examples pass both.

use std::process::Command;

use super::{Pki, exporter_verdict, hash, promtool_accepts};

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
        // As in the toolkit, whose SAN check then also refuses a client without a certificate.
        (
            "allowed-sans-verify-if-given",
            format!(
                "{tls}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n  client_allowed_sans: [prometheus.example]\n"
            ),
            None,
        ),
        // The toolkit would ignore the list and serve every client.
        (
            "allowed-sans-without-client-certs",
            format!("{tls}  client_allowed_sans: [prometheus.example]\n"),
            Some("tls_server_config.client_allowed_sans"),
        ),
        // As in the toolkit, the file wins; the inline value is named in a warning.
        (
            "cert-and-cert-file",
            format!("{tls}  cert: |\n    {}\n", indent(pki.read("server.pem"))),
            None,
        ),
        // rustls offers neither TLS 1.0 nor 1.1: served from TLS 1.2, with a warning.
        ("tls10", format!("{tls}  min_version: TLS10\n"), None),
        (
            "tls11",
            format!("{tls}  max_version: TLS11\n"),
            Some("TLS11"),
        ),
        // rustls has no CBC suite: TLS 1.2 is left out, TLS 1.3 served, with a warning.
        (
            "cbc-cipher",
            format!(
                "{tls}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\nhttp_server_config:\n  http2: false\n"
            ),
            None,
        ),
        // Go's HTTP/2 server refuses to start without its TLS 1.2 suite in the list (promtool
        // does not check it).
        (
            "cbc-cipher-with-http2",
            format!("{tls}  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n"),
            Some("tls_server_config.cipher_suites"),
        ),
        (
            "cbc-cipher-tls12-only",
            format!(
                "{tls}  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n"
            ),
            Some("tls_server_config.cipher_suites"),
        ),
        (
            "p521-among-others",
            format!("{tls}  curve_preferences: [CurveP521, X25519]\n"),
            None,
        ),
        (
            "p521",
            format!("{tls}  curve_preferences: [CurveP521]\n"),
            Some("tls_server_config.curve_preferences"),
        ),
        // As in Go: verified against the system's trust store.
        (
            "verify-without-ca",
            format!("{tls}  client_auth_type: RequireAndVerifyClientCert\n"),
            None,
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
