//! TLS, client certificates, basic auth, the rate limit and certificate rotation, seen by real
//! clients (curl, openssl) against the binary.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Pki, curl, curl_tls, hash, start_ok, tls_file};
use crate::harness::stack::Scratch;
use crate::harness::wait_for;

pub(super) fn mtls_auth_config(pki: &Pki, extra: &str) -> PathBuf {
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
    let file = tls_file(&pki, "idle.yml", "");
    let exporter = start_ok(&[
        "--web.config.file",
        &file,
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
    let file = tls_file(&pki, "h1.yml", "http_server_config:\n  http2: false\n");
    let exporter = start_ok(&["--web.config.file", &file]);
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
            .log_lines()
            .iter()
            .any(|l| l.contains("TLS handshake failed") && l.contains("client_allowed_sans"))
            .then_some(())
            .ok_or_else(|| format!("{:?}", exporter.log_lines()))
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
        let ca = if ca { "  client_ca_file: ca.pem\n" } else { "" };
        let file = tls_file(
            &pki,
            &format!("{kind}.yml"),
            &format!("  client_auth_type: {kind}\n{ca}"),
        );
        let exporter = start_ok(&["--web.config.file", &file]);
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
            .ok_or_else(|| format!("{:?}", exporter.log_lines()))
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        exporter.count("web configuration not reloaded"),
        1,
        "{:?}",
        exporter.log_lines()
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
            .ok_or_else(|| format!("{:?}", exporter.log_lines()))
    });
    assert!(
        exporter
            .log_lines()
            .iter()
            .any(|l| l.contains("level=error") && l.contains("key_file"))
    );
    assert!(subject().contains("CN=renewed"));
}
