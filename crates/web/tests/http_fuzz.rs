//! The HTTP side on a real socket under random input: one [`WebServer`] (plain HTTP on
//! 127.0.0.1, a read-header timeout of 300 ms) serves a tiny router, and each proptest case opens a
//! connection and sends random bytes or random valid-looking HTTP/1.1 (random methods, paths,
//! versions and headers of random sizes, Content-Length and chunked bodies right and wrong,
//! pipelined requests, bare LF line ends, truncation anywhere). Properties: the server answers or
//! closes within the read-header timeout plus a second; an answer starts with `HTTP/1.1 ` (or
//! `HTTP/1.0 ` for an HTTP/1.0 request, as Go answers too) and a three-digit status; and after
//! every case a plain `GET /` on a fresh connection gets 200 within a second (the server stays
//! up). `PROPTEST_CASES` raises the case count (128 by default).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use exporter_web::{WebServer, WebSettings};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ_HEADER_TIMEOUT: Duration = Duration::from_millis(300);

/// How long a case may wait for an answer or a close once its bytes are sent.
const ANSWER_WITHIN: Duration = Duration::from_millis(300 + 1000);

/// The default case count: about 4 s (a truncated head waits out the read-header timeout).
const CASES: u32 = 128;

/// One request as generated, rendered by [`Request::bytes`].
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    version: String,
    headers: Vec<(String, String)>,
    body: Body,
    /// `\r\n`, or a bare `\n` as some clients write.
    crlf: bool,
}

#[derive(Debug, Clone)]
enum Body {
    None,
    /// A body of this size announced by Content-Length (which may be wrong: `announced`).
    Sized {
        size: usize,
        announced: String,
    },
    /// Chunks of these sizes, each size line as written (valid hex, or junk), and whether the
    /// terminating zero chunk is sent.
    Chunked {
        chunks: Vec<(usize, Option<String>)>,
        last: bool,
    },
}

impl Request {
    fn bytes(&self) -> Vec<u8> {
        let eol = if self.crlf { "\r\n" } else { "\n" };
        let mut head = format!("{} {} {}{eol}", self.method, self.path, self.version);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}{eol}"));
        }
        match &self.body {
            Body::None => {}
            Body::Sized { announced, .. } => {
                head.push_str(&format!("Content-Length: {announced}{eol}"))
            }
            Body::Chunked { .. } => head.push_str(&format!("Transfer-Encoding: chunked{eol}")),
        }
        head.push_str(eol);
        let mut out = head.into_bytes();
        match &self.body {
            Body::None => {}
            Body::Sized { size, .. } => out.extend(std::iter::repeat_n(b'x', *size)),
            Body::Chunked { chunks, last } => {
                for (size, written) in chunks {
                    let line = written.clone().unwrap_or_else(|| format!("{size:x}"));
                    out.extend_from_slice(format!("{line}\r\n").as_bytes());
                    out.extend(std::iter::repeat_n(b'y', *size));
                    out.extend_from_slice(b"\r\n");
                }
                if *last {
                    out.extend_from_slice(b"0\r\n\r\n");
                }
            }
        }
        out
    }
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(vec!["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT"])
            .prop_map(str::to_owned),
        1 => "[A-Za-z]{1,12}",
        1 => "[ -~]{0,12}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(vec!["/", "/metrics", "/nope", "*", "http://x/metrics", "//", "/%00", "/?a=b&c"])
            .prop_map(str::to_owned),
        1 => "/[!-~]{0,64}",
        1 => "/[ -~]{0,64}",
        1 => (0usize..20_000).prop_map(|n| format!("/{}", "a".repeat(n))),
        1 => "[^\r\n]{0,16}",
    ]
}

fn version() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just("HTTP/1.1".to_owned()),
        1 => prop::sample::select(vec!["HTTP/1.0", "HTTP/0.9", "HTTP/1.2", "HTTP/3", "http/1.1", "", "HTTP/1.1 x"])
            .prop_map(str::to_owned),
        1 => "[ -~]{0,10}",
    ]
}

fn header() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        16 => prop::sample::select(vec![
            "Host", "Content-Length", "Transfer-Encoding", "Connection", "Expect",
            "Accept-Encoding", "Upgrade", "Authorization", "X-Forwarded-For", "Keep-Alive", "TE",
        ])
        .prop_map(str::to_owned),
        1 => "[A-Za-z-]{1,20}",
        1 => "[ -~]{0,20}",
    ];
    let value = prop_oneof![
        12 => prop::sample::select(vec![
            "x", "0", "5", "-1", "18446744073709551616", "chunked", "gzip, chunked", "identity",
            "close", "keep-alive", "upgrade", "100-continue", "h2c", "websocket", "gzip",
            "Basic YWxpY2U6c2VjcmV0",
        ])
        .prop_map(str::to_owned),
        1 => "[ -~\u{80}-\u{ff}]{0,40}",
        1 => (0usize..20_000).prop_map(|n| "v".repeat(n)),
    ];
    (name, value)
}

fn body() -> impl Strategy<Value = Body> {
    let size = 0usize..2_000;
    let announced = |size: usize| {
        prop_oneof![
            3 => Just(size.to_string()),
            1 => prop::sample::select(vec!["0", "1", "-1", "99999999", "18446744073709551616", "x", "5, 5"])
                .prop_map(str::to_owned),
        ]
    };
    let chunk_line = prop::option::weighted(
        0.2,
        prop::sample::select(vec!["zz", "ffffffffffffffffff", "-1", "", "5;ext=1", "0x5"])
            .prop_map(str::to_owned),
    );
    prop_oneof![
        3 => Just(Body::None),
        2 => size.prop_flat_map(move |s| announced(s).prop_map(move |a| Body::Sized { size: s, announced: a })),
        2 => (vec((0usize..500, chunk_line), 0..4), any::<bool>())
            .prop_map(|(chunks, last)| Body::Chunked { chunks, last }),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        token(),
        path(),
        version(),
        vec(header(), 0..12),
        body(),
        prop::bool::weighted(0.9),
    )
        .prop_map(|(method, path, version, headers, body, crlf)| Request {
            method,
            path,
            version,
            headers,
            body,
            crlf,
        })
}

/// What one case sends: random bytes, or one to three requests back to back, possibly cut short.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let pipelined = (
        vec(request(), 1..4),
        any::<prop::sample::Index>(),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(requests, cut, truncate)| {
            let mut bytes: Vec<u8> = requests.iter().flat_map(Request::bytes).collect();
            if truncate && !bytes.is_empty() {
                bytes.truncate(cut.index(bytes.len()));
            }
            bytes
        });
    prop_oneof![
        1 => vec(any::<u8>(), 0..4096),
        4 => pipelined,
    ]
}

/// Reads until the server closes or `deadline`; a reset counts as a close.
async fn read_until_close(stream: &mut TcpStream, deadline: Instant) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

/// Whether `bytes` start with `HTTP/1.1 ` and a three-digit status. An HTTP/1.0 request is
/// answered in HTTP/1.0, as Go's server also does, so `HTTP/1.0 ` is right when the input holds
/// one.
fn is_status_line(bytes: &[u8], input: &[u8]) -> bool {
    let asked_1_0 = input.windows(8).any(|w| w == b"HTTP/1.0");
    let version_ok =
        bytes.starts_with(b"HTTP/1.1 ") || (asked_1_0 && bytes.starts_with(b"HTTP/1.0 "));
    bytes.len() >= 12 && version_ok && bytes[9..12].iter().all(u8::is_ascii_digit)
}

/// One case: send, then the server must answer or close within [`ANSWER_WITHIN`].
async fn one_case(addr: SocketAddr, input: &[u8]) -> Result<(), TestCaseError> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| TestCaseError::fail(format!("connect: {e}")))?;
    // The server may answer and close before everything is written: a failed write is fine.
    let _ = stream.write_all(input).await;
    let sent = Instant::now();
    let (got, closed) = read_until_close(&mut stream, sent + ANSWER_WITHIN).await;
    prop_assert!(
        closed || !got.is_empty(),
        "no answer and no close within {ANSWER_WITHIN:?}"
    );
    if !got.is_empty() {
        let start = String::from_utf8_lossy(&got[..got.len().min(40)]).into_owned();
        prop_assert!(is_status_line(&got, input), "answer starts {start:?}");
    }
    Ok(())
}

/// A plain request on a fresh connection gets 200 within a second.
async fn still_up(addr: SocketAddr) -> Result<(), TestCaseError> {
    let check = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.ok()?;
        Some(got)
    };
    let got = tokio::time::timeout(Duration::from_secs(1), check).await;
    let ok = matches!(&got, Ok(Some(b)) if b.starts_with(b"HTTP/1.1 200 "));
    prop_assert!(ok, "GET / afterwards: {got:?}");
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES)
}

#[test]
fn the_server_answers_or_closes_in_time_and_stays_up_under_random_input() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = rt.block_on(async {
        let mut settings = WebSettings::plain(vec!["127.0.0.1:0".parse().expect("address")]);
        settings.read_header_timeout = READ_HEADER_TIMEOUT;
        settings.idle_timeout = Duration::from_millis(200);
        let server = WebServer::bind(settings).expect("bind");
        let addr = server.local_addrs()[0];
        let router = Router::new().route("/", get(|| async { "ok" })).route(
            "/metrics",
            get(|| async { "# HELP up Up.\n# TYPE up gauge\nup 1\n".repeat(50) }),
        );
        tokio::spawn(server.serve(router, std::future::pending()));
        addr
    });
    let started = Instant::now();
    // A failure's seed is saved beside this file and replayed first, as the proptest! macro does.
    let regressions = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/http_fuzz.proptest-regressions"
    );
    let config = Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&input(), |bytes| {
        rt.block_on(async {
            one_case(addr, &bytes).await?;
            still_up(addr).await
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("{} cases in {:?}", cases(), started.elapsed());
}
