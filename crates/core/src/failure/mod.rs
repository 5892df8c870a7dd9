//! Why spaces fail: every failed space's `error` text gets an [`ErrorClass`], a short name and
//! whether a retry can help ([`Retryable`]). A [`Classifier`] tries the rules of a classes file
//! ([`rules`], a bundled default or `--failures.classes-file`) on the text, first match wins;
//! a text no rule matches is its own class, with its variable parts masked ([`normalise`]) and
//! `retryable="unknown"`. Pure functions of the text and the rules: every replica, and every
//! restart, gives a space the same class. Imports nothing of this crate.

#[cfg(test)]
mod fuzz;
pub mod normalise;
pub mod rules;

use std::fmt;
use std::sync::Arc;

pub use normalise::{NO_ERROR, OTHER, normalise};
pub use rules::{ClassesFileError, Rules};

/// Whether retrying a space of a class can help, as the classes file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Retryable {
    /// A transient error (a timeout, a reset, throttling, a 5xx): restart the worker, it retries.
    Yes,
    /// A permanent error (invalid data, not found, a bad proof): investigate the space.
    No,
    /// No rule names this class.
    Unknown,
}

impl Retryable {
    pub const ALL: [Retryable; 3] = [Retryable::Yes, Retryable::No, Retryable::Unknown];

    /// The `retryable` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Retryable::Yes => "true",
            Retryable::No => "false",
            Retryable::Unknown => "unknown",
        }
    }

    /// Position in [`Retryable::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Retryable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Retryable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A class of failures: its name (a rule's name, or the masked text) and whether to retry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorClass {
    pub name: Box<str>,
    pub retryable: Retryable,
}

impl ErrorClass {
    pub fn new(name: impl Into<Box<str>>, retryable: Retryable) -> Self {
        ErrorClass {
            name: name.into(),
            retryable,
        }
    }
}

/// Classifies error texts with a set of [`Rules`]; cheap to clone and share.
#[derive(Debug, Clone)]
pub struct Classifier {
    rules: Arc<Rules>,
}

impl Default for Classifier {
    /// The bundled rules, compiled once per process and shared.
    fn default() -> Self {
        static BUNDLED: std::sync::OnceLock<Arc<Rules>> = std::sync::OnceLock::new();
        Classifier {
            rules: BUNDLED.get_or_init(|| Arc::new(Rules::bundled())).clone(),
        }
    }
}

impl Classifier {
    pub fn new(rules: Rules) -> Self {
        Classifier {
            rules: Arc::new(rules),
        }
    }

    /// The class of a failed space's `error` (none when it has no such attribute).
    pub fn classify(&self, error: Option<&str>) -> ErrorClass {
        let text = error.map(|e| normalise::prefix(e, normalise::MAX_SCAN_BYTES));
        if let Some(rule) = text
            .filter(|t| !t.trim().is_empty())
            .and_then(|t| self.rules.matching(t))
        {
            return ErrorClass::new(rule.name.as_str(), rule.retryable);
        }
        ErrorClass::new(normalise(text), Retryable::Unknown)
    }

    /// The rules it classifies with.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_rules_name_the_obvious_transient_and_permanent_errors() {
        let c = Classifier::default();
        for (text, name, retryable) in [
            (
                "Connection timeout after 3 retries",
                "timeout",
                Retryable::Yes,
            ),
            ("read ECONNRESET", "connection", Retryable::Yes),
            (
                "ThrottlingException: Rate exceeded",
                "throttled",
                Retryable::Yes,
            ),
            (
                "upstream returned HTTP 503 Service Unavailable",
                "server_error",
                Retryable::Yes,
            ),
            (
                "ValidationException: invalid CAR header",
                "invalid_data",
                Retryable::No,
            ),
            ("blob not found in bucket", "not_found", Retryable::No),
            (
                "invalid proof: delegation expired",
                "invalid_proof",
                Retryable::No,
            ),
        ] {
            assert_eq!(
                c.classify(Some(text)),
                ErrorClass::new(name, retryable),
                "{text}"
            );
        }
    }

    #[test]
    fn unmatched_texts_are_their_masked_selves_with_unknown_retryability() {
        let c = Classifier::default();
        assert_eq!(
            c.classify(Some("disk quota of 12 GB reached on node 7")),
            ErrorClass::new(
                "disk quota of <n> GB reached on node <n>",
                Retryable::Unknown
            )
        );
        assert_eq!(
            c.classify(None),
            ErrorClass::new(NO_ERROR, Retryable::Unknown)
        );
        assert_eq!(
            c.classify(Some("  ")),
            ErrorClass::new(NO_ERROR, Retryable::Unknown)
        );
    }
}
