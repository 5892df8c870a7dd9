//! The workers' side of the table (the seed's `createSpaceProgress`, `updateSpaceProgress`,
//! `markSpaceCompleted`, `markSpaceFailed`), batch loading and table creation. The exporter and
//! the monitor never write: this module exists for tests, examples, demos and benches only, behind
//! the `testing` feature.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, PutRequest, ScalarAttributeType, WriteRequest,
};

use super::item::{self, Item, attr};
use super::{ProgressTable, TableError, key_item};
use crate::model::{SpaceKey, SpaceProgress, Status, Timestamp};

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

impl ProgressTable {
    /// Records a space as started (seed: `createSpaceProgress`). Resume-safe: when a record
    /// already exists it is left alone and [`Created::AlreadyExists`] is returned. A `pending`
    /// record (a space queued for a worker, not started yet) is replaced: starting it is what
    /// makes it in-progress.
    pub async fn create_space_progress(
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
            .client
            .put_item()
            .table_name(&self.table)
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
            Err(e) => Err(TableError::from_sdk("PutItem", &self.table, e)),
        }
    }

    /// Records progress (seed: `updateSpaceProgress`): completedUploads, lastProcessedUpload and
    /// updatedAt. Fails with [`WriteError::NoSuchSpace`] rather than creating a partial record.
    pub async fn update_space_progress(
        &self,
        key: &SpaceKey,
        completed_uploads: u64,
        last_processed_upload: &str,
        now: Timestamp,
    ) -> Result<(), WriteError> {
        self.update(
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

    /// Marks a space completed (seed: `markSpaceCompleted`); the error is cleared to `''` as the
    /// workers do.
    pub async fn mark_space_completed(
        &self,
        key: &SpaceKey,
        now: Timestamp,
    ) -> Result<(), WriteError> {
        self.mark(key, Status::Completed, "", now).await
    }

    /// Marks a space failed with an error message (seed: `markSpaceFailed`).
    pub async fn mark_space_failed(
        &self,
        key: &SpaceKey,
        error: &str,
        now: Timestamp,
    ) -> Result<(), WriteError> {
        self.mark(key, Status::Failed, error, now).await
    }

    /// The one path both marks take: status, error and updatedAt in one conditional update.
    async fn mark(
        &self,
        key: &SpaceKey,
        status: Status,
        error: &str,
        now: Timestamp,
    ) -> Result<(), WriteError> {
        self.update(
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
        &self,
        op: &'static str,
        key: &SpaceKey,
        expression: &str,
        sets: &[(&str, &str, AttributeValue)],
    ) -> Result<(), WriteError> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
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
                    table: self.table.clone(),
                    customer: key.customer.clone(),
                    space: key.space.clone(),
                })
            }
            Err(e) => Err(TableError::from_sdk(op, &self.table, e).into()),
        }
    }

    /// Writes items in batches of 25, retrying unprocessed ones; for loading samples and tests.
    pub async fn put_items(&self, items: Vec<Item>) -> Result<(), TableError> {
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
                .client
                .batch_write_item()
                .request_items(&self.table, batch)
                .send()
                .await
                .map_err(|e| TableError::from_sdk("BatchWriteItem", &self.table, e))?;
            let unprocessed = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if !unprocessed.is_empty() {
                pending.extend(unprocessed);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
        Ok(())
    }

    /// Creates the table with the production schema (keys `customer`/`space`, GSI on
    /// `status` + `updatedAt` projecting all attributes), on demand. For local development,
    /// demos and tests; the migration's own table is created by its infrastructure.
    pub async fn create_table(&self) -> Result<(), TableError> {
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
            .index_name(&self.status_index)
            .key_schema(key(attr::STATUS, KeyType::Hash))
            .key_schema(key(attr::UPDATED_AT, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("index is complete");
        self.client
            .create_table()
            .table_name(&self.table)
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
            .map_err(|e| TableError::from_sdk("CreateTable", &self.table, e))?;
        Ok(())
    }
}
