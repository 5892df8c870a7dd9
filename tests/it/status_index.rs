//! The status-index check against DynamoDB Local: an index keyed on other attributes, or
//! projecting too little with INCLUDE, leaves full scans only (INCLUDE with every attribute the
//! aggregates need serves); an index added to the table later is found at a later full scan, and
//! one deleted under a running tracker is checked again at once; and a table deleted and
//! recreated under the running exporter is served again.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use migration_core::model::{SpaceProgress, Status, Timestamp};
use migration_core::state::tracker::{RefreshKind, RefreshSettings, Tracker};
use migration_core::table::meter::ReadOp;
use migration_core::table::{AGGREGATE_ATTRIBUTES, ErrorKind, ProgressTable, item};
use migration_testkit::{SpaceRecord, WorkerWrites};

use crate::harness::Exporter;

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

fn string(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap()
}

/// The index `status-index` keyed on `hash` and `range`, projecting `projection`.
fn status_index(hash: &str, range: &str, projection: Projection) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name("status-index")
        .key_schema(key(hash, KeyType::Hash))
        .key_schema(key(range, KeyType::Range))
        .projection(projection)
        .build()
        .unwrap()
}

/// A projection of every attribute, as the table's own status index has.
fn all() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::All)
        .build()
}

fn include(attributes: &[&str]) -> Projection {
    let mut p = Projection::builder().projection_type(ProjectionType::Include);
    for a in attributes {
        p = p.non_key_attributes(*a);
    }
    p.build()
}

/// A table `name` with the production primary key and `index`, if any; one in-progress space.
async fn table(name: &str, index: Option<GlobalSecondaryIndex>) -> ProgressTable {
    let client = crate::harness::client();
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("customer", KeyType::Hash))
        .key_schema(key("space", KeyType::Range));
    let mut keys = vec!["customer".to_owned(), "space".to_owned()];
    if let Some(index) = index {
        keys.extend(
            index
                .key_schema()
                .iter()
                .map(|k| k.attribute_name().to_owned()),
        );
        create = create.global_secondary_indexes(index);
    }
    for a in &keys {
        create = create.attribute_definitions(string(a));
    }
    create.send().await.unwrap();
    let table = ProgressTable::new(client, name, "status-index");
    table
        .put_items(vec![item::encode(&space(0))])
        .await
        .unwrap();
    table
}

fn space(i: usize) -> SpaceProgress {
    SpaceRecord::new("did:mailto:c", &format!("did:key:s{i}"))
        .status(Status::InProgress)
        .on("1", "1")
        .uploads(10, 5)
        .at(Timestamp::now())
        .build()
}

fn settings() -> RefreshSettings {
    let mut s = RefreshSettings::full_only(Duration::from_secs(3600), 1);
    s.full_interval = Duration::from_secs(3600);
    s.overlap = Duration::from_secs(5);
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn an_index_keyed_otherwise_or_projecting_too_little_leaves_full_scans_only() {
    // Every attribute the aggregates read that is not a key of the table or the index.
    let needed: Vec<&str> = AGGREGATE_ATTRIBUTES
        .iter()
        .copied()
        .filter(|a| !["customer", "space", "status", "updatedAt"].contains(a))
        .collect();
    let cases = [
        (
            "keyed-on-created",
            status_index("status", "createdAt", all()),
            false,
        ),
        (
            "keyed-reversed",
            status_index("updatedAt", "status", all()),
            false,
        ),
        (
            "include-too-little",
            status_index("status", "updatedAt", include(&needed[1..])),
            false,
        ),
        (
            "include-enough",
            status_index("status", "updatedAt", include(&needed)),
            true,
        ),
    ];
    for (name, index, usable) in cases {
        let table = table(&format!("idx-{name}"), Some(index)).await;
        let mut tracker = Tracker::new(table.clone(), settings());
        tracker.full().await.unwrap();
        assert_eq!(tracker.index_usable(), usable, "{name}");
        let next = if usable {
            RefreshKind::Incremental
        } else {
            RefreshKind::Full
        };
        assert_eq!(tracker.next_kind(), next, "{name}");
        assert_eq!(tracker.snapshot().items, 1, "{name}");
        if usable {
            table
                .put_items(vec![item::encode(&space(1))])
                .await
                .unwrap();
            let inc = tracker.incremental().await.unwrap();
            assert_eq!(inc.changed, 1, "{name}: the INCLUDE index serves");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_index_added_later_is_found_at_a_later_full_scan() {
    let table = table("idx-added-later", None).await;
    let mut tracker = Tracker::new(table.clone(), settings());
    tracker.full().await.unwrap();
    assert!(!tracker.index_usable());
    // Checked again at every full scan while unusable.
    tracker.full().await.unwrap();
    assert_eq!(table.meter().requests(ReadOp::Describe), 2);
    assert!(!tracker.index_usable());

    let index = status_index("status", "updatedAt", all());
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name("status-index")
        .set_key_schema(Some(index.key_schema().to_vec()))
        .set_projection(index.projection().cloned())
        .build()
        .unwrap();
    update_index(
        &table,
        GlobalSecondaryIndexUpdate::builder().create(create).build(),
        vec![string("status"), string("updatedAt")],
    )
    .await;
    wait_active(&table).await;
    tracker.full().await.unwrap();
    assert!(
        tracker.index_usable(),
        "the third full scan finds the index"
    );
    assert_eq!(tracker.next_kind(), RefreshKind::Incremental);
    table
        .put_items(vec![item::encode(&space(1))])
        .await
        .unwrap();
    assert_eq!(tracker.incremental().await.unwrap().changed, 1);
    assert_eq!(tracker.snapshot().items, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_index_deleted_under_the_tracker_is_checked_again_at_once() {
    let table = table(
        "idx-deleted",
        Some(status_index("status", "updatedAt", all())),
    )
    .await;
    let mut tracker = Tracker::new(table.clone(), settings());
    tracker.full().await.unwrap();
    assert!(tracker.index_usable());
    tracker.incremental().await.unwrap();
    let delete = DeleteGlobalSecondaryIndexAction::builder()
        .index_name("status-index")
        .build()
        .unwrap();
    update_index(
        &table,
        GlobalSecondaryIndexUpdate::builder().delete(delete).build(),
        vec![],
    )
    .await;
    let describes = table.meter().requests(ReadOp::Describe);
    let refused = tracker.incremental().await.unwrap_err();
    // DynamoDB answers ValidationException; DynamoDB Local a server error (InternalFailure).
    assert!(
        matches!(
            refused.kind,
            ErrorKind::Validation | ErrorKind::TableNotFound | ErrorKind::Service
        ),
        "{refused}"
    );
    // Checked again at once, rather than failing every incremental refresh until the next full
    // interval (an hour here).
    assert_eq!(table.meter().requests(ReadOp::Describe), describes + 1);
    assert!(!tracker.index_usable(), "the check saw the index gone");
    assert_eq!(tracker.next_kind(), RefreshKind::Full);
    table
        .put_items(vec![item::encode(&space(1))])
        .await
        .unwrap();
    tracker.full().await.unwrap();
    assert_eq!(tracker.next_kind(), RefreshKind::Full);
    assert_eq!(tracker.snapshot().items, 2);
}

/// Creates or deletes an index of `table` (UpdateTable), with the attributes a new one is keyed on.
async fn update_index(
    table: &ProgressTable,
    update: GlobalSecondaryIndexUpdate,
    attributes: Vec<AttributeDefinition>,
) {
    crate::harness::client()
        .update_table()
        .table_name(table.name())
        .set_attribute_definitions((!attributes.is_empty()).then_some(attributes))
        .global_secondary_index_updates(update)
        .send()
        .await
        .unwrap();
}

/// Until DynamoDB Local says the status index is active.
async fn wait_active(table: &ProgressTable) {
    for _ in 0..100 {
        let out = crate::harness::client()
            .describe_table()
            .table_name(table.name())
            .send()
            .await
            .unwrap();
        let active = out.table().is_some_and(|t| {
            t.global_secondary_indexes()
                .iter()
                .any(|i| i.index_status() == Some(&IndexStatus::Active))
        });
        if active {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the added index never became active");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_deleted_and_recreated_under_the_exporter_is_served_again() {
    let table = crate::harness::new_table("recreated").await;
    table
        .put_items(vec![item::encode(&space(0))])
        .await
        .unwrap();
    let endpoint = crate::harness::dynamodb_local().endpoint.clone();
    let exporter = Exporter::start(
        &endpoint,
        table.name(),
        &[
            "--refresh.interval",
            "1s",
            "--refresh.full-interval",
            "2s",
            "--scan.segments",
            "1",
        ],
    );
    let spaces = |m: &crate::harness::Metrics| m.family("migration_spaces").values().sum::<f64>();
    exporter.wait_until("the first space", Duration::from_secs(30), |m| {
        spaces(m) == 1.0
    });

    crate::harness::delete_table(table.name()).await;
    // Gone for a while: five refreshes fail before it is back.
    let m = exporter.wait_until("five failed refreshes", Duration::from_secs(30), |m| {
        m.get("migration_exporter_last_refresh_success", &[]) == Some(0.0)
            && m.family("migration_exporter_refresh_errors_total")
                .values()
                .sum::<f64>()
                >= 5.0
    });
    assert_eq!(spaces(&m), 1.0, "the last good snapshot is still served");

    // Recreated with the same name and index, with three other spaces.
    let again = ProgressTable::new(crate::harness::client(), table.name(), "status-index");
    again.create_table().await.unwrap();
    let records: Vec<_> = (1..=3).map(space).collect();
    again
        .put_items(records.iter().map(item::encode).collect())
        .await
        .unwrap();
    let m = exporter.wait_until("the recreated table", Duration::from_secs(30), |m| {
        m.get("migration_exporter_last_refresh_success", &[]) == Some(1.0) && spaces(m) == 3.0
    });
    // The old space is gone (a full scan removes what it did not see), the new ones counted.
    let in_progress: f64 = m
        .family("migration_spaces")
        .iter()
        .filter(|(k, _)| k.contains("status=\"in-progress\""))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(in_progress, 3.0);
    // Incremental refreshes serve the recreated table's index: a new space shows.
    let before = m
        .get(
            "migration_exporter_refreshes_total",
            &[("kind", "incremental")],
        )
        .unwrap_or(0.0);
    again
        .put_items(vec![item::encode(&space(4))])
        .await
        .unwrap();
    exporter.wait_until("a space added after", Duration::from_secs(30), |m| {
        spaces(m) == 4.0
            && m.get(
                "migration_exporter_refreshes_total",
                &[("kind", "incremental")],
            ) > Some(before)
    });
}
