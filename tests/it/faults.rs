//! DynamoDB faults through a fault-injecting proxy in front of DynamoDB Local: throttling answers,
//! 5xx answers and reset connections, the way the real service produces them. The SDK's retries
//! ride out short bursts (counted in `migration_exporter_dynamodb_errors_total`); longer ones fail
//! the refresh, which keeps the last snapshot, counts the error by kind and recovers.

use migration_testkit::WorkerWrites;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::Exporter;
use migration_core::model::{SpaceProgress, Status, Timestamp};
use migration_core::state::tracker::{RefreshSettings, Tracker};
use migration_core::table::{ProgressTable, item};

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Throttle,
    ServerError,
    Reset,
    /// Forwarded after half a second.
    Delay,
}

/// How long [`Fault::Delay`] holds a request.
const DELAY: Duration = Duration::from_millis(500);

/// A loopback HTTP proxy that answers queued faults instead of forwarding, one per request,
/// and once the queue is empty, the standing fault (if any) to every request.
struct FaultProxy {
    addr: String,
    plan: Arc<Mutex<VecDeque<Fault>>>,
    standing: Arc<Mutex<Option<Fault>>>,
    forwarded: Arc<Mutex<u64>>,
}

fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf);
        }
    }
}

fn respond(stream: &mut TcpStream, status: &str, error_type: &str) {
    let body = format!(
        "{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{error_type}\",\"message\":\"injected by the test proxy\"}}"
    );
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: {error_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl FaultProxy {
    fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let plan: Arc<Mutex<VecDeque<Fault>>> = Arc::default();
        let forwarded: Arc<Mutex<u64>> = Arc::default();
        let standing: Arc<Mutex<Option<Fault>>> = Arc::default();
        let (p, f, st) = (plan.clone(), forwarded.clone(), standing.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { continue };
                let (plan, forwarded, upstream) = (p.clone(), f.clone(), upstream.clone());
                let standing = st.clone();
                std::thread::spawn(move || {
                    // One request per connection: the proxy always closes after answering.
                    let Some(request) = read_request(&mut client) else {
                        return;
                    };
                    let queued = plan.lock().unwrap().pop_front();
                    let fault = queued.or(*standing.lock().unwrap());
                    match fault {
                        Some(Fault::Throttle) => {
                            respond(&mut client, "400 Bad Request", "ThrottlingException")
                        }
                        Some(Fault::ServerError) => respond(
                            &mut client,
                            "500 Internal Server Error",
                            "InternalServerError",
                        ),
                        Some(Fault::Reset) => {
                            let _ = client.shutdown(std::net::Shutdown::Both);
                        }
                        Some(Fault::Delay) | None => {
                            if fault == Some(Fault::Delay) {
                                std::thread::sleep(DELAY);
                            }
                            let Ok(mut up) = TcpStream::connect(&upstream) else {
                                return;
                            };
                            let text = String::from_utf8_lossy(&request);
                            // Ask the upstream to close so its answer ends at EOF.
                            let request = text.replacen("\r\n", "\r\nConnection: close\r\n", 1);
                            if up.write_all(request.as_bytes()).is_err() {
                                return;
                            }
                            let mut answer = Vec::new();
                            let _ = up.read_to_end(&mut answer);
                            let _ = client.write_all(&answer);
                            *forwarded.lock().unwrap() += 1;
                        }
                    }
                });
            }
        });
        FaultProxy {
            addr: format!("http://{addr}"),
            plan,
            standing,
            forwarded,
        }
    }

    fn inject(&self, faults: &[Fault]) {
        self.plan.lock().unwrap().extend(faults);
    }

    /// Answers every request with `fault` from now on (after the queue), or forwards them again.
    fn fail_every_request(&self, fault: Option<Fault>) {
        *self.standing.lock().unwrap() = fault;
    }

    fn pending(&self) -> usize {
        self.plan.lock().unwrap().len()
    }
}

async fn small_table() -> migration_core::table::ProgressTable {
    let table = crate::harness::new_table("faults").await;
    let now = Timestamp::now();
    let records: Vec<SpaceProgress> = (0..50)
        .map(|i| {
            let status = [Status::Completed, Status::InProgress][i % 2];
            crate::harness::record(
                "did:mailto:c",
                &format!("did:key:s{i}"),
                status,
                "1",
                "1",
                10,
                5,
                now,
            )
        })
        .collect();
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();
    table
}

#[tokio::test(flavor = "multi_thread")]
async fn retried_faults_are_counted_and_persistent_ones_fail_the_refresh_without_losing_data() {
    let table = small_table().await;
    let proxy = FaultProxy::start(&crate::harness::dynamodb_local().endpoint);
    let exporter = Exporter::start(
        &proxy.addr,
        table.name(),
        &["--refresh.interval", "1s", "--scan.segments", "1"],
    );
    exporter.wait_ready(Duration::from_secs(60));
    let spaces = |m: &crate::harness::Metrics| m.family("migration_spaces").values().sum::<f64>();
    let first = exporter.scrape();
    assert_eq!(spaces(&first), 50.0);

    // One throttle and one 500: the SDK retries both, the refresh succeeds, both are counted.
    proxy.inject(&[Fault::Throttle, Fault::ServerError]);
    let m = exporter.wait_until("retried faults", Duration::from_secs(30), |m| {
        m.get(
            "migration_exporter_dynamodb_errors_total",
            &[("kind", "throttled")],
        ) == Some(1.0)
            && m.get(
                "migration_exporter_dynamodb_errors_total",
                &[("kind", "server")],
            ) == Some(1.0)
    });
    assert_eq!(
        m.get(
            "migration_exporter_refresh_errors_total",
            &[("kind", "throttled")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.get("migration_exporter_last_refresh_success", &[]),
        Some(1.0)
    );

    // Throttled on every request, beyond the SDK's three attempts: refreshes fail as throttled,
    // one after another, and the data stays. One error line for the streak, however long.
    proxy.fail_every_request(Some(Fault::Throttle));
    let m = failure_streak(&exporter, "throttled", 3);
    assert_eq!(spaces(&m), 50.0, "the last good snapshot is still served");
    assert_eq!(
        streak_lines(&exporter),
        1,
        "one error line for a streak of three failures: {}",
        exporter.log_tail()
    );

    // The throttling ends: the next refresh succeeds, which ends the first failure streak.
    proxy.fail_every_request(None);
    exporter.wait_until("recovery from throttling", Duration::from_secs(60), |m| {
        m.get("migration_exporter_last_refresh_success", &[]) == Some(1.0)
    });
    assert_eq!(exporter.count("message=\"refresh recovered\""), 1);

    // Connections reset on every attempt: a new streak of network errors, and nothing else.
    proxy.fail_every_request(Some(Fault::Reset));
    let m = failure_streak(&exporter, "network", 3);
    assert_eq!(spaces(&m), 50.0);
    assert_eq!(
        m.get(
            "migration_exporter_refresh_errors_total",
            &[("kind", "service")]
        ),
        Some(0.0),
        "a reset connection is a network error"
    );
    assert_eq!(
        streak_lines(&exporter),
        2,
        "one more error line for the second streak: {}",
        exporter.log_tail()
    );

    // Faults over: the next refresh succeeds and says so.
    proxy.fail_every_request(None);
    exporter.wait_until("recovery", Duration::from_secs(60), |m| {
        proxy.pending() == 0 && m.get("migration_exporter_last_refresh_success", &[]) == Some(1.0)
    });
    assert!(*proxy.forwarded.lock().unwrap() > 3);
    assert_eq!(
        exporter.log_lines_at("error"),
        2,
        "one error line per failure streak (throttled, then reset): {}",
        exporter.log_tail()
    );
}

/// Waits until the failure streak that begins now is `n` refreshes long, each failed as `kind`,
/// as the daemon's metrics count them: its first failure, then `n - 1` more with not one
/// successful refresh (of either kind) in between. (A refresh in flight when the faults began
/// may still succeed, before the first failure: refreshes run one at a time.)
fn failure_streak(exporter: &Exporter, kind: &str, n: u32) -> crate::harness::Metrics {
    let errors = |m: &crate::harness::Metrics| {
        m.get("migration_exporter_refresh_errors_total", &[("kind", kind)])
            .unwrap_or(0.0)
    };
    let successes = |m: &crate::harness::Metrics| {
        m.family("migration_exporter_refreshes_total")
            .values()
            .sum::<f64>()
    };
    let before = errors(&exporter.scrape());
    let first = exporter.wait_until(
        &format!("a first {kind} failure"),
        Duration::from_secs(60),
        |m| errors(m) > before,
    );
    let (first_errors, successes_then) = (errors(&first), successes(&first));
    exporter.wait_until(
        &format!("{n} {kind} failures in a row"),
        Duration::from_secs(90),
        |m| {
            assert_eq!(
                successes(m),
                successes_then,
                "a refresh succeeded during the {kind} streak"
            );
            errors(m) >= first_errors + f64::from(n - 1)
        },
    )
}

/// The error lines that open a failure streak, so far.
fn streak_lines(exporter: &Exporter) -> usize {
    exporter
        .log_lines()
        .iter()
        .filter(|l| l.contains("level=error") && l.contains("refresh failed;"))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_is_as_of_the_start_of_its_read() {
    let table = small_table().await;
    let proxy = FaultProxy::start(&crate::harness::dynamodb_local().endpoint);
    let slow = ProgressTable::new(
        crate::harness::client_for(&proxy.addr),
        table.name(),
        "status-index",
    );
    let mut tracker = Tracker::new(
        slow,
        RefreshSettings::full_only(Duration::from_secs(3600), 1),
    );
    // The index check and the one-page scan each take half a second more.
    proxy.inject(&[Fault::Delay, Fault::Delay]);
    let before = Timestamp::now();
    tracker.full().await.unwrap();
    let after = Timestamp::now();
    assert_eq!(proxy.pending(), 0, "both requests went through the delay");
    let taken = tracker.snapshot().taken_at;
    assert!(taken >= before, "{taken:?} before {before:?}");
    assert!(
        after.as_millis() - taken.as_millis() >= DELAY.as_millis() as i64 - 50,
        "stamped when the read ended, not when it started: {} ms before the end",
        after.as_millis() - taken.as_millis()
    );
}
