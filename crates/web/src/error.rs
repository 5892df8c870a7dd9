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
            key: escape_breaks(&key.into()),
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

/// `s` with every line break and control character escaped (`\n`, `\u{2028}`), so that a line
/// quoting user-controlled text (a key from the file, a flag's value) stays one line.
pub fn escape_breaks(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || (c.is_whitespace() && c != ' ') {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the parser's property test: a user name with a line break made the error two
    /// lines.
    #[test]
    fn a_key_with_line_breaks_stays_one_line() {
        let e = ConfigError::new("basic_auth_users.a\nb\r\u{2028}c\td", "not a bcrypt hash");
        assert_eq!(e.key, "basic_auth_users.a\\nb\\r\\u{2028}c\\td");
        assert_eq!(e.to_string().lines().count(), 1);
        assert_eq!(
            ConfigError::new("basic_auth_users.o'brien x", "r").key,
            "basic_auth_users.o'brien x"
        );
    }
}
