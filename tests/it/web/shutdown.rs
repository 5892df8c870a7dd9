//! Shutdown: open responses finish within the shutdown timeout and never past it (in process),
//! and the binary exits 0 on SIGTERM while clients hold connections; the binary's IPv4 and IPv6
//! wildcard addresses on one port, and a bad environment value.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::serving::{exchange, keep_alive_get, run, settings, status};
use super::{curl, start_ok};

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

/// A client that pipelines many requests for a large page and reads nothing: the responses fill
/// the buffers, and the connection is writing, not idle. Neither the read-header nor the idle
/// timeout closes it, and shutdown waits for it up to the shutdown timeout, as Go's server does.
#[tokio::test(flavor = "multi_thread")]
async fn a_response_the_client_does_not_read_is_in_flight_until_the_shutdown_timeout() {
    let server = run(settings(|s| {
        s.read_header_timeout = Duration::from_millis(200);
        s.idle_timeout = Duration::from_millis(200);
        s.shutdown_timeout = Duration::from_millis(1500);
    }));
    let mut stuck = TcpStream::connect(server.addr()).await.unwrap();
    // 400 pages of 140 KB: far more than the socket buffers hold.
    let requests = b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n".repeat(400);
    stuck.write_all(&requests).await.unwrap();
    // Five times the timeouts, with the server blocked writing the whole while.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let took = server.shutdown().await;
    assert!(
        took >= Duration::from_millis(1300) && took < Duration::from_secs(3),
        "shutdown took {took:?}: the stuck connection was closed before it, or held it too long"
    );
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
    let started = Instant::now();
    let status = exporter.terminate(Duration::from_secs(6));
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

/// Whether this machine has an IPv6 loopback address (`::1` on `lo`).
fn has_ipv6_loopback() -> bool {
    std::fs::read_to_string("/proc/net/if_inet6").is_ok_and(|t| {
        t.lines()
            .any(|l| l.starts_with("00000000000000000000000000000001 "))
    })
}

#[test]
fn ipv4_and_ipv6_wildcards_listen_on_one_port() {
    // `[::]` without IPV6_V6ONLY would take the IPv4 side of the port too and clash with
    // `0.0.0.0` (EADDRINUSE); the server sets it, so both bind. Clients stay on loopback.
    if !has_ipv6_loopback() {
        println!("skipped: no IPv6 loopback (::1) in /proc/net/if_inet6");
        return;
    }
    let port = crate::harness::free_port();
    let (v4, v6) = (format!("0.0.0.0:{port}"), format!("[::]:{port}"));
    let exporter = start_ok(&["--web.listen-address", &v4, "--web.listen-address", &v6]);
    crate::harness::wait_for(
        "both addresses logged",
        Duration::from_secs(5),
        || match exporter.count("message=listening") {
            2 => Ok(()),
            n => Err(format!("{n} listening lines")),
        },
    );
    for bound in [&v4, &v6] {
        assert_eq!(
            exporter.count(&format!("address={bound} ")),
            1,
            "{bound}: {}",
            exporter.log_tail()
        );
    }
    for client in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        let (code, _, body) = curl(&[], &format!("http://{client}/-/healthy"));
        assert_eq!(code, 200, "{client}: {body}");
    }
}

#[test]
fn a_bad_environment_value_is_one_line_and_exit_2() {
    // The environment stands in for flags (tests/it/env_fallbacks.rs), and a bad value there is
    // one line, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_migration-exporter"))
        .env("MIGRATION_EXPORTER_WEB_SHUTDOWN_TIMEOUT", "whenever")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--web.shutdown-timeout"), "{stderr}");
}
