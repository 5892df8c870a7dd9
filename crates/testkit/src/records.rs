//! One builder for the `SpaceProgress` records tests and benches write or feed the state: a
//! well-formed pending space with no worker, no uploads and no timestamps until told otherwise,
//! so that each test names only what it is about.

use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};

/// A record under construction; [`SpaceRecord::build`] gives the `SpaceProgress`.
#[derive(Debug, Clone)]
#[must_use]
pub struct SpaceRecord(SpaceProgress);

impl SpaceRecord {
    /// Space `space` of `customer`: pending, unassigned, no uploads, no timestamps.
    pub fn new(customer: &str, space: &str) -> SpaceRecord {
        SpaceRecord(SpaceProgress {
            key: SpaceKey::new(customer, space),
            status: Status::Pending,
            total_uploads: 0,
            completed_uploads: 0,
            last_processed_upload: None,
            instance_id: None,
            worker_id: None,
            error: None,
            created_at: None,
            updated_at: None,
            problems: Default::default(),
        })
    }

    pub fn status(mut self, status: Status) -> SpaceRecord {
        self.0.status = status;
        self
    }

    /// Assigned to worker `worker` of instance `instance`.
    pub fn on(self, instance: &str, worker: &str) -> SpaceRecord {
        self.assigned(Some(instance), Some(worker))
    }

    /// The instance and worker as written, either possibly missing.
    pub fn assigned(mut self, instance: Option<&str>, worker: Option<&str>) -> SpaceRecord {
        self.0.instance_id = instance.map(str::to_owned);
        self.0.worker_id = worker.map(str::to_owned);
        self
    }

    /// `completed` of `total` uploads done.
    pub fn uploads(mut self, total: u64, completed: u64) -> SpaceRecord {
        self.0.total_uploads = total;
        self.0.completed_uploads = completed;
        self
    }

    /// Created and last updated at `at`.
    pub fn at(self, at: Timestamp) -> SpaceRecord {
        self.created(at).updated(at)
    }

    pub fn created(mut self, at: Timestamp) -> SpaceRecord {
        self.0.created_at = Some(at);
        self
    }

    pub fn updated(mut self, at: Timestamp) -> SpaceRecord {
        self.0.updated_at = Some(at);
        self
    }

    /// The worker's error text (the workers write `""` on completion).
    pub fn error(mut self, error: &str) -> SpaceRecord {
        self.0.error = Some(error.to_owned());
        self
    }

    /// The CID of the last upload the worker processed.
    pub fn last_upload(mut self, cid: &str) -> SpaceRecord {
        self.0.last_processed_upload = Some(cid.to_owned());
        self
    }

    pub fn build(self) -> SpaceProgress {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migration_core::table::item;

    #[test]
    fn a_new_record_is_a_pending_unassigned_space() {
        let r = SpaceRecord::new("did:mailto:c", "did:key:s").build();
        assert_eq!(r.key, SpaceKey::new("did:mailto:c", "did:key:s"));
        assert_eq!(r.status, Status::Pending);
        assert_eq!((r.total_uploads, r.completed_uploads), (0, 0));
        assert!(r.instance_id.is_none() && r.worker_id.is_none() && r.updated_at.is_none());
        assert!(r.problems.is_empty());
    }

    #[test]
    fn a_built_record_survives_the_item_codec() {
        let at = Timestamp::from_millis(1_761_923_723_123);
        let r = SpaceRecord::new("did:mailto:c", "did:key:s")
            .status(Status::Failed)
            .on("1", "2")
            .uploads(10, 4)
            .at(at)
            .error("boom")
            .last_upload("bafkreiexample")
            .build();
        assert_eq!(r.instance_id.as_deref(), Some("1"));
        assert_eq!(r.worker_id.as_deref(), Some("2"));
        assert_eq!((r.created_at, r.updated_at), (Some(at), Some(at)));
        assert_eq!(item::decode(&item::encode(&r)), r);
    }
}
