//! The `/metrics` exposition: the golden page (pinned by the collector's unit test) passes
//! `promtool check metrics` with nothing to report, and a gzip scrape of the real daemon carries
//! exactly the series of a plain one, the HTTP lines fresh at each scrape, read by curl and by a
//! real Prometheus (which sends `Accept-Encoding: gzip`, checked through a recording proxy).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use migration_core::model::Timestamp;

use crate::harness::stack::{self, Prometheus};
use crate::harness::{Metrics, wait_for};

#[test]
fn golden_exposition_passes_promtool_check_metrics() {
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/metrics.prom"
    ))
    .unwrap();
    assert!(
        golden.contains("migration_spaces{"),
        "golden file holds data series"
    );
    assert_eq!(crate::harness::promtool_check_metrics(&golden), "");
}

/// curl with `args` on `url`: the response head (lowercased) and the body as received.
fn curl(args: &[&str], url: &str) -> (String, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "-S", "-D", "-", "--max-time", "10"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = out.stdout;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    (head, raw[end..].to_vec())
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// The metric names of an exposition's sample lines (histograms as their `_bucket`, `_sum` and
/// `_count` series, as Prometheus stores them).
fn names(text: &str) -> BTreeSet<String> {
    Metrics::parse(text)
        .0
        .keys()
        .map(|k| k.split('{').next().unwrap_or_default().to_owned())
        .collect()
}

const ACCEPTED: &str = "migration_exporter_http_connections_accepted_total";

#[tokio::test(flavor = "multi_thread")]
async fn a_gzip_scrape_carries_the_series_of_a_plain_one_with_fresh_http_lines() {
    let spaces = stack::every_status_spaces(Timestamp::now());
    let (_table, exporter) = stack::exporter_over("gzip-curl", &spaces).await;
    let url = format!("http://{}/metrics", exporter.addr);
    let (head, plain) = curl(&[], &url);
    assert_eq!(header(&head, "content-encoding"), None, "{head}");
    assert_eq!(header(&head, "vary"), Some("accept-encoding"), "{head}");
    let plain = String::from_utf8(plain).unwrap();
    let (head, gz) = curl(&["--compressed"], &url);
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
    assert_eq!(header(&head, "vary"), Some("accept-encoding"), "{head}");
    let gz = String::from_utf8(gz).unwrap();
    let (plain_series, gz_series) = (Metrics::parse(&plain), Metrics::parse(&gz));
    assert_eq!(
        plain_series.0.keys().collect::<Vec<_>>(),
        gz_series.0.keys().collect::<Vec<_>>()
    );
    assert!(
        names(&gz)
            .iter()
            .any(|n| n.starts_with("migration_exporter_http_"))
    );
    // Each curl is a new connection: the gzip scrape after the plain one counts one more.
    let accepted = |m: &Metrics| m.get(ACCEPTED, &[]).unwrap();
    assert_eq!(accepted(&gz_series), accepted(&plain_series) + 1.0);
    let (_, again) = curl(&["--compressed"], &url);
    let again = Metrics::parse(&String::from_utf8(again).unwrap());
    assert_eq!(
        accepted(&again),
        accepted(&gz_series) + 1.0,
        "fresh, not cached"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_headers_lengths_weights_and_head_are_as_a_client_expects() {
    let spaces = stack::every_status_spaces(Timestamp::now());
    let (_table, exporter) = stack::exporter_over("gzip-head", &spaces).await;
    let url = format!("http://{}/metrics", exporter.addr);
    let (head, raw) = curl(&["-H", "Accept-Encoding: gzip"], &url);
    assert!(raw.starts_with(&[0x1f, 0x8b]), "a gzip body");
    assert_eq!(
        header(&head, "content-length"),
        Some(raw.len().to_string().as_str())
    );
    assert_eq!(header(&head, "transfer-encoding"), None, "{head}");
    let (head, body) = curl(&["-H", "Accept-Encoding: gzip;q=0, identity"], &url);
    assert_eq!(header(&head, "content-encoding"), None, "{head}");
    assert!(body.starts_with(b"# HELP "));
    assert_eq!(
        header(&head, "content-length"),
        Some(body.len().to_string().as_str())
    );
    let (head, body) = curl(
        &["-I", "-o", "/dev/null", "-H", "Accept-Encoding: gzip"],
        &url,
    );
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
    let length: usize = header(&head, "content-length").unwrap().parse().unwrap();
    assert!(
        body.is_empty() && length.abs_diff(raw.len()) < 64,
        "{length} vs {}",
        raw.len()
    );
}

/// Forwards connections from a free port to `upstream`, counting the responses that declare
/// `Content-Encoding: gzip`; the port.
fn gzip_counting_proxy(upstream: String, gzipped: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c, mut s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut c, &mut s));
            let (mut from, mut to, gzipped) = (server, client, gzipped.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0; 64 * 1024];
                while let Ok(n) = from.read(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                    gzipped.fetch_add(
                        text.matches("content-encoding: gzip").count(),
                        Ordering::Relaxed,
                    );
                    if n == 0 || to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_reads_every_series_name_from_a_gzip_scrape() {
    let spaces = stack::every_status_spaces(Timestamp::now());
    let (_table, exporter) = stack::exporter_over("gzip-prom", &spaces).await;
    let plain = names(&exporter.get("/metrics").1);
    let gzipped = Arc::new(AtomicUsize::new(0));
    let port = gzip_counting_proxy(exporter.addr.clone(), gzipped.clone());
    let config = stack::prometheus_config("gzip", &format!("127.0.0.1:{port}"), "");
    let prometheus = Prometheus::start(&config, &[]);
    let stored = wait_for(
        "every series name in Prometheus",
        Duration::from_secs(60),
        || {
            let result = prometheus.query("group by (__name__) ({job=\"gzip\"})")?;
            let stored: BTreeSet<String> = result
                .iter()
                .filter_map(|r| r["metric"]["__name__"].as_str().map(str::to_owned))
                .collect();
            match plain.difference(&stored).collect::<Vec<_>>() {
                missing if missing.is_empty() => Ok(stored),
                missing => Err(format!("missing {missing:?}")),
            }
        },
    );
    assert!(stored.contains(ACCEPTED), "{stored:?}");
    assert!(
        gzipped.load(Ordering::Relaxed) > 0,
        "Prometheus scraped with gzip"
    );
    assert_eq!(prometheus.value("up{job=\"gzip\"}"), Some(1.0));
}
