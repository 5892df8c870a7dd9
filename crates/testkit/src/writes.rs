//! The workers' side of the table (the seed's `createSpaceProgress`, `updateSpaceProgress`,
//! `markSpaceCompleted`, `markSpaceFailed`), batch loading and table creation, as
//! [`WorkerWrites`] on the read path's [`ProgressTable`]. The exporter and the monitor never
//! write: this exists for tests, examples, demos and benches only.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, PutRequest, ScalarAttributeType, WriteRequest,
};

use migration_core::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use migration_core::table::item::{self, Item, attr};
use migration_core::table::{ProgressTable, TableError, key_item};

/// Whether a create found the space new or already recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Inserted,
    /// A record existed and was left alone (a resumed worker).
    AlreadyExists,
}

/// The first record a worker writes when it starts a space.
#[derive(Debug, Clone)]
pub struct NewSpace {
    pub key: SpaceKey,
    pub total_uploads: u64,
    pub instance_id: String,
    pub worker_id: String,
}

/// A failed write.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// An update or mark named a space that has no progress record.
    #[error("{operation} on {table}: no progress record for space {space} of customer {customer}")]
    NoSuchSpace {
        operation: &'static str,
        table: String,
        customer: String,
        space: String,
    },
    #[error(transparent)]
    Table(#[from] TableError),
}

/// The workers' writes on a [`ProgressTable`]: bring this trait into scope to call them.
pub trait WorkerWrites {
    /// Records a space as started (seed: `createSpaceProgress`). Resume-safe: when a record
    /// already exists it is left alone and [`Created::AlreadyExists`] is returned. A `pending`
    /// record (a space queued for a worker, not started yet) is replaced: starting it is what
    /// makes it in-progress.
    fn create_space_progress(
        &self,
        new: &NewSpace,
        now: Timestamp,
    ) -> impl Future<Output = Result<Created, TableError>> + Send;

    /// Records progress (seed: `updateSpaceProgress`): completedUploads, lastProcessedUpload and
    /// updatedAt. Fails with [`WriteError::NoSuchSpace`] rather than creating a partial record.
    fn update_space_progress(
        &self,
        key: &SpaceKey,
        completed_uploads: u64,
        last_processed_upload: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Marks a space completed (seed: `markSpaceCompleted`); the error is cleared to `''` as the
    /// workers do.
    fn mark_space_completed(
        &self,
        key: &SpaceKey,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Marks a space failed with an error message (seed: `markSpaceFailed`).
    fn mark_space_failed(
        &self,
        key: &SpaceKey,
        error: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Writes items in batches of 25, retrying unprocessed ones; for loading samples and tests.
    fn put_items(&self, items: Vec<Item>) -> impl Future<Output = Result<(), TableError>> + Send;

    /// Creates the table with the production schema (keys `customer`/`space`, GSI on
    /// `status` + `updatedAt` projecting all attributes), on demand. For local development,
    /// demos and tests; the migration's own table is created by its infrastructure.
    fn create_table(&self) -> impl Future<Output = Result<(), TableError>> + Send;
}

impl WorkerWrites for ProgressTable {
    async fn create_space_progress(
        &self,
        new: &NewSpace,
        now: Timestamp,
    ) -> Result<Created, TableError> {
        let record = SpaceProgress {
            key: new.key.clone(),
            status: Status::InProgress,
            total_uploads: new.total_uploads,
            completed_uploads: 0,
            last_processed_upload: None,
            instance_id: Some(new.instance_id.clone()),
            worker_id: Some(new.worker_id.clone()),
            error: None,
            created_at: Some(now),
            updated_at: Some(now),
            problems: Default::default(),
        };
        let result = self
            .client()
            .put_item()
            .table_name(self.name())
            .set_item(Some(item::encode(&record)))
            .condition_expression("attribute_not_exists(#c) OR #s = :pending")
            .expression_attribute_names("#c", attr::CUSTOMER)
            .expression_attribute_names("#s", attr::STATUS)
            .expression_attribute_values(
                ":pending",
                AttributeValue::S(Status::Pending.as_str().into()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::Inserted),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Created::AlreadyExists)
            }
            Err(e) => Err(TableError::from_sdk("PutItem", self.name(), e)),
        }
    }

    async fn update_space_progress(
        &self,
        key: &SpaceKey,
        completed_uploads: u64,
        last_processed_upload: &str,
        now: Timestamp,
    ) -> Result<(), WriteError> {
        update(
            self,
            "UpdateItem",
            key,
            "SET #cu = :cu, #lp = :lp, #u = :u",
            &[
                (
                    "#cu",
                    attr::COMPLETED_UPLOADS,
                    AttributeValue::N(completed_uploads.to_string()),
                ),
                (
                    "#lp",
                    attr::LAST_PROCESSED_UPLOAD,
                    AttributeValue::S(last_processed_upload.into()),
                ),
                ("#u", attr::UPDATED_AT, AttributeValue::S(now.to_iso())),
            ],
        )
        .await
    }

    async fn mark_space_completed(&self, key: &SpaceKey, now: Timestamp) -> Result<(), WriteError> {
        mark(self, key, Status::Completed, "", now).await
    }

    async fn mark_space_failed(
        &self,
        key: &SpaceKey,
        error: &str,
        now: Timestamp,
    ) -> Result<(), WriteError> {
        mark(self, key, Status::Failed, error, now).await
    }

    async fn put_items(&self, items: Vec<Item>) -> Result<(), TableError> {
        let mut pending: Vec<WriteRequest> = items
            .into_iter()
            .map(|i| {
                let put = PutRequest::builder()
                    .set_item(Some(i))
                    .build()
                    .expect("item is set");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let mut backoff = Duration::from_millis(20);
        while !pending.is_empty() {
            let rest = pending.split_off(pending.len().min(25));
            let batch = std::mem::replace(&mut pending, rest);
            let out = self
                .client()
                .batch_write_item()
                .request_items(self.name(), batch)
                .send()
                .await
                .map_err(|e| TableError::from_sdk("BatchWriteItem", self.name(), e))?;
            let unprocessed = out
                .unprocessed_items
                .and_then(|mut u| u.remove(self.name()))
                .unwrap_or_default();
            if !unprocessed.is_empty() {
                pending.extend(unprocessed);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
        Ok(())
    }

    async fn create_table(&self) -> Result<(), TableError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("key schema is complete")
        };
        let def = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition is complete")
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(self.status_index())
            .key_schema(key(attr::STATUS, KeyType::Hash))
            .key_schema(key(attr::UPDATED_AT, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("index is complete");
        self.client()
            .create_table()
            .table_name(self.name())
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(attr::CUSTOMER, KeyType::Hash))
            .key_schema(key(attr::SPACE, KeyType::Range))
            .attribute_definitions(def(attr::CUSTOMER))
            .attribute_definitions(def(attr::SPACE))
            .attribute_definitions(def(attr::STATUS))
            .attribute_definitions(def(attr::UPDATED_AT))
            .global_secondary_indexes(gsi)
            .send()
            .await
            .map_err(|e| TableError::from_sdk("CreateTable", self.name(), e))?;
        Ok(())
    }
}

/// The one path both marks take: status, error and updatedAt in one conditional update.
async fn mark(
    table: &ProgressTable,
    key: &SpaceKey,
    status: Status,
    error: &str,
    now: Timestamp,
) -> Result<(), WriteError> {
    update(
        table,
        "UpdateItem",
        key,
        "SET #s = :s, #e = :e, #u = :u",
        &[
            (
                "#s",
                attr::STATUS,
                AttributeValue::S(status.as_str().into()),
            ),
            ("#e", attr::ERROR, AttributeValue::S(error.into())),
            ("#u", attr::UPDATED_AT, AttributeValue::S(now.to_iso())),
        ],
    )
    .await
}

/// A conditional update of an existing record. `sets` are (placeholder, attribute, value);
/// each value placeholder is the name placeholder with `:` for `#`.
async fn update(
    table: &ProgressTable,
    op: &'static str,
    key: &SpaceKey,
    expression: &str,
    sets: &[(&str, &str, AttributeValue)],
) -> Result<(), WriteError> {
    let mut req = table
        .client()
        .update_item()
        .table_name(table.name())
        .set_key(Some(key_item(key)))
        .update_expression(expression)
        .condition_expression("attribute_exists(#key)")
        .expression_attribute_names("#key", attr::CUSTOMER);
    for (placeholder, name, value) in sets {
        req = req
            .expression_attribute_names(*placeholder, *name)
            .expression_attribute_values(placeholder.replacen('#', ":", 1), value.clone());
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            Err(WriteError::NoSuchSpace {
                operation: op,
                table: table.name().to_owned(),
                customer: key.customer.clone(),
                space: key.space.clone(),
            })
        }
        Err(e) => Err(TableError::from_sdk(op, table.name(), e).into()),
    }
}
