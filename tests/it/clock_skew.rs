//! Workers whose clocks disagree, against DynamoDB Local and the real tracker: a rewrite with an
//! `updatedAt` older than the one the exporter holds is applied by the next incremental refresh
//! when it is within the overlap, and waits for the next full scan (counted as drift) when the
//! writer's clock is behind by more than the overlap. README: How it reads the table.

use std::time::Duration;

use migration_testkit::WorkerWrites;

use migration_core::model::{SpaceProgress, Status, Timestamp};
use migration_core::state::tracker::Tracker;

use crate::incremental::settings;
use migration_core::table::item;

fn space(name: &str, status: Status, worker: &str, updated: Timestamp) -> SpaceProgress {
    crate::harness::record("did:mailto:c", name, status, "1", worker, 10, 0, updated)
}

fn status_of(t: &Tracker, name: &str) -> Vec<(String, Status)> {
    let id = migration_core::state::spaces::space_id("did:mailto:c", name);
    t.state()
        .contributions()
        .get(&id)
        .map(|c| (c.worker_id.clone(), c.status))
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rewrite_by_a_worker_whose_clock_is_behind_is_applied_within_the_overlap() {
    let table = crate::harness::new_table("skew").await;
    let overlap = Duration::from_secs(30);
    let now = Timestamp::now();
    let (near, far) = ("did:key:near", "did:key:far");
    let first = [near, far].map(|s| item::encode(&space(s, Status::Failed, "fast", now)));
    table.put_items(first.to_vec()).await.unwrap();
    let mut tracker = Tracker::new(table.clone(), settings(overlap));
    tracker.full().await.unwrap();

    // Two workers retry the spaces: one clock 10 s behind (within the 30 s overlap), one 5 min
    // behind (beyond it). Both writes are the items' truth now.
    let behind = |s, by: u64| {
        item::encode(&space(
            s,
            Status::InProgress,
            "slow",
            now.minus(Duration::from_secs(by)),
        ))
    };
    table
        .put_items(vec![behind(near, 10), behind(far, 300)])
        .await
        .unwrap();
    let inc = tracker.incremental().await.unwrap();
    assert_eq!(
        status_of(&tracker, near),
        vec![("slow".into(), Status::InProgress)]
    );
    assert_eq!(inc.transitions.get(Status::Failed, Status::InProgress), 1);
    // The far one is before the window: the index query cannot return it.
    assert_eq!(
        status_of(&tracker, far),
        vec![("fast".into(), Status::Failed)]
    );
    assert_eq!(inc.items, 1, "the query read only the near rewrite");

    let full = tracker.full().await.unwrap();
    assert_eq!(
        status_of(&tracker, far),
        vec![("slow".into(), Status::InProgress)]
    );
    assert_eq!(
        full.drift, 1,
        "the far rewrite is the one difference the full scan found"
    );
    assert_eq!(full.transitions.get(Status::Failed, Status::InProgress), 1);
}
