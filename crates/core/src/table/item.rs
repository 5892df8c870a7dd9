//! Conversion between DynamoDB attribute maps and [`SpaceProgress`]. Decoding never fails: every
//! missing, mistyped or absurd attribute becomes an [`InvalidReason`] on the record, so readers
//! can count bad items (and keep going) instead of crashing or silently skipping them.
//! Encoding (the workers' side) is for tests, demos and benches.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::model::{InvalidReason, Problems, SpaceKey, SpaceProgress, Status, Timestamp};

/// A DynamoDB item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

/// Attribute names of the table schema.
pub mod attr {
    pub const CUSTOMER: &str = "customer";
    pub const SPACE: &str = "space";
    pub const STATUS: &str = "status";
    pub const TOTAL_UPLOADS: &str = "totalUploads";
    pub const COMPLETED_UPLOADS: &str = "completedUploads";
    pub const LAST_PROCESSED_UPLOAD: &str = "lastProcessedUpload";
    pub const INSTANCE_ID: &str = "instanceId";
    pub const WORKER_ID: &str = "workerId";
    pub const ERROR: &str = "error";
    pub const CREATED_AT: &str = "createdAt";
    pub const UPDATED_AT: &str = "updatedAt";
}

/// Upload counts above this are treated as corrupt: no space holds a trillion uploads.
pub const MAX_UPLOADS: u64 = 1_000_000_000_000;

/// Decodes one item. Attributes that cannot be read leave a neutral value (zero, `None`,
/// [`Status::Unknown`]) and a reason in `problems`.
pub fn decode(item: &Item) -> SpaceProgress {
    let mut problems = Problems::default();
    let mut key_part = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => {
            problems.insert(InvalidReason::MissingKey);
            String::new()
        }
    };
    let key = SpaceKey {
        customer: key_part(attr::CUSTOMER),
        space: key_part(attr::SPACE),
    };
    let status = match item.get(attr::STATUS) {
        None | Some(AttributeValue::Null(_)) => {
            problems.insert(InvalidReason::MissingStatus);
            Status::Unknown
        }
        Some(AttributeValue::S(s)) => Status::parse(s).unwrap_or_else(|| {
            problems.insert(InvalidReason::UnknownStatus);
            Status::Unknown
        }),
        Some(_) => {
            problems.insert(InvalidReason::MistypedAttribute);
            Status::Unknown
        }
    };
    let total_uploads = number(item, attr::TOTAL_UPLOADS, &mut problems);
    let completed_uploads = number(item, attr::COMPLETED_UPLOADS, &mut problems);
    if completed_uploads > total_uploads {
        problems.insert(InvalidReason::CompletedExceedsTotal);
    }
    let created_at = timestamp(item, attr::CREATED_AT, &mut problems);
    let updated_at = timestamp(item, attr::UPDATED_AT, &mut problems);
    // A NULL is as unreadable as an absent attribute: without it the space could never be
    // judged stuck, so it must be counted, not treated as "no problem".
    if matches!(
        item.get(attr::UPDATED_AT),
        None | Some(AttributeValue::Null(_))
    ) {
        problems.insert(InvalidReason::MissingUpdatedAt);
    }
    SpaceProgress {
        key,
        status,
        total_uploads,
        completed_uploads,
        last_processed_upload: string(item, attr::LAST_PROCESSED_UPLOAD, &mut problems),
        instance_id: string(item, attr::INSTANCE_ID, &mut problems),
        worker_id: string(item, attr::WORKER_ID, &mut problems),
        error: string(item, attr::ERROR, &mut problems),
        created_at,
        updated_at,
        problems,
    }
}

/// A non-negative integer count; absent means 0 (pending spaces may not have counts yet).
fn number(item: &Item, name: &str, problems: &mut Problems) -> u64 {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => 0,
        Some(AttributeValue::N(n)) => match n.trim().parse::<u64>() {
            Ok(v) if v <= MAX_UPLOADS => v,
            _ => {
                problems.insert(InvalidReason::InvalidNumber);
                0
            }
        },
        Some(_) => {
            problems.insert(InvalidReason::MistypedAttribute);
            0
        }
    }
}

/// An optional string; a number is accepted as its decimal text (instance ids are sometimes
/// written as numbers), anything else is mistyped.
fn string(item: &Item, name: &str, problems: &mut Problems) -> Option<String> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => None,
        Some(AttributeValue::S(s)) => Some(s.clone()),
        Some(AttributeValue::N(n)) => Some(n.clone()),
        Some(_) => {
            problems.insert(InvalidReason::MistypedAttribute);
            None
        }
    }
}

fn timestamp(item: &Item, name: &str, problems: &mut Problems) -> Option<Timestamp> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => None,
        Some(AttributeValue::S(s)) => Timestamp::parse_iso(s).or_else(|| {
            problems.insert(InvalidReason::InvalidTimestamp);
            None
        }),
        Some(_) => {
            problems.insert(InvalidReason::MistypedAttribute);
            None
        }
    }
}

/// Encodes a record as the workers write it (absent optional attributes are left out).
pub fn encode(p: &SpaceProgress) -> Item {
    let mut item = Item::new();
    let s = |v: &str| AttributeValue::S(v.to_owned());
    item.insert(attr::CUSTOMER.into(), s(&p.key.customer));
    item.insert(attr::SPACE.into(), s(&p.key.space));
    item.insert(attr::STATUS.into(), s(p.status.as_str()));
    item.insert(
        attr::TOTAL_UPLOADS.into(),
        AttributeValue::N(p.total_uploads.to_string()),
    );
    item.insert(
        attr::COMPLETED_UPLOADS.into(),
        AttributeValue::N(p.completed_uploads.to_string()),
    );
    let optional = [
        (
            attr::LAST_PROCESSED_UPLOAD,
            p.last_processed_upload.as_deref(),
        ),
        (attr::INSTANCE_ID, p.instance_id.as_deref()),
        (attr::WORKER_ID, p.worker_id.as_deref()),
        (attr::ERROR, p.error.as_deref()),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            item.insert(name.into(), s(v));
        }
    }
    for (name, value) in [
        (attr::CREATED_AT, p.created_at),
        (attr::UPDATED_AT, p.updated_at),
    ] {
        if let Some(t) = value {
            item.insert(name.into(), s(&t.to_iso()));
        }
    }
    item
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }
    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.into())
    }

    fn good_item() -> Item {
        Item::from([
            ("customer".into(), s("did:mailto:example.com:user")),
            ("space".into(), s("did:key:z6Mkk")),
            ("status".into(), s("in-progress")),
            ("totalUploads".into(), n("1000")),
            ("completedUploads".into(), n("234")),
            ("instanceId".into(), s("2")),
            ("workerId".into(), s("5")),
            ("createdAt".into(), s("2025-10-31T14:00:00.000Z")),
            ("updatedAt".into(), s("2025-10-31T15:15:23.000Z")),
        ])
    }

    #[test]
    fn decodes_a_well_formed_item_without_problems() {
        let p = decode(&good_item());
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.status, Status::InProgress);
        assert_eq!((p.completed_uploads, p.total_uploads), (234, 1000));
        assert_eq!(p.instance_id.as_deref(), Some("2"));
        assert_eq!(p.updated_at.unwrap().to_iso(), "2025-10-31T15:15:23.000Z");
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let p = decode(&good_item());
        assert_eq!(decode(&encode(&p)), p);
    }

    #[test]
    fn unknown_status_is_kept_as_unknown_and_flagged() {
        let mut item = good_item();
        item.insert("status".into(), s("paused"));
        let p = decode(&item);
        assert_eq!(p.status, Status::Unknown);
        assert!(p.problems.contains(InvalidReason::UnknownStatus));
    }

    #[test]
    fn missing_status_is_flagged() {
        let mut item = good_item();
        item.remove("status");
        let p = decode(&item);
        assert_eq!(p.status, Status::Unknown);
        assert_eq!(
            p.problems.iter().collect::<Vec<_>>(),
            vec![InvalidReason::MissingStatus]
        );
    }

    #[test]
    fn mistyped_and_absurd_numbers_count_as_zero_and_are_flagged() {
        for (value, reason) in [
            (s("234"), InvalidReason::MistypedAttribute),
            (n("-5"), InvalidReason::InvalidNumber),
            (n("2.5"), InvalidReason::InvalidNumber),
            (n("1e40"), InvalidReason::InvalidNumber),
            (n("99999999999999999999999"), InvalidReason::InvalidNumber),
        ] {
            let mut item = good_item();
            item.insert("completedUploads".into(), value);
            let p = decode(&item);
            assert_eq!(p.completed_uploads, 0);
            assert_eq!(p.problems.iter().collect::<Vec<_>>(), vec![reason]);
        }
    }

    #[test]
    fn completed_above_total_is_flagged_but_kept() {
        let mut item = good_item();
        item.insert("completedUploads".into(), n("2000"));
        let p = decode(&item);
        assert_eq!(p.completed_uploads, 2000);
        assert!(p.problems.contains(InvalidReason::CompletedExceedsTotal));
    }

    #[test]
    fn bad_or_missing_updated_at_is_flagged() {
        let mut item = good_item();
        item.insert("updatedAt".into(), s("last tuesday"));
        assert!(
            decode(&item)
                .problems
                .contains(InvalidReason::InvalidTimestamp)
        );
        item.remove("updatedAt");
        let p = decode(&item);
        assert_eq!(p.updated_at, None);
        assert!(p.problems.contains(InvalidReason::MissingUpdatedAt));
    }

    #[test]
    fn a_null_updated_at_is_flagged_like_a_missing_one() {
        let mut item = good_item();
        item.insert("updatedAt".into(), AttributeValue::Null(true));
        let p = decode(&item);
        assert_eq!(p.updated_at, None);
        assert!(p.problems.contains(InvalidReason::MissingUpdatedAt));
    }

    #[test]
    fn pending_space_without_counts_is_fine() {
        let mut item = good_item();
        item.insert("status".into(), s("pending"));
        item.remove("totalUploads");
        item.remove("completedUploads");
        let p = decode(&item);
        assert!(p.problems.is_empty());
        assert_eq!(p.total_uploads, 0);
    }

    #[test]
    fn numeric_instance_id_reads_as_text() {
        let mut item = good_item();
        item.insert("instanceId".into(), n("3"));
        assert_eq!(decode(&item).instance_id.as_deref(), Some("3"));
    }
}
