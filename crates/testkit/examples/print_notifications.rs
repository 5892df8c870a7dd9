//! A tiny webhook receiver for the demo: listens on a loopback port, answers every request
//! `200 {}`, and prints each notification Alertmanager sends (PagerDuty or Slack payloads from
//! alerts/alertmanager.yml, or Alertmanager's own webhook format) as one line on stdout: time,
//! receiver (the request path), title, and the alert summaries with the oldest stuck spaces.
//!
//! ```text
//! cargo run --release --example print_notifications -- --listen 127.0.0.1:9099
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// The longest body read (Alertmanager's notifications are a few KB).
const MAX_BODY: usize = 1 << 20;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = match (args.next().as_deref(), args.next()) {
        (Some("--listen"), Some(addr)) => addr,
        _ => bail!("usage: print_notifications --listen 127.0.0.1:PORT"),
    };
    let ip = listen.rsplit_once(':').map_or("", |(host, _)| host);
    if !matches!(ip, "127.0.0.1" | "localhost" | "[::1]") {
        bail!("--listen must be a loopback address, not {listen}");
    }
    let listener = TcpListener::bind(&listen).with_context(|| format!("listening on {listen}"))?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        match handle(stream) {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(e) => eprintln!("print_notifications: {e:#}"),
        }
    }
    Ok(())
}

/// Reads one request, answers it, and returns its notification as one line.
fn handle(mut stream: TcpStream) -> anyhow::Result<Option<String>> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length.min(MAX_BODY)];
    reader.read_exact(&mut body)?;
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )?;
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return Ok(None);
    };
    Ok(Some(one_line(path.trim_start_matches('/'), &json)))
}

/// `HH:MM:SS receiver: title | summary | Oldest: ...`.
fn one_line(receiver: &str, v: &Value) -> String {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("");
    // Slack, PagerDuty v2, or Alertmanager's webhook.
    let (title, text) = if !s("/attachments/0/title").is_empty() {
        (s("/attachments/0/title"), s("/attachments/0/text"))
    } else if !s("/payload/summary").is_empty() {
        (s("/payload/summary"), s("/payload/custom_details/alerts"))
    } else {
        (
            s("/commonLabels/alertname"),
            s("/commonAnnotations/summary"),
        )
    };
    let mut parts = vec![title.trim().to_owned()];
    for line in text.lines().map(str::trim) {
        if let Some(summary) = line.strip_prefix("- ") {
            parts.push(summary.to_owned());
        } else if let Some(at) = line.find("Oldest:") {
            parts.push(line[at..].to_owned());
        } else if line.starts_with("Resolved") || line.starts_with("Firing") {
            parts.push(line.trim_end_matches(':').to_owned());
        }
    }
    let now = chrono::Utc::now().format("%H:%M:%S");
    format!("[{now}] {receiver}: {}", parts.join(" | "))
}
