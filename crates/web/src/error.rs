//! The error a web configuration file can raise: the key and what is wrong, in one line. Its
//! own module so that the file's parser (`config`) and the TLS modules (`tls`, `tls_suites`,
//! `client_auth`) all use it without importing each other.

/// A mistake in the web configuration: the key and what is wrong, one line.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            key: key.into(),
            reason: one_line(&reason.into()),
        }
    }

    /// A mistake in `tls_server_config.<field>`.
    pub(crate) fn tls(field: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::new(format!("tls_server_config.{field}"), reason)
    }
}

/// Collapses whitespace runs (newlines included) to single spaces.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
