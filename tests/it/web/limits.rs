//! Hostile clients against `exporter_web` in this process: half-sent heads, more connections than
//! the limit, oversized bodies and heads; and what every client gets (gzip, IPv4 and IPv6).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::serving::{GET, exchange, keep_alive_get, run, settings, status};

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
async fn at_max_connections_the_least_recently_active_idle_one_makes_room() {
    let server = run(settings(|s| {
        s.max_connections = Some(2);
        s.read_header_timeout = Duration::from_secs(10);
    }));
    let addr = server.addr();
    let mut scrape = TcpStream::connect(addr).await.unwrap();
    assert!(keep_alive_get(&mut scrape, Duration::from_secs(2)).await);
    let mut hog = TcpStream::connect(addr).await.unwrap();
    hog.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The scrape connection is active again: the half-sent hog is now the least recently active.
    assert!(keep_alive_get(&mut scrape, Duration::from_millis(500)).await);
    // A third connection is served at once, not left in the listen queue.
    let started = Instant::now();
    let got = exchange(addr, GET, Duration::from_secs(2)).await;
    assert_eq!(status(&got), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // The hog was closed to make room, long before its read-header timeout.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(1), hog.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the half-sent connection was not evicted");
    // And the kept-alive scrape connection goes on.
    assert!(keep_alive_get(&mut scrape, Duration::from_millis(500)).await);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_max_requests_a_request_waits_then_gets_503_with_retry_after() {
    let server = run(settings(|s| s.max_requests = 1));
    let addr = server.addr();
    // /slow holds the one slot for 2 s (its body is streamed for that long).
    let slow = tokio::spawn(exchange(
        addr,
        b"GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let got = exchange(addr, GET, Duration::from_secs(3)).await;
    let waited = started.elapsed();
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    assert_eq!(status(&got), 503, "{text}");
    assert!(text.contains("retry-after: 1"), "{text}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(1800),
        "waited {waited:?}, not briefly"
    );
    assert_eq!(status(&slow.await.unwrap()), 200);
    // The slot is free again.
    assert_eq!(
        status(&exchange(addr, GET, Duration::from_secs(2)).await),
        200
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let server = run(settings(|s| {
        s.read_header_timeout = Duration::from_millis(300);
        s.idle_timeout = Duration::from_millis(1500);
    }));
    let mut kept = TcpStream::connect(server.addr()).await.unwrap();
    assert!(keep_alive_get(&mut kept, Duration::from_secs(2)).await);
    let idle_from = Instant::now();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        keep_alive_get(&mut kept, Duration::from_secs(1)).await,
        "closed before the idle timeout"
    );
    let idle_from_again = Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(4), kept.read_to_end(&mut rest)).await;
    let after = idle_from_again.elapsed();
    assert!(closed.is_ok(), "not closed after the idle timeout");
    assert!(
        after >= Duration::from_millis(1400) && after < Duration::from_millis(2600),
        "closed {after:?} after the last response"
    );
    assert!(idle_from.elapsed() > Duration::from_millis(2000));
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
    // A handler that chose the coding itself (identity here) is left alone, its length kept.
    let coded = exchange(
        addr,
        b"GET /coded HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    let head = String::from_utf8_lossy(&coded).to_ascii_lowercase();
    assert!(!head.contains("content-encoding"), "{head:.300}");
    assert!(head.contains("content-length: 140000"), "{head:.300}");
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
