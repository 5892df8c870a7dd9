//! A fault-injecting HTTP proxy in front of DynamoDB Local: it answers queued faults (throttling,
//! 5xx, reset connections, delays), the way the real service produces them, one per request,
//! and forwards every other request. One request per connection; a thread per connection.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    Throttle,
    ServerError,
    Reset,
    /// Forwarded after half a second.
    Delay,
}

/// How long [`Fault::Delay`] holds a request.
pub const DELAY: Duration = Duration::from_millis(500);

/// A loopback HTTP proxy that answers queued faults instead of forwarding, one per request,
/// and once the queue is empty, the standing fault (if any) to every request.
pub struct FaultProxy {
    pub addr: String,
    plan: Arc<Mutex<VecDeque<Fault>>>,
    standing: Arc<Mutex<Option<Fault>>>,
    pub forwarded: Arc<Mutex<u64>>,
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
    pub fn start(upstream: &str) -> FaultProxy {
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

    pub fn inject(&self, faults: &[Fault]) {
        self.plan.lock().unwrap().extend(faults);
    }

    /// Answers every request with `fault` from now on (after the queue), or forwards them again.
    pub fn fail_every_request(&self, fault: Option<Fault>) {
        *self.standing.lock().unwrap() = fault;
    }

    pub fn pending(&self) -> usize {
        self.plan.lock().unwrap().len()
    }
}
