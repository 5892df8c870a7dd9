//! The `--web.*` flags as typed (clap, with `MIGRATION_EXPORTER_WEB_*` environment fallbacks and
//! typed value parsers) and their conversion into [`WebSettings`], which also reads and checks the
//! web configuration file so that a mistake stops the program at start with one line.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::config::{self, LoadedConfig};

/// The default listen address, every IPv4 interface on port 10940: outside 9100-9999, where most
/// exporters' allocated ports are.
pub const DEFAULT_LISTEN_ADDRESS: &str = ":10940";

/// Parses a positive humantime duration ("30s", "1h30m").
pub fn positive_duration(value: &str) -> Result<Duration, String> {
    match humantime::parse_duration(value) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("a duration above zero, like 30s or 5m".into()),
        Err(e) => Err(format!("a duration like 30s, 5m or 1h ({e})")),
    }
}

/// Parses `HOST:PORT`, `[IPV6]:PORT`, or `:PORT` for every IPv4 interface.
pub fn listen_address(value: &str) -> Result<SocketAddr, String> {
    let full = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_owned()
    };
    full.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            "HOST:PORT, [IPV6]:PORT or :PORT, like :10940, 127.0.0.1:10940 or [::1]:10940".into()
        })
}

/// The HTTP side's flags; `#[command(flatten)]` them into a binary's flags.
#[derive(Debug, Clone, Args)]
pub struct WebFlags {
    /// Address to serve on, repeatable (IPv4 or IPv6, e.g. 127.0.0.1:10940, [::1]:10940); ":PORT"
    /// listens on all IPv4 interfaces.
    #[arg(
        long = "web.listen-address",
        env = "MIGRATION_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = DEFAULT_LISTEN_ADDRESS,
        value_name = "ADDR",
        value_delimiter = ',',
        action = clap::ArgAction::Append,
        value_parser = listen_address
    )]
    pub listen_addresses: Vec<SocketAddr>,
    /// Web configuration file (TLS, basic auth, headers, rate limit), in the exporter-toolkit format.
    #[arg(
        long = "web.config.file",
        env = "MIGRATION_EXPORTER_WEB_CONFIG_FILE",
        value_name = "PATH"
    )]
    pub config_file: Option<PathBuf>,
    /// How often the web configuration file (and the files it names) is checked for changes.
    #[arg(
        long = "web.config.reload-interval",
        env = "MIGRATION_EXPORTER_WEB_CONFIG_RELOAD_INTERVAL",
        default_value = "5s",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub config_reload_interval: Duration,
    /// Time a client has to send a request's head (and to finish the TLS handshake).
    #[arg(
        long = "web.read-header-timeout",
        env = "MIGRATION_EXPORTER_WEB_READ_HEADER_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub read_header_timeout: Duration,
    /// Time a kept-alive connection may stay silent after a response before it is closed.
    #[arg(
        long = "web.idle-timeout",
        env = "MIGRATION_EXPORTER_WEB_IDLE_TIMEOUT",
        default_value = "2m",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub idle_timeout: Duration,
    /// Connections open at once (default: from the file-descriptor limit); at the bound, the least
    /// recently active connection with no request in flight is closed to make room.
    #[arg(
        long = "web.max-connections",
        env = "MIGRATION_EXPORTER_WEB_MAX_CONNECTIONS",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub max_connections: Option<u32>,
    /// Requests answered at once; one more waits up to 1s for a slot, then gets 503 with
    /// Retry-After. 0: no limit.
    #[arg(
        long = "web.max-requests",
        env = "MIGRATION_EXPORTER_WEB_MAX_REQUESTS",
        default_value = "40",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(0..=100_000)
    )]
    pub max_requests: u32,
    /// Largest request body accepted (413 beyond), e.g. 64KiB.
    #[arg(
        long = "web.max-request-bytes",
        env = "MIGRATION_EXPORTER_WEB_MAX_REQUEST_BYTES",
        default_value = "64KiB",
        value_name = "BYTES",
        value_parser = parse_bytes
    )]
    pub max_request_bytes: u64,
    /// Largest request head (request line and headers) accepted (431 beyond); at least 8KiB.
    #[arg(
        long = "web.max-header-bytes",
        env = "MIGRATION_EXPORTER_WEB_MAX_HEADER_BYTES",
        default_value = "16KiB",
        value_name = "BYTES",
        value_parser = parse_bytes
    )]
    pub max_header_bytes: u64,
    /// On SIGTERM, how long open requests may take to finish before connections are closed.
    #[arg(
        long = "web.shutdown-timeout",
        env = "MIGRATION_EXPORTER_WEB_SHUTDOWN_TIMEOUT",
        default_value = "5s",
        value_name = "DURATION",
        value_parser = positive_duration
    )]
    pub shutdown_timeout: Duration,
}

/// `--web.max-requests` by default, as node_exporter's.
const DEFAULT_MAX_REQUESTS: usize = 40;

/// TLS handshakes in flight at most: each holds its hello and key-exchange state.
const DEFAULT_MAX_TLS_HANDSHAKES: usize = 256;

/// The HTTP side as used: addresses, limits and the checked web configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub listen_addresses: Vec<SocketAddr>,
    pub config_file: Option<PathBuf>,
    pub config_reload_interval: Duration,
    pub read_header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Lowers the connection bound derived from the file-descriptor limit.
    pub max_connections: Option<usize>,
    /// Requests in flight at most (0: no limit).
    pub max_requests: usize,
    /// TLS connections in their handshake at most; one more evicts the oldest of them.
    pub max_tls_handshakes: usize,
    pub max_request_bytes: usize,
    pub max_header_bytes: usize,
    pub shutdown_timeout: Duration,
    /// The web configuration file as read at start (`None` without a file).
    pub(crate) initial: Option<LoadedConfig>,
}

impl WebSettings {
    /// Plain HTTP on `addresses` with the flags' defaults and no configuration file.
    pub fn plain(addresses: Vec<SocketAddr>) -> WebSettings {
        WebSettings {
            listen_addresses: addresses,
            config_file: None,
            config_reload_interval: Duration::from_secs(5),
            read_header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_connections: None,
            max_requests: DEFAULT_MAX_REQUESTS,
            max_tls_handshakes: DEFAULT_MAX_TLS_HANDSHAKES,
            max_request_bytes: 64 * 1024,
            max_header_bytes: 16 * 1024,
            shutdown_timeout: Duration::from_secs(5),
            initial: None,
        }
    }

    /// The same settings with the web configuration file at `path`, read and checked now.
    pub fn with_config_file(mut self, path: PathBuf) -> Result<WebSettings, WebFlagError> {
        let loaded = config::load(&path).map_err(|e| WebFlagError {
            flag: "web.config.file",
            value: path.display().to_string(),
            reason: e.to_string(),
        })?;
        self.initial = Some(loaded);
        self.config_file = Some(path);
        Ok(self)
    }

    /// Whether the configuration read at start serves TLS.
    pub fn tls(&self) -> bool {
        self.initial.as_ref().is_some_and(|c| c.tls.is_some())
    }
}

/// A flag whose value cannot be used, with the reason; one line.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid value {value:?} for --{flag}: {reason}")]
pub struct WebFlagError {
    pub flag: &'static str,
    pub value: String,
    pub reason: String,
}

/// Smallest header limit: the HTTP/1 parser needs a buffer of at least 8 KiB.
const MIN_HEADER_BYTES: u64 = 8 * 1024;

impl WebFlags {
    /// Converts the flags, reading and checking the web configuration file.
    pub fn to_settings(&self) -> Result<WebSettings, WebFlagError> {
        if self.max_header_bytes < MIN_HEADER_BYTES {
            return Err(WebFlagError {
                flag: "web.max-header-bytes",
                value: self.max_header_bytes.to_string(),
                reason: "at least 8KiB (8192 bytes)".into(),
            });
        }
        let to_usize = |flag: &'static str, v: u64| {
            usize::try_from(v).map_err(|_| WebFlagError {
                flag,
                value: v.to_string(),
                reason: "a smaller size".into(),
            })
        };
        let mut addresses = self.listen_addresses.clone();
        addresses.dedup();
        let settings = WebSettings {
            listen_addresses: addresses,
            config_file: None,
            config_reload_interval: self.config_reload_interval,
            read_header_timeout: self.read_header_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections.map(|m| m as usize),
            max_requests: self.max_requests as usize,
            max_tls_handshakes: DEFAULT_MAX_TLS_HANDSHAKES,
            max_request_bytes: to_usize("web.max-request-bytes", self.max_request_bytes)?,
            max_header_bytes: to_usize("web.max-header-bytes", self.max_header_bytes)?,
            shutdown_timeout: self.shutdown_timeout,
            initial: None,
        };
        match &self.config_file {
            Some(path) if !path.as_os_str().is_empty() => settings.with_config_file(path.clone()),
            _ => Ok(settings),
        }
    }
}

/// A size in bytes: a whole number with an optional unit (B, KiB, MiB, KB, MB; K and M are 1024).
fn parse_bytes(value: &str) -> Result<u64, String> {
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (digits, unit) = v.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| "expected a size like 65536, 64KiB or 1MiB".to_owned())?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1024,
        "KB" | "kB" => 1000,
        "M" | "MiB" => 1024 * 1024,
        "MB" => 1_000_000,
        other => return Err(format!("unknown unit {other:?}: expected B, KiB or MiB")),
    };
    n.checked_mul(mult)
        .filter(|n| *n > 0)
        .ok_or_else(|| "expected a size above zero, like 64KiB".to_owned())
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        web: WebFlags,
    }

    fn parse(args: &[&str]) -> Result<WebFlags, clap::Error> {
        let mut all = vec!["x"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|c| c.web)
    }

    #[test]
    fn defaults() {
        let s = parse(&[]).unwrap().to_settings().unwrap();
        assert_eq!(s.listen_addresses, vec!["0.0.0.0:10940".parse().unwrap()]);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(s.max_header_bytes, 16384);
        assert_eq!(s.max_connections, None, "from the file-descriptor limit");
        assert_eq!(s.max_requests, 40);
        assert_eq!(s.idle_timeout, Duration::from_secs(120));
        assert!(s.initial.is_none());
    }

    #[test]
    fn listen_address_repeats_and_takes_ipv6() {
        let f = parse(&[
            "--web.listen-address",
            "127.0.0.1:1",
            "--web.listen-address",
            "[::1]:2",
        ])
        .unwrap();
        assert_eq!(
            f.listen_addresses,
            vec![
                "127.0.0.1:1".parse::<SocketAddr>().unwrap(),
                "[::1]:2".parse().unwrap()
            ]
        );
        let e = parse(&["--web.listen-address", "nowhere"]).unwrap_err();
        assert!(e.to_string().contains("--web.listen-address"), "{e}");
    }

    #[test]
    fn typed_values_name_the_flag() {
        for (flag, bad) in [
            ("--web.read-header-timeout", "soon"),
            ("--web.shutdown-timeout", "0s"),
            ("--web.max-connections", "0"),
            ("--web.max-requests", "many"),
            ("--web.idle-timeout", "0s"),
            ("--web.max-request-bytes", "lots"),
        ] {
            let e = parse(&[flag, bad]).err().unwrap();
            assert!(e.to_string().contains(flag), "{e}");
        }
        let e = parse(&["--web.max-header-bytes", "1KiB"])
            .unwrap()
            .to_settings()
            .unwrap_err();
        assert_eq!(e.flag, "web.max-header-bytes");
        let e = parse(&["--web.config.file", "/nonexistent/web.yml"])
            .unwrap()
            .to_settings()
            .unwrap_err();
        assert_eq!(e.flag, "web.config.file");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("64KiB"), Ok(65536));
        assert_eq!(parse_bytes("1MiB"), Ok(1 << 20));
        assert_eq!(parse_bytes("100"), Ok(100));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("1GiB").is_err());
    }
    #[test]
    fn listen_addresses_accept_a_bare_port() {
        assert_eq!(
            listen_address(DEFAULT_LISTEN_ADDRESS).unwrap().port(),
            10940
        );
        assert!(listen_address("[::1]:80").unwrap().is_ipv6());
        assert!(listen_address("nowhere").is_err());
    }
}
