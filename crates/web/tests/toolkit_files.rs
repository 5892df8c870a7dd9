//! Parity with exporter-toolkit on its own test files: every YAML file of its `web/testdata`
//! (vendored in `toolkit-testdata/`, see its README) is loaded with
//! [`exporter_web::check_config_file`], and this crate must accept or refuse it as the toolkit
//! does, except for the short list of [`KNOWN_DIFFERENCES`], each with its reason.
//!
//! The table mirrors `web/tls_config_test.go`. "Accepts" means the toolkit loads the file and
//! starts serving with it: in `TestServerBehaviour`, `TestUsers` and `TestConfigReloading` an
//! expected error that a client's request meets (a handshake failure, 401, 429) still means the
//! file was accepted; an error `ListenAndServe` returns before serving (a bad header, HTTP/2
//! without its cipher) means it was refused. Verifying client certificates without a client CA
//! uses the system's trust store, as Go does, so these tests need one (`ca-certificates`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What the toolkit does with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Toolkit {
    Accepts,
    Refuses,
}

use Toolkit::{Accepts, Refuses};

/// One file and the toolkit's outcome, with the Go test (and case) that says so.
struct Case {
    file: &'static str,
    toolkit: Toolkit,
    source: &'static str,
}

const fn case(file: &'static str, toolkit: Toolkit, source: &'static str) -> Case {
    Case {
        file,
        toolkit,
        source,
    }
}

/// Every case of `tls_config_test.go` that names a file, in its order, then the two files no
/// test names (their outcome read from `tls_config.go`).
#[rustfmt::skip]
const CASES: &[Case] = &[
    // TestYAMLFiles: `ListenAndServe` and `Validate` must both give the expected error.
    case("somefile", Refuses, "TestYAMLFiles: path to config yml invalid"),
    case("web_config_empty.yml", Accepts, "TestYAMLFiles: empty config yml"),
    case("web_config_junk.yml", Refuses, "TestYAMLFiles: invalid structure"),
    case("web_config_junk_key.yml", Refuses, "TestYAMLFiles: invalid key"),
    case("web_config_noAuth_certPath_empty.bad.yml", Refuses, "TestYAMLFiles: cert path empty"),
    case("web_config_noAuth_cert_empty.bad.yml", Refuses, "TestYAMLFiles: cert empty"),
    case("web_config_noAuth_keyPath_empty.bad.yml", Refuses, "TestYAMLFiles: key path empty"),
    case("web_config_noAuth_key_empty.bad.yml", Refuses, "TestYAMLFiles: key empty"),
    case("web_config_noAuth_certPath_keyPath_empty.bad.yml", Refuses, "TestYAMLFiles: cert path and key path empty"),
    case("web_config_noAuth_certPath_invalid.bad.yml", Refuses, "TestYAMLFiles: cert path invalid"),
    case("web_config_noAuth_keyPath_invalid.bad.yml", Refuses, "TestYAMLFiles: key path invalid"),
    case("web_config_noAuth_certPath_keyPath_invalid.bad.yml", Refuses, "TestYAMLFiles: cert path and key path invalid"),
    case("web_config_noAuth.bad.yml", Refuses, "TestYAMLFiles: ClientCA set without policy"),
    case("web_config_auth_clientCAs_invalid.bad.yml", Refuses, "TestYAMLFiles: invalid ClientCAs filepath"),
    case("web_config_auth_user_list_invalid.bad.yml", Refuses, "TestYAMLFiles: invalid user list"),
    case("web_config_noAuth_inventedCiphers.bad.yml", Refuses, "TestYAMLFiles: bad cipher"),
    case("web_config_noAuth_inventedCurves.bad.yml", Refuses, "TestYAMLFiles: bad curves"),
    case("web_config_noAuth_wrongTLSVersion.bad.yml", Refuses, "TestYAMLFiles: bad TLS version"),
    // TestServerBehaviour: the server starts unless the error comes from ListenAndServe.
    case("web_config_noAuth.good.yml", Accepts, "TestServerBehaviour: valid tls config yml"),
    case("web_config_noAuth_tlsInline.good.yml", Accepts, "TestServerBehaviour: cert and key inline"),
    case("web_config_noAuth_allCiphers.good.yml", Accepts, "TestServerBehaviour: all ciphers"),
    case("web_config_noAuth_someCiphers.good.yml", Accepts, "TestServerBehaviour: some ciphers"),
    case("web_config_noAuth_someCiphers_noOrder.good.yml", Accepts, "TestServerBehaviour: client chooses cipher"),
    case("web_config_noAuth_allCurves.good.yml", Accepts, "TestServerBehaviour: all curves"),
    case("web_config_noAuth_someCurves.good.yml", Accepts, "TestServerBehaviour: some curves"),
    case("web_config_noAuth_noHTTP2.good.yml", Accepts, "TestServerBehaviour: non-http2 ciphers"),
    case("web_config_noAuth_noHTTP2Cipher.bad.yml", Refuses, "TestServerBehaviour: non-http2 ciphers but http2 enabled (No HTTP2 cipher, at start)"),
    case("web_config_headers.good.yml", Accepts, "TestServerBehaviour: valid headers config"),
    case("web_config_headers_content_type_options.bad.yml", Refuses, "TestServerBehaviour: invalid X-Content-Type-Options"),
    case("web_config_headers_frame_options.bad.yml", Refuses, "TestServerBehaviour: invalid X-Frame-Options"),
    case("web_config_headers_extra_header.bad.yml", Refuses, "TestServerBehaviour: header that can not be overridden"),
    case("tls_config_noAuth.requireanyclientcert.good.yml", Accepts, "TestServerBehaviour: RequireAnyClientCert"),
    case("tls_config_noAuth.requireandverifyclientcert.good.yml", Accepts, "TestServerBehaviour: RequireAndVerifyClientCert"),
    case("web_config_auth_client_san.good.yaml", Accepts, "TestServerBehaviour: good SAN"),
    case("web_config_auth_client_san.bad.yaml", Accepts, "TestServerBehaviour: invalid SAN (the handshake fails, the file loads)"),
    case("web_config_rate_limiter_nonblocking.yaml", Accepts, "TestServerBehaviour: no rate limiter"),
    case("web_config_rate_limiter_one_second.yaml", Accepts, "TestServerBehaviour: rate limiter of one second (429 to the client)"),
    // TestConfigReloading starts the server with the blocking file (clients without a
    // certificate are refused), then swaps in the good one.
    case("web_config_noAuth.good.blocking.yml", Accepts, "TestConfigReloading: the file it starts with"),
    // TestUsers.
    case("web_config_users_noTLS.good.yml", Accepts, "TestUsers: basic auth without TLS"),
    case("web_config_users.good.yml", Accepts, "TestUsers: basic auth and TLS"),
    // Named by no test: ConfigToTLSConfig reads a file's cert and an inline key, and verifies
    // client certificates against the system roots when no client CA is set.
    case("tls_config_noAuth.requireanyclientcertkeyinline.good.yml", Accepts, "tls_config.go: cert_file and inline key"),
    case("web_config_auth_clientCAs_missing.bad.yml", Accepts, "tls_config.go: RequireAndVerifyClientCert without a CA (system roots)"),
];

/// Files whose outcome here differs from the toolkit's, and why. Keep it short: fix the code
/// instead where rustls allows it.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "web_config_noAuth_someCurves.good.yml",
    "its one curve, CurveP521, cannot be offered by rustls with ring, so no key exchange is left (Go serves the clients that offer P-521)",
)];

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/toolkit-testdata")
}

/// Our outcome for `file`: accepted, or the refusal's one line.
fn ours(file: &str) -> Result<(), String> {
    exporter_web::check_config_file(&testdata().join(file)).map_err(|e| e.to_string())
}

fn known_difference(file: &str) -> Option<&'static str> {
    KNOWN_DIFFERENCES
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, why)| *why)
}

#[test]
fn every_toolkit_file_is_accepted_or_refused_as_in_the_toolkit() {
    let mut mismatches = Vec::new();
    println!("{:<58} {:<8} {:<8} note", "file", "toolkit", "here");
    for c in CASES {
        let here = ours(c.file);
        let agrees = here.is_ok() == (c.toolkit == Accepts);
        let note = match (&here, agrees, known_difference(c.file)) {
            (_, false, Some(why)) => match &here {
                Err(line) => format!("known difference: {why} | {line}"),
                Ok(()) => format!("known difference: {why}"),
            },
            (_, false, None) => {
                mismatches.push(format!("{} ({}): {:?}", c.file, c.source, here));
                "MISMATCH".to_owned()
            }
            (Err(line), true, _) => line.clone(),
            (Ok(()), true, _) => String::new(),
        };
        let word = |ok: bool| if ok { "accepts" } else { "refuses" };
        println!(
            "{:<58} {:<8} {:<8} {note}",
            c.file,
            word(c.toolkit == Accepts),
            word(here.is_ok())
        );
    }
    assert!(
        mismatches.is_empty(),
        "outcomes that differ from the toolkit's and are not known differences:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn known_differences_are_not_stale() {
    for (file, why) in KNOWN_DIFFERENCES {
        let c = CASES
            .iter()
            .find(|c| c.file == *file)
            .unwrap_or_else(|| panic!("known difference {file} is not in the table"));
        let here = ours(file);
        assert_ne!(
            here.is_ok(),
            c.toolkit == Accepts,
            "{file} now agrees with the toolkit ({here:?}): remove it from KNOWN_DIFFERENCES ({why})"
        );
    }
}

#[test]
fn the_table_has_every_vendored_yaml_file_once() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(testdata())
        .expect("the vendored test data")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .collect();
    let mut in_table = BTreeSet::new();
    for c in CASES {
        assert!(
            in_table.insert(c.file.to_owned()),
            "{} twice in the table",
            c.file
        );
    }
    in_table.remove("somefile");
    assert_eq!(
        on_disk, in_table,
        "vendored YAML files and the table differ"
    );
}
