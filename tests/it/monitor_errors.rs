//! The `migration-monitor` binary on bad input and failures: bad flags are one line with exit
//! code 2, DynamoDB problems one line with exit code 1, and Ctrl-C stops a read in flight.

use crate::monitor::seed_table;
use std::process::{Command, Output};
use std::time::Duration;

/// The run failed with `code` and one line on stderr containing `needle`.
fn assert_one_line(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err}");
}

#[test]
fn bad_input_is_one_line_with_exit_2() {
    for (args, needle) in [
        (vec!["--space", "did:key:z6Mk"], "--customer"),
        (vec!["--customer", "alice@example.com"], "--customer"),
        (vec!["--stuck-after", "soon"], "--stuck-after"),
        (vec!["--interval", "0s"], "--interval"),
        (vec!["--failed", "--stuck"], "--stuck"),
        (vec!["--bogus"], "--bogus"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_migration-monitor"))
            .args(&args)
            .output()
            .unwrap();
        assert_one_line(&out, 2, needle);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_problems_are_one_line_with_exit_1() {
    let out = crate::harness::monitor("no-such-table", &["--failed"]);
    assert_one_line(&out, 1, "table no-such-table not found");

    let closed = format!("http://127.0.0.1:{}", crate::harness::free_port());
    let out = Command::new(env!("CARGO_BIN_EXE_migration-monitor"))
        .args(["--dynamodb.endpoint-url", &closed, "--failed"])
        .env("AWS_ACCESS_KEY_ID", crate::harness::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", crate::harness::SECRET_KEY)
        .env("AWS_REGION", crate::harness::REGION)
        .output()
        .unwrap();
    assert_one_line(&out, 1, "cannot reach DynamoDB");

    // No credentials anywhere (and no instance metadata to ask): one line naming the fix.
    let no_home = std::env::temp_dir().join(format!("no-home-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_migration-monitor"))
        .args([
            "--dynamodb.endpoint-url",
            &crate::harness::dynamodb_local().endpoint,
            "--failed",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &no_home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", crate::harness::REGION)
        .output()
        .unwrap();
    assert_one_line(&out, 1, "AWS credentials missing or rejected");

    let table = seed_table().await;
    let out = crate::harness::monitor(
        table.name(),
        &[
            "--customer",
            "did:mailto:example.com:user",
            "--space",
            "did:key:nope",
        ],
    );
    assert_one_line(&out, 1, "no progress record for space did:key:nope");
}

/// A loopback endpoint that accepts connections and never answers: every read hangs until the
/// SDK's attempt timeout (20 s).
fn silent_endpoint() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[test]
fn ctrl_c_stops_a_read_in_flight_within_a_second() {
    let (_listener, url) = silent_endpoint();
    for view in [&["--failed"][..], &[], &["--watch", "--interval", "1s"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_migration-monitor"))
            .args(["--dynamodb.endpoint-url", &url])
            .args(view)
            .env("AWS_ACCESS_KEY_ID", crate::harness::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", crate::harness::SECRET_KEY)
            .env("AWS_REGION", crate::harness::REGION)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Let it connect and wait on the silent endpoint.
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            child.try_wait().unwrap().is_none(),
            "{view:?}: still reading"
        );
        let sent = std::time::Instant::now();
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(1),
                "{view:?}: still running a second after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        if view.contains(&"--watch") {
            assert!(status.success(), "Ctrl-C ends a watch cleanly: {status:?}");
        } else {
            assert_eq!(status.code(), Some(130), "{view:?}");
        }
    }
}
