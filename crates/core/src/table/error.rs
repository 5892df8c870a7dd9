//! Typed errors of the table library: every DynamoDB failure is reduced to an [`ErrorKind`]
//! (the `kind` label of `migration_exporter_refresh_errors_total`) and a readable message.

use std::fmt;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// What went wrong, coarsely enough to act on (and to use as a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// DynamoDB refused for capacity (throughput exceeded, throttling, request limit).
    Throttled,
    /// A connect, attempt or operation timeout.
    Timeout,
    /// The endpoint could not be reached or the connection broke.
    Network,
    /// Missing, invalid or expired credentials.
    Credentials,
    /// Valid credentials whose policy does not allow the action (`AccessDeniedException`, or an
    /// HTTP 403): the IAM policy needs the action (see `deploy/iam/policy.json`).
    AccessDenied,
    /// The table or index does not exist.
    TableNotFound,
    /// DynamoDB rejected the request as malformed.
    Validation,
    /// DynamoDB answered with a server error or an unreadable response.
    Service,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Throttled,
        ErrorKind::Timeout,
        ErrorKind::Network,
        ErrorKind::Credentials,
        ErrorKind::AccessDenied,
        ErrorKind::TableNotFound,
        ErrorKind::Validation,
        ErrorKind::Service,
        ErrorKind::Other,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::Credentials => "credentials",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::TableNotFound => "table_not_found",
            ErrorKind::Validation => "validation",
            ErrorKind::Service => "service",
            ErrorKind::Other => "other",
        }
    }

    /// Position in [`ErrorKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Maps a DynamoDB error code to a kind.
    pub fn from_code(code: &str) -> ErrorKind {
        match code {
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded" => ErrorKind::Throttled,
            "ResourceNotFoundException" => ErrorKind::TableNotFound,
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "MissingAuthenticationToken"
            | "ExpiredTokenException"
            | "IncompleteSignature" => ErrorKind::Credentials,
            "AccessDeniedException" => ErrorKind::AccessDenied,
            "ValidationException" | "SerializationException" => ErrorKind::Validation,
            _ => ErrorKind::Service,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error and its sources on one line, `outer: inner: root`, each level said once.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    // Some SDK messages span lines (the credential chain lists every provider): keep one line.
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What to do about an error of `kind`, where the message alone does not say.
fn hint(kind: ErrorKind, operation: &str) -> String {
    match kind {
        ErrorKind::AccessDenied => format!(
            " (the IAM policy must allow dynamodb:{operation} on the table and its indexes: see deploy/iam/policy.json)"
        ),
        _ => String::new(),
    }
}

/// A failed table operation.
#[derive(Debug, thiserror::Error)]
#[error("{operation} on {table} failed ({kind}): {message}{}", hint(*.kind, .operation))]
pub struct TableError {
    /// The DynamoDB API call (`Scan`, `Query`, ...).
    pub operation: &'static str,
    /// The table (and index) addressed.
    pub table: String,
    pub kind: ErrorKind,
    pub message: String,
}

impl TableError {
    /// Classifies an SDK error.
    pub fn from_sdk<E>(
        operation: &'static str,
        table: &str,
        err: SdkError<E, HttpResponse>,
    ) -> TableError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let message = error_chain(&err);
        let kind = match &err {
            SdkError::TimeoutError(_) => ErrorKind::Timeout,
            SdkError::DispatchFailure(d) if d.is_timeout() => ErrorKind::Timeout,
            SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
                if message.contains("credentials") =>
            {
                ErrorKind::Credentials
            }
            SdkError::DispatchFailure(_) => ErrorKind::Network,
            // IAM-enforcing endpoints other than DynamoDB itself answer a denial with a bare 403.
            _ if err.raw_response().map(|r| r.status().as_u16()) == Some(403) => {
                ErrorKind::AccessDenied
            }
            SdkError::ResponseError(_) => ErrorKind::Service,
            SdkError::ServiceError(_) => {
                err.code().map_or(ErrorKind::Service, ErrorKind::from_code)
            }
            _ => ErrorKind::Other,
        };
        TableError {
            operation,
            table: table.to_owned(),
            kind,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_classify_as_throttled() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            assert_eq!(ErrorKind::from_code(code), ErrorKind::Throttled);
        }
    }

    #[test]
    fn unknown_codes_classify_as_service() {
        assert_eq!(
            ErrorKind::from_code("InternalServerError"),
            ErrorKind::Service
        );
        assert_eq!(
            ErrorKind::from_code("ResourceNotFoundException"),
            ErrorKind::TableNotFound
        );
    }

    #[test]
    fn access_denied_is_its_own_kind_and_names_the_action_and_the_policy() {
        assert_eq!(
            ErrorKind::from_code("AccessDeniedException"),
            ErrorKind::AccessDenied
        );
        let e = TableError {
            operation: "Query",
            table: "migration-progress".into(),
            kind: ErrorKind::AccessDenied,
            message: "not authorized".into(),
        };
        let text = e.to_string();
        assert!(text.contains("(access_denied)"), "{text}");
        assert!(text.contains("dynamodb:Query"), "{text}");
        assert!(text.contains("deploy/iam/policy.json"), "{text}");
    }

    #[test]
    fn kind_index_matches_position_in_all() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
    }
}
