//! Every table operation round-trips against DynamoDB Local, including reads that span many
//! 1 MB pages (where the original monitor stopped after the first).

use migration_testkit::WorkerWrites;
use std::collections::BTreeSet;
use std::time::Duration;

use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::table::item;
use migration_testkit::writes::{Created, NewSpace, WriteError};

/// About 1 KB per item, so a thousand items span more than one 1 MB page.
fn padding() -> String {
    "x".repeat(1000)
}

fn record(
    customer: &str,
    space: &str,
    status: Status,
    instance: &str,
    updated: Timestamp,
) -> SpaceProgress {
    let completed = if status == Status::Completed { 100 } else { 10 };
    let mut p = crate::harness::record(
        customer, space, status, instance, "1", 100, completed, updated,
    );
    p.last_processed_upload = Some(format!("bafkrei{}", padding()));
    p.error = (status == Status::Failed).then(|| format!("Connection timeout {}", padding()));
    p.created_at = Some(updated.minus(Duration::from_secs(60)));
    p
}

#[tokio::test]
async fn create_is_resume_safe_and_updates_round_trip() {
    let table = crate::harness::new_table("ops").await;
    let key = SpaceKey::new("did:mailto:example.com:user", "did:key:z6Mkk1");
    let t0 = Timestamp::parse_iso("2025-10-31T14:00:00.000Z").unwrap();
    let new = NewSpace {
        key: key.clone(),
        total_uploads: 1000,
        instance_id: "2".into(),
        worker_id: "5".into(),
    };
    assert_eq!(table.get_space_progress(&key).await.unwrap(), None);
    assert_eq!(
        table.create_space_progress(&new, t0).await.unwrap(),
        Created::Inserted
    );

    let t1 = Timestamp::parse_iso("2025-10-31T15:15:23.456Z").unwrap();
    table
        .update_space_progress(&key, 234, "bafkreiabc123", t1)
        .await
        .unwrap();
    // A resumed worker creating again leaves the record alone.
    let t2 = Timestamp::parse_iso("2025-10-31T16:00:00.000Z").unwrap();
    assert_eq!(
        table.create_space_progress(&new, t2).await.unwrap(),
        Created::AlreadyExists
    );

    let got = table.get_space_progress(&key).await.unwrap().unwrap();
    assert!(got.problems.is_empty(), "{:?}", got.problems);
    assert_eq!(got.status, Status::InProgress);
    assert_eq!((got.completed_uploads, got.total_uploads), (234, 1000));
    assert_eq!(got.last_processed_upload.as_deref(), Some("bafkreiabc123"));
    assert_eq!(
        (got.instance_id.as_deref(), got.worker_id.as_deref()),
        (Some("2"), Some("5"))
    );
    assert_eq!(got.created_at, Some(t0));
    assert_eq!(got.updated_at, Some(t1));

    table
        .mark_space_failed(&key, "Invalid delegation proof", t2)
        .await
        .unwrap();
    let failed = table.get_space_progress(&key).await.unwrap().unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.error.as_deref(), Some("Invalid delegation proof"));
    assert_eq!(failed.updated_at, Some(t2));

    table.mark_space_completed(&key, t2).await.unwrap();
    let done = table.get_space_progress(&key).await.unwrap().unwrap();
    assert_eq!(done.status, Status::Completed);
    assert_eq!(
        done.error.as_deref(),
        Some(""),
        "workers clear the error to ''"
    );
    assert!(
        table
            .meter()
            .capacity_units(migration_core::table::meter::ReadOp::Get)
            > 0.0
    );
}

#[tokio::test]
async fn updating_a_space_without_a_record_fails_instead_of_creating_one() {
    let table = crate::harness::new_table("ops").await;
    let key = SpaceKey::new("did:mailto:nobody", "did:key:none");
    let err = table
        .update_space_progress(&key, 1, "bafkrei", Timestamp::now())
        .await
        .unwrap_err();
    assert!(matches!(err, WriteError::NoSuchSpace { .. }), "{err}");
    let err = table
        .mark_space_completed(&key, Timestamp::now())
        .await
        .unwrap_err();
    assert!(matches!(err, WriteError::NoSuchSpace { .. }), "{err}");
    assert_eq!(table.get_space_progress(&key).await.unwrap(), None);
}

#[tokio::test]
async fn reads_page_past_one_megabyte() {
    let table = crate::harness::new_table("pages").await;
    let now = Timestamp::now();
    let old = now.minus(Duration::from_secs(3 * 3600));
    let mut records = Vec::new();
    // One customer with 1,300 spaces (~1.4 MB): the customer query spans pages.
    for i in 0..1300 {
        let status = [Status::Completed, Status::Pending][i % 2];
        records.push(record(
            "did:mailto:big",
            &format!("did:key:big{i:05}"),
            status,
            "1",
            now,
        ));
    }
    // 1,200 failed spaces (~2.6 MB with their errors) spread over customers and instances.
    for i in 0..1200 {
        let instance = ["2", "3"][i % 2];
        records.push(record(
            &format!("did:mailto:c{}", i % 97),
            &format!("did:key:f{i:05}"),
            Status::Failed,
            instance,
            now,
        ));
    }
    // In-progress spaces: 1,100 stuck (old) and 300 fresh.
    for i in 0..1400 {
        let updated = if i < 1100 {
            old.minus(Duration::from_secs(i as u64))
        } else {
            now
        };
        records.push(record(
            &format!("did:mailto:c{}", i % 89),
            &format!("did:key:p{i:05}"),
            Status::InProgress,
            "3",
            updated,
        ));
    }
    let total = records.len();
    table
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();

    let keys = |v: &[SpaceProgress]| {
        v.iter()
            .map(|p| p.key.space.clone())
            .collect::<BTreeSet<_>>()
    };

    let customer = table.get_customer_spaces("did:mailto:big").await.unwrap();
    assert_eq!(customer.len(), 1300);
    assert!(customer.iter().all(|p| p.key.customer == "did:mailto:big"));

    let failed = table.get_failed_migrations().await.unwrap();
    assert_eq!(failed.len(), 1200);
    assert!(failed.iter().all(|p| {
        p.status == Status::Failed
            && p.error
                .as_deref()
                .unwrap()
                .starts_with("Connection timeout")
    }));

    let stuck = table
        .get_stuck_migrations(now.minus(Duration::from_secs(3600)))
        .await
        .unwrap();
    assert_eq!(stuck.len(), 1100);
    let expected: BTreeSet<String> = (0..1100).map(|i| format!("did:key:p{i:05}")).collect();
    assert_eq!(keys(&stuck), expected);
    assert!(
        stuck.windows(2).all(|w| w[0].updated_at <= w[1].updated_at),
        "oldest first"
    );

    let instance3 = table.get_instance_spaces("3").await.unwrap();
    assert_eq!(instance3.len(), 600 + 1400);
    assert!(
        instance3
            .iter()
            .all(|p| p.instance_id.as_deref() == Some("3"))
    );

    let all = table.scan_all_progress().await.unwrap();
    assert_eq!(all.len(), total);
    assert_eq!(keys(&all).len(), total);
    let decoded: Vec<_> = records
        .iter()
        .map(|r| item::decode(&item::encode(r)))
        .collect();
    let mut all_sorted = all.clone();
    all_sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut expected_sorted = decoded;
    expected_sorted.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(all_sorted, expected_sorted, "every attribute round-trips");

    let meter = table.meter();
    use migration_core::table::meter::ReadOp;
    assert!(
        meter.requests(ReadOp::Scan) > 2,
        "scans paged: {}",
        meter.requests(ReadOp::Scan)
    );
    assert!(
        meter.requests(ReadOp::Query) > 3,
        "queries paged: {}",
        meter.requests(ReadOp::Query)
    );
    assert!(meter.capacity_units(ReadOp::Scan) > 0.0);
}

#[tokio::test]
async fn starting_a_queued_space_replaces_its_pending_record_and_nothing_else() {
    let table = crate::harness::new_table("queued").await;
    let t0 = Timestamp::parse_iso("2025-10-31T14:00:00.000Z").unwrap();
    let queued = record(
        "did:mailto:example.com:q",
        "did:key:z6MkQueued",
        Status::Pending,
        "3",
        t0,
    );
    table.put_items(vec![item::encode(&queued)]).await.unwrap();
    let new = NewSpace {
        key: queued.key.clone(),
        total_uploads: 100,
        instance_id: "3".into(),
        worker_id: "1".into(),
    };
    let t1 = Timestamp::parse_iso("2025-10-31T15:00:00.000Z").unwrap();
    assert_eq!(
        table.create_space_progress(&new, t1).await.unwrap(),
        Created::Inserted
    );
    let got = table
        .get_space_progress(&queued.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.status, got.completed_uploads, got.updated_at),
        (Status::InProgress, 0, Some(t1))
    );
    // Once started, a second start (a resumed worker) leaves it alone.
    let t2 = Timestamp::parse_iso("2025-10-31T16:00:00.000Z").unwrap();
    assert_eq!(
        table.create_space_progress(&new, t2).await.unwrap(),
        Created::AlreadyExists
    );
    let again = table
        .get_space_progress(&queued.key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.updated_at, Some(t1));
}
