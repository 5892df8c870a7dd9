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
