//! Crowds of hostile clients against the real daemon (the binary, DynamoDB Local, 2,000 spaces):
//! 2,000 connections that send half a request head (or, with TLS, half a ClientHello) and 500
//! idle kept-alive ones. A fresh scrape must get the full page within a second, every half-sent
//! connection must be closed by the server within the read-header timeout plus one second, the
//! idle ones stay open (their idle timeout is longer), `/metrics` counts it all, and SIGTERM
//! still exits 0 within the shutdown timeout with a crowd connected.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use migration_core::model::Timestamp;
use migration_core::table::item;
use migration_testkit::sample;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;

use super::{Pki, start, tls_file};
use crate::harness::{self, Exporter, Metrics};

const HALF_SENT: usize = 2_000;
const IDLE: usize = 500;
const READ_HEADER_TIMEOUT: Duration = Duration::from_secs(3);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// Half a request head: no blank line ever comes.
const HALF_HEAD: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: exporter\r\nX-Slow: ";
/// Half a TLS ClientHello: a handshake record announcing 512 bytes, of which 11 are sent.
const HALF_HELLO: &[u8] = &[
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
];

/// How the test reaches the daemon.
#[derive(Clone)]
enum Dial {
    Plain,
    Tls(TlsConnector),
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl Dial {
    async fn connect(&self, addr: SocketAddr) -> Box<dyn Io> {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        match self {
            Dial::Plain => Box::new(tcp),
            Dial::Tls(c) => {
                let name = ServerName::try_from("127.0.0.1").unwrap();
                Box::new(c.connect(name, tcp).await.expect("TLS handshake"))
            }
        }
    }

    /// Half-sent connections the server holds at once: all of them, or with TLS the handshakes
    /// in flight at most (256; a new one evicts the oldest).
    fn held(&self) -> usize {
        match self {
            Dial::Plain => HALF_SENT,
            Dial::Tls(_) => 256,
        }
    }

    fn half(&self) -> &'static [u8] {
        match self {
            Dial::Plain => HALF_HEAD,
            Dial::Tls(_) => HALF_HELLO,
        }
    }
}

fn tls_dial(pki: &Pki) -> Dial {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki.path("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Dial::Tls(TlsConnector::from(Arc::new(config)))
}

/// Soft fd limit up to the hard one: the test holds thousands of sockets.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a struct that outlives them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    assert!(
        lim.rlim_cur as usize > 2 * (HALF_SENT + IDLE) + 256,
        "the fd limit ({}) is too low for this test",
        lim.rlim_cur
    );
}

/// A table of 2,000 generated spaces in DynamoDB Local, and the daemon on it (`extra` flags),
/// listening.
async fn daemon(extra: &[&str]) -> Exporter {
    let table = harness::new_table("crowd").await;
    let records = sample::generate(2_000, 11, Timestamp::now());
    sample::load(&table, records.iter().map(item::encode).collect(), 4)
        .await
        .expect("load the sample");
    let rht = format!("{}s", READ_HEADER_TIMEOUT.as_secs());
    let shutdown = format!("{}s", SHUTDOWN_TIMEOUT.as_secs());
    let mut args = vec![
        "--web.read-header-timeout",
        rht.as_str(),
        "--web.shutdown-timeout",
        shutdown.as_str(),
    ];
    args.extend_from_slice(extra);
    let endpoint = harness::dynamodb_local().endpoint.clone();
    start(&args, Some(&endpoint), table.name()).expect("the exporter starts")
}

/// Waits until `/-/ready` answers 200 (the first full scan is done).
async fn wait_ready(dial: &Dial, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut io = dial.connect(addr).await;
        if request(&mut io, "/-/ready", false).await.0 == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Opens `n` connections that each send half of what they must; each task returns how long after
/// its opening the server closed it (or `None` if it stayed open `within`).
async fn half_sent(
    dial: &Dial,
    addr: SocketAddr,
    n: usize,
    within: Duration,
) -> JoinSet<Option<Duration>> {
    let mut set = JoinSet::new();
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let opened = Instant::now();
        s.write_all(dial.half()).await.expect("send half");
        set.spawn(async move {
            let mut sink = Vec::new();
            match tokio::time::timeout(within, s.read_to_end(&mut sink)).await {
                Ok(_) => Some(opened.elapsed()),
                Err(_) => None,
            }
        });
    }
    set
}

/// One kept-alive request on a new connection, answered; the connection is returned open.
async fn idle_one(dial: &Dial, addr: SocketAddr) -> Box<dyn Io> {
    let mut io = dial.connect(addr).await;
    let (code, _) = request(&mut io, "/-/healthy", true).await;
    assert_eq!(code, 200);
    io
}

/// A GET of `path` on `io` (kept alive or not): status and body, read by Content-Length.
async fn request(io: &mut Box<dyn Io>, path: &str, keep: bool) -> (u16, String) {
    let connection = if keep { "keep-alive" } else { "close" };
    let head = format!("GET {path} HTTP/1.1\r\nHost: exporter\r\nConnection: {connection}\r\n\r\n");
    io.write_all(head.as_bytes()).await.expect("send");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = io.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed before the response ended");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("a Content-Length");
            if body.len() >= len {
                let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                return (code, body[..len].to_owned());
            }
        }
    }
}

/// The daemon's resident memory in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

async fn crowd(mut exporter: Exporter, dial: Dial) {
    raise_fd_limit();
    let addr: SocketAddr = exporter.addr.parse().unwrap();
    wait_ready(&dial, addr).await;
    let rss_before = rss_kib(exporter.pid());
    let mut idle = Vec::new();
    for _ in 0..IDLE {
        idle.push(idle_one(&dial, addr).await);
    }
    let window = READ_HEADER_TIMEOUT + Duration::from_secs(5);
    let mut halves = half_sent(&dial, addr, HALF_SENT, window).await;
    let rss_crowd = rss_kib(exporter.pid());

    // A fresh scrape gets the whole page at once.
    let started = Instant::now();
    let mut scrape = dial.connect(addr).await;
    let (code, page) = request(&mut scrape, "/metrics", false).await;
    let took = started.elapsed();
    assert_eq!(code, 200);
    assert!(took < Duration::from_secs(1), "the scrape took {took:?}");
    let m = Metrics::parse(&page);
    let spaces: f64 = m.family("migration_spaces").values().sum();
    assert_eq!(spaces, 2_000.0, "the full page");
    let open = m
        .get("migration_exporter_http_connections_open", &[])
        .unwrap();
    assert!(open >= (IDLE + dial.held()) as f64, "{open} open");

    // Every half-sent connection is closed by the server within the read-header timeout + 1 s.
    let mut latest = Duration::ZERO;
    while let Some(closed) = halves.join_next().await {
        let after = closed
            .unwrap()
            .expect("a half-sent connection was left open");
        latest = latest.max(after);
    }
    assert!(
        latest <= READ_HEADER_TIMEOUT + Duration::from_secs(1),
        "closed after {latest:?}"
    );

    // The idle ones are still served; /metrics counted the closes.
    for io in idle.iter_mut().take(5) {
        assert_eq!(request(io, "/-/healthy", true).await.0, 200);
    }
    let mut again = dial.connect(addr).await;
    let m = Metrics::parse(&request(&mut again, "/metrics", false).await.1);
    let closed = |reason: &str| {
        m.get(
            "migration_exporter_http_connections_closed_total",
            &[("reason", reason)],
        )
        .unwrap()
    };
    // TLS: beyond 256 handshakes in flight, the oldest were evicted before their timeout.
    let (timed_out, evicted) = (closed("header_timeout"), closed("evicted"));
    assert!(
        timed_out + evicted >= HALF_SENT as f64,
        "{timed_out} header timeouts, {evicted} evicted"
    );
    assert!(
        m.get("migration_exporter_http_connections_open", &[])
            .unwrap()
            >= IDLE as f64
    );
    eprintln!(
        "crowd: scrape {took:?} with {HALF_SENT} half-sent and {IDLE} idle; last half-sent closed after {latest:?} ({timed_out} timed out, {evicted} evicted); RSS {rss_before} KiB -> {rss_crowd} KiB ({:.1} KiB per connection)",
        (rss_crowd.saturating_sub(rss_before)) as f64 / (HALF_SENT + IDLE) as f64
    );

    // SIGTERM with a crowd connected: exit 0 within the shutdown timeout.
    let _halves = half_sent(&dial, addr, HALF_SENT, window).await;
    let started = Instant::now();
    let status = tokio::task::block_in_place(|| {
        exporter.terminate(SHUTDOWN_TIMEOUT + Duration::from_secs(3))
    });
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < SHUTDOWN_TIMEOUT + Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_of_half_sent_and_idle_connections_never_starves_a_scrape() {
    let exporter = daemon(&[]).await;
    crowd(exporter, Dial::Plain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_of_half_finished_tls_handshakes_never_starves_a_scrape() {
    let pki = Pki::new();
    let config = tls_file(&pki, "web.yml", "");
    let exporter = daemon(&["--web.config.file", &config]).await;
    crowd(exporter, tls_dial(&pki)).await;
}
