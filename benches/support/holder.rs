//! Clients that hold connections open beside a load run: kept-alive ones that made one request
//! and stay silent, or ones that sent half a request head, opened again whenever the server
//! closes them (so that the crowd stays the same size all run long). One thread, std sockets.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Connections other clients hold open during a run.
#[derive(Clone, Copy)]
pub enum Hold {
    Nothing,
    /// Kept-alive connections that made one request and stay silent.
    Idle(usize),
    /// Connections that sent half a request head; each one the server closes is opened again.
    HalfSent(usize),
}

const HALF_HEAD: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: bench\r\nX-Slow: ";

/// The holding thread.
pub struct Holder {
    stop: Arc<AtomicBool>,
    reopened: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

fn open(addr: SocketAddr, hold: Hold) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    match hold {
        Hold::Idle(_) => {
            s.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: bench\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).unwrap();
            // 200, or 401 behind basic auth: either way the connection stays open, idle.
            assert!(
                buf[..n].starts_with(b"HTTP/1.1 200") || buf[..n].starts_with(b"HTTP/1.1 401"),
                "the idle client's request"
            );
        }
        Hold::HalfSent(_) => s.write_all(HALF_HEAD).unwrap(),
        Hold::Nothing => {}
    }
    s.set_nonblocking(true).unwrap();
    s
}

/// Whether the server closed `s` (EOF or reset); bytes it sent are read and dropped.
fn closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

impl Holder {
    /// Opens the connections `hold` asks for and keeps them open until [`Holder::stop`].
    pub fn start(addr: SocketAddr, hold: Hold) -> Holder {
        let n = match hold {
            Hold::Nothing => 0,
            Hold::Idle(n) | Hold::HalfSent(n) => n,
        };
        let mut conns: Vec<TcpStream> = (0..n).map(|_| open(addr, hold)).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let reopened = Arc::new(AtomicU64::new(0));
        let thread = std::thread::spawn({
            let (stop, reopened) = (stop.clone(), reopened.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    for c in conns.iter_mut() {
                        if closed(c) {
                            *c = open(addr, hold);
                            reopened.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
        });
        Holder {
            stop,
            reopened,
            thread: Some(thread),
        }
    }

    /// Stops holding (the connections close); how many had to be opened again.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.reopened.load(Ordering::Relaxed)
    }
}
