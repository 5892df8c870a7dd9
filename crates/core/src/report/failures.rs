//! The failed spaces by error class, as people read them: the classes with the most failed
//! spaces, each with whether a retry can help, its newest failure and a few example spaces, then
//! the rest as `other` (one row per retryability), so the rows add up to every failed space.

use serde::Serialize;

use super::iso_opt;
use crate::failure::{OTHER, Retryable};
use crate::model::Timestamp;
use crate::state::snapshot::FailureClasses;

/// One class of failures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureClassReport {
    pub error_class: String,
    pub retryable: Retryable,
    pub failed: u64,
    /// The newest `updatedAt` of its failed spaces; ISO 8601 in JSON.
    #[serde(serialize_with = "iso_opt")]
    pub newest_failed_at: Option<Timestamp>,
    /// Its newest failed spaces, newest first (none for `other`).
    pub examples: Vec<String>,
}

/// The rows of `classes`: the listed classes (most failed first), then `other` by retryability.
pub fn classes(classes: &FailureClasses) -> Vec<FailureClassReport> {
    let listed = classes.top.iter().map(|c| FailureClassReport {
        error_class: c.class.name.to_string(),
        retryable: c.class.retryable,
        failed: c.failed,
        newest_failed_at: c.newest,
        examples: c.examples.clone(),
    });
    let other = Retryable::ALL
        .into_iter()
        .filter(|r| classes.other[r.index()] > 0)
        .map(|r| FailureClassReport {
            error_class: OTHER.to_owned(),
            retryable: r,
            failed: classes.other[r.index()],
            newest_failed_at: None,
            examples: Vec::new(),
        });
    listed.chain(other).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::ErrorClass;
    use crate::state::snapshot::ClassCount;

    #[test]
    fn the_rows_add_up_to_every_failed_space() {
        let fc = FailureClasses {
            top: vec![ClassCount {
                class: ErrorClass::new("timeout", Retryable::Yes),
                failed: 5,
                newest: Some(Timestamp::from_millis(1_000)),
                examples: vec!["a".into()],
            }],
            other: [0, 2, 1],
            distinct: 4,
        };
        let rows = classes(&fc);
        let names: Vec<(&str, Retryable, u64)> = rows
            .iter()
            .map(|r| (r.error_class.as_str(), r.retryable, r.failed))
            .collect();
        assert_eq!(
            names,
            [
                ("timeout", Retryable::Yes, 5),
                (OTHER, Retryable::No, 2),
                (OTHER, Retryable::Unknown, 1)
            ]
        );
        assert_eq!(rows.iter().map(|r| r.failed).sum::<u64>(), fc.failed());
    }
}
