//! The status page in a real browser: Debian's headless Chromium driven by chromedriver
//! (WebDriver, through fantoccini) loads `/` from the real exporter over a table the simulated
//! fleet is migrating. The figures it shows equal the gauges on `/metrics` of the same refresh,
//! the page reloads itself and shows the fleet's progress, a `<script>` in a space id and markup
//! in a worker id stay text, no request leaves loopback, the burn-down plot and a sparkline per
//! instance are drawn, the silent worker is marked, and its screenshot is not blank.
//! `UPDATE_SCREENSHOT=1` also writes the screenshot to docs/status-page.png for the README.

use migration_testkit::WorkerWrites;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use migration_core::model::{Status, Timestamp};
use migration_core::table::item;
use migration_testkit::fleet::{Fleet, FleetConfig};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::harness::stack::{ROOT, Scratch};
use crate::harness::{Exporter, Metrics, dynamodb_local, free_port, record};

const EVIL_SPACE: &str = "did:key:<script>window.pwned=1</script>";
const EVIL_WORKER: &str = "<img src=x onerror=\"window.pwned=2\">";

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (scripts/install-deps chromium)");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        // chromedriver keeps connections open, so a connect is the readiness check.
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://{addr}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &Scratch) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1200,1500",
                format!("--user-data-dir={}", profile.path.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// The figures the page shows, by `data-k` (commas removed), and the refresh they belong to.
async fn figures(c: &Client) -> BTreeMap<String, String> {
    let v = c
        .execute(
            "const out = {};
             for (const e of document.querySelectorAll('[data-k]')) {
               const row = e.closest('tr');
               const where = row ? (row.dataset.instance + '/' + (row.dataset.worker ?? '*') + ' ') : '';
               out[where + e.dataset.k] = (e.dataset.v ?? e.textContent).replaceAll(',', '');
             }
             return out;",
            vec![],
        )
        .await
        .expect("read the page");
    serde_json::from_value(v).expect("figures")
}

fn sum(m: &Metrics, name: &str, filter: &[&str]) -> f64 {
    m.family(name)
        .iter()
        .filter(|(k, _)| filter.iter().all(|f| k.contains(f)))
        .map(|(_, v)| v)
        .sum()
}

/// Every mismatch between the page's figures and the gauges.
fn mismatches(f: &BTreeMap<String, String>, m: &Metrics) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |key: &str, want: f64| match f.get(key).and_then(|v| v.parse::<f64>().ok()) {
        Some(got) if got == want => {}
        got => out.push(format!("{key}: page {got:?}, metrics {want}")),
    };
    check(
        "spaces-completed",
        sum(m, "migration_spaces", &["status=\"completed\""]),
    );
    check("spaces-total", sum(m, "migration_spaces", &[]));
    check(
        "spaces-failed",
        sum(m, "migration_spaces", &["status=\"failed\""]),
    );
    check(
        "spaces-pending",
        sum(m, "migration_spaces", &["status=\"pending\""]),
    );
    check(
        "spaces-in-progress",
        sum(m, "migration_spaces", &["status=\"in-progress\""]),
    );
    check(
        "uploads-completed",
        sum(m, "migration_uploads_completed", &[]),
    );
    check("uploads-total", sum(m, "migration_uploads", &[]));
    check("stuck", sum(m, "migration_spaces_stuck", &[]));
    for (key, value) in m.family("migration_spaces_stuck") {
        let label = |name: &str| {
            let start = key
                .find(&format!("{name}=\""))
                .map(|i| i + name.len() + 2)?;
            Some(key[start..].split('"').next()?.to_owned())
        };
        let (Some(i), Some(w)) = (label("instance_id"), label("worker_id")) else {
            continue;
        };
        // Ids with quotes or markup are compared by the escape test, not here.
        if i.contains(['<', '\\']) || w.contains(['<', '\\']) {
            continue;
        }
        check(&format!("{i}/{w} stuck"), value);
        let pair = [format!("instance_id=\"{i}\""), format!("worker_id=\"{w}\"")];
        for (k, status) in [
            ("completed", "completed"),
            ("failed", "failed"),
            ("in-progress", "in-progress"),
        ] {
            let filter = [
                pair[0].as_str(),
                pair[1].as_str(),
                &format!("status=\"{status}\""),
            ];
            check(&format!("{i}/{w} {k}"), sum(m, "migration_spaces", &filter));
        }
    }
    out
}

/// The burn-down plot is drawn (a line through the window, its axes' labels as text, a size on
/// the page), every instance row has its sparkline, and the silent worker is marked.
async fn assert_pictures(c: &Client) {
    let v = c
        .execute(
            "const svg = document.getElementById('burndown');
             if (!svg) return null;
             const box = svg.getBoundingClientRect();
             const line = svg.querySelector('path.line');
             const rows = [...document.querySelectorAll('#instances tbody tr')];
             return {
               width: box.width, height: box.height,
               d: line ? line.getAttribute('d') : '',
               length: line ? line.getTotalLength() : 0,
               labels: [...svg.querySelectorAll('text')].map(t => t.textContent),
               caption: document.querySelector('#burndown-figure figcaption')?.textContent ?? '',
               rows: rows.length,
               sparks: rows.filter(r => {
                 const s = r.querySelector('svg.spark');
                 return s && s.querySelector('path')?.getAttribute('d')?.startsWith('M')
                   && s.getAttribute('aria-label').startsWith('uploads completed: ')
                   && s.getBoundingClientRect().width > 0;
               }).length,
               silent: [...document.querySelectorAll('#workers tr.silent')].map(r => r.dataset.worker),
               silentCount: document.querySelector('[data-k=silent-workers]')?.textContent,
               ago: document.querySelectorAll('#workers [data-k=ago]').length,
             };",
            vec![],
        )
        .await
        .expect("inspect the pictures");
    assert!(v.is_object(), "no burn-down plot on the page");
    assert!(
        v["width"].as_f64() > Some(100.0) && v["height"].as_f64() > Some(50.0),
        "{v}"
    );
    let d = v["d"].as_str().unwrap_or_default();
    assert!(d.starts_with('M') && d.contains('L'), "{v}");
    assert!(v["length"].as_f64() > Some(0.0), "{v}");
    let labels: Vec<&str> = v["labels"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for want in ["uploads remaining", "now", "spaces finished (dashed)"] {
        assert!(labels.contains(&want), "no axis label {want:?}: {labels:?}");
    }
    assert!(labels.iter().any(|l| l.starts_with('−')), "{labels:?}");
    assert!(
        labels
            .iter()
            .any(|l| l.parse::<u64>().is_ok() || l.contains(','))
    );
    assert!(
        v["caption"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Uploads remaining: "),
        "{v}"
    );
    assert!(v["rows"].as_u64() >= Some(2), "{v}");
    assert_eq!(v["sparks"], v["rows"], "a sparkline per instance row: {v}");
    assert!(
        v["silent"]
            .as_array()
            .is_some_and(|s| s.iter().any(|w| w == EVIL_WORKER)),
        "{v}"
    );
    assert_eq!(
        v["silentCount"]
            .as_str()
            .and_then(|n| n.parse::<usize>().ok()),
        v["silent"].as_array().map(Vec::len),
        "{v}"
    );
    assert!(v["ago"].as_u64() > Some(0), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_in_a_browser_shows_the_gauges_moves_and_stays_on_loopback() {
    let table = crate::harness::new_table("page").await;
    let config = FleetConfig {
        instances: 2,
        workers_per_instance: 3,
        spaces: 120,
        uploads_per_second: 30.0,
        mean_uploads: 200.0,
        update_every: 10,
        failure_probability: 0.08,
        stall_probability: 0.08,
        stuck_after: Duration::from_secs(5),
        seed: 11,
        ..FleetConfig::default()
    };
    let fleet = Fleet::prepare(&table, config).await.expect("prepare");
    // A space and a worker whose ids are markup, stuck (and the worker silent) for two hours,
    // on an instance that moves, so that the migration has an ETA to draw.
    let evil = record(
        "did:mailto:example.com:evil",
        EVIL_SPACE,
        Status::InProgress,
        "2",
        EVIL_WORKER,
        100,
        10,
        Timestamp::now().minus(Duration::from_secs(7200)),
    );
    table
        .put_items(vec![item::encode(&evil)])
        .await
        .expect("put");
    let stop = CancellationToken::new();
    let running = {
        let (fleet, table, stop) = (fleet.clone(), table.clone(), stop.clone());
        tokio::spawn(async move { fleet.run(&table, stop).await })
    };

    let exporter = Exporter::start(
        &dynamodb_local().endpoint,
        table.name(),
        &["--refresh.interval", "1s", "--stuck-after", "5s"],
    );
    exporter.wait_ready(Duration::from_secs(60));
    let driver = Driver::start();
    let profile = Scratch::new("chromium-profile");
    let c = browser(&driver, &profile).await;
    let page = format!("http://{}/", exporter.addr);
    c.goto(&page).await.expect("load the status page");
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The figures equal the gauges of the same refresh (retried when a refresh fell between).
    let mut compared = None;
    for _ in 0..20 {
        let f = figures(&c).await;
        let m = exporter.scrape();
        let page_refresh: f64 = f["refreshed-at"].parse().expect("refresh time");
        let metrics_refresh = m
            .get(
                "migration_exporter_last_refresh_success_timestamp_seconds",
                &[],
            )
            .expect("refresh gauge");
        if (page_refresh - metrics_refresh).abs() < 0.002 {
            let bad = mismatches(&f, &m);
            assert!(bad.is_empty(), "{bad:#?}\n{f:#?}");
            compared = Some(f);
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let first = compared.expect("a page and a scrape of the same refresh");
    assert!(
        first.keys().any(|k| k.ends_with(" in-progress")),
        "{first:#?}"
    );

    // The page reloads itself and shows the fleet moving.
    let before: u64 = first["uploads-completed"].parse().expect("uploads");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now: u64 = figures(&c).await["uploads-completed"]
            .parse()
            .expect("uploads");
        if now > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page still shows {now} uploads"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    assert_pictures(&c).await;

    // Markup from the table is text: one script (the reload), nothing ran.
    let injected = c
        .execute(
            "return [document.scripts.length, typeof window.pwned, document.querySelectorAll('img').length, document.body.innerText];",
            vec![],
        )
        .await
        .expect("inspect the page");
    assert_eq!(injected[0], 1, "{injected}");
    assert_eq!(injected[1], "undefined", "{injected}");
    assert_eq!(injected[2], 0, "{injected}");
    let text = injected[3].as_str().unwrap_or_default();
    assert!(text.contains(EVIL_SPACE), "{text}");
    assert!(text.contains(EVIL_WORKER), "{text}");

    // Every request the page made went to the exporter on loopback.
    let urls = c
        .execute(
            "return performance.getEntries().filter(e => 'name' in e && /^[a-z]+:/.test(e.name)).map(e => e.name);",
            vec![],
        )
        .await
        .expect("resource timing");
    let urls: Vec<String> = serde_json::from_value(urls).expect("urls");
    assert!(!urls.is_empty(), "at least the page itself");
    for u in &urls {
        assert!(
            u.starts_with(&format!("http://{}/", exporter.addr)),
            "{u} left the exporter"
        );
    }

    // A screenshot that is not blank.
    let png_bytes = c.screenshot().await.expect("screenshot");
    let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let lum: Vec<f64> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| {
            p[..3.min(p.len())]
                .iter()
                .map(|&v| f64::from(v))
                .sum::<f64>()
                / 3.0
        })
        .collect();
    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
    let variance = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
    let ink = lum.iter().filter(|&&l| l < 128.0).count() as f64 / lum.len() as f64;
    assert!(
        (info.width, info.height) >= (800, 600),
        "{}x{}",
        info.width,
        info.height
    );
    assert!(variance > 100.0, "blank screenshot: variance {variance}");
    assert!(ink > 0.005, "almost no dark pixels: {ink}");
    let scratch = Scratch::new("status-page-shot");
    std::fs::write(scratch.path.join("status-page.png"), &png_bytes).expect("save");
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        std::fs::write(format!("{ROOT}/docs/status-page.png"), &png_bytes).expect("save docs");
    }
    eprintln!(
        "status page: {}x{}, luminance variance {variance:.0}, dark pixels {:.1}%, {} requests, figures {}",
        info.width,
        info.height,
        ink * 100.0,
        urls.len(),
        Value::from(first.len())
    );

    c.close().await.expect("close the session");
    stop.cancel();
    running.await.expect("fleet task").expect("fleet");
}
