//! The `migration-progress` table: every operation the workers and the monitor use (the seed's
//! `migration-progress-table.js`), in Rust. Every read pages to the end and records its cost in a
//! [`ReadMeter`]; nothing here ever reads only the first page.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConsumedCapacity, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, PutRequest, ReturnConsumedCapacity,
    ScalarAttributeType, WriteRequest,
};

use crate::budget::ReadBudget;
use crate::error::TableError;
use crate::interceptor::AttemptCounter;
use crate::item::{self, Item, attr};
use crate::meter::{ReadMeter, ReadOp};
use crate::model::{SpaceKey, SpaceProgress, Status, Timestamp};

/// The attributes the exporter's aggregates need; scans for metrics project only these.
pub const AGGREGATE_ATTRIBUTES: [&str; 8] = [
    attr::CUSTOMER,
    attr::SPACE,
    attr::STATUS,
    attr::TOTAL_UPLOADS,
    attr::COMPLETED_UPLOADS,
    attr::INSTANCE_ID,
    attr::WORKER_ID,
    attr::UPDATED_AT,
];

/// What a scan returns of each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanProjection {
    /// Every attribute.
    All,
    /// Only [`AGGREGATE_ATTRIBUTES`].
    Aggregate,
}

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

/// One page of a Scan or Query.
struct Page {
    items: Vec<Item>,
    last_key: Option<Item>,
    capacity: Option<ConsumedCapacity>,
}

/// A handle on one progress table and its status index.
#[derive(Debug, Clone)]
pub struct ProgressTable {
    client: Client,
    table: String,
    status_index: String,
    meter: Arc<ReadMeter>,
    budget: Option<Arc<ReadBudget>>,
}

/// Whether the status index can serve incremental refreshes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexCheck {
    Usable,
    /// Why not, in words for the log.
    Unusable(String),
}

impl ProgressTable {
    /// A handle whose every attempt is observed by its own [`ReadMeter`].
    pub fn new(client: Client, table: impl Into<String>, status_index: impl Into<String>) -> Self {
        let meter: Arc<ReadMeter> = Arc::default();
        let config = client
            .config()
            .to_builder()
            .interceptor(AttemptCounter::new(meter.clone()))
            .build();
        ProgressTable {
            client: Client::from_conf(config),
            table: table.into(),
            status_index: status_index.into(),
            meter,
            budget: None,
        }
    }

    /// Paces every read to `units_per_second` read capacity units (from consumed capacity).
    pub fn with_read_budget(mut self, units_per_second: Option<f64>) -> Self {
        self.budget = units_per_second.map(|r| Arc::new(ReadBudget::new(r)));
        self
    }

    async fn pace(&self) {
        if let Some(b) = &self.budget {
            b.wait().await;
        }
    }

    /// The table name.
    pub fn name(&self) -> &str {
        &self.table
    }

    /// The read cost recorded so far.
    pub fn meter(&self) -> &Arc<ReadMeter> {
        &self.meter
    }

    /// The SDK client, for operations outside this module's scope.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Maps an SDK error of operation `op` to a [`TableError`].
    fn err<E>(
        &self,
        op: &'static str,
    ) -> impl FnOnce(aws_sdk_dynamodb::error::SdkError<E, HttpResponse>) -> TableError + '_
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        move |e| TableError::from_sdk(op, &self.table, e)
    }

    fn record(&self, op: ReadOp, cc: Option<&ConsumedCapacity>, items: usize) {
        let units = cc.and_then(ConsumedCapacity::capacity_units);
        self.meter.record(op, units, items);
        if let (Some(b), Some(u)) = (&self.budget, units) {
            b.spend(u);
        }
    }

    /// One space's record, or `None` (seed: `getSpaceProgress`).
    pub async fn get_space_progress(
        &self,
        key: &SpaceKey,
    ) -> Result<Option<SpaceProgress>, TableError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(self.err("GetItem"))?;
        self.record(
            ReadOp::Get,
            out.consumed_capacity(),
            usize::from(out.item.is_some()),
        );
        Ok(out.item.as_ref().map(item::decode))
    }

    /// Records a space as started (seed: `createSpaceProgress`). Resume-safe: when a record
    /// already exists it is left alone and [`Created::AlreadyExists`] is returned.
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
            .condition_expression("attribute_not_exists(#c)")
            .expression_attribute_names("#c", attr::CUSTOMER)
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
    /// updatedAt. Fails with [`crate::ErrorKind::NoSuchSpace`] rather than creating a partial record.
    pub async fn update_space_progress(
        &self,
        key: &SpaceKey,
        completed_uploads: u64,
        last_processed_upload: &str,
        now: Timestamp,
    ) -> Result<(), TableError> {
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
    ) -> Result<(), TableError> {
        self.update(
            "UpdateItem",
            key,
            "SET #s = :s, #e = :e, #u = :u",
            &[
                (
                    "#s",
                    attr::STATUS,
                    AttributeValue::S(Status::Completed.as_str().into()),
                ),
                ("#e", attr::ERROR, AttributeValue::S(String::new())),
                ("#u", attr::UPDATED_AT, AttributeValue::S(now.to_iso())),
            ],
        )
        .await
    }

    /// Marks a space failed with an error message (seed: `markSpaceFailed`).
    pub async fn mark_space_failed(
        &self,
        key: &SpaceKey,
        error: &str,
        now: Timestamp,
    ) -> Result<(), TableError> {
        self.update(
            "UpdateItem",
            key,
            "SET #s = :s, #e = :e, #u = :u",
            &[
                (
                    "#s",
                    attr::STATUS,
                    AttributeValue::S(Status::Failed.as_str().into()),
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
    ) -> Result<(), TableError> {
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
                Err(TableError::no_such_space(
                    op,
                    &self.table,
                    &key.customer,
                    &key.space,
                ))
            }
            Err(e) => Err(TableError::from_sdk(op, &self.table, e)),
        }
    }

    /// All spaces of one customer, every page (seed: `getCustomerSpaces`).
    pub async fn get_customer_spaces(
        &self,
        customer: &str,
    ) -> Result<Vec<SpaceProgress>, TableError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#c = :c")
            .expression_attribute_names("#c", attr::CUSTOMER)
            .expression_attribute_values(":c", AttributeValue::S(customer.into()));
        self.query_collect(q).await
    }

    /// All failed spaces, from the status index (seed: `getFailedMigrations`).
    pub async fn get_failed_migrations(&self) -> Result<Vec<SpaceProgress>, TableError> {
        let q = self
            .status_query(Status::Failed)
            .key_condition_expression("#s = :s");
        self.query_collect(q).await
    }

    /// In-progress spaces not updated since `cutoff`, from the status index with a key condition
    /// on `updatedAt` (seed: `getStuckMigrations`). Oldest first.
    pub async fn get_stuck_migrations(
        &self,
        cutoff: Timestamp,
    ) -> Result<Vec<SpaceProgress>, TableError> {
        let q = self
            .status_query(Status::InProgress)
            .key_condition_expression("#s = :s AND #u < :cutoff")
            .expression_attribute_names("#u", attr::UPDATED_AT)
            .expression_attribute_values(":cutoff", AttributeValue::S(cutoff.to_iso()));
        self.query_collect(q).await
    }

    /// A query on the status index for one status (key condition left to the caller).
    fn status_query(&self, status: Status) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(&self.status_index)
            .expression_attribute_names("#s", attr::STATUS)
            .expression_attribute_values(":s", AttributeValue::S(status.as_str().into()))
    }

    /// All spaces an instance has worked on (seed: `getInstanceSpaces`): a filtered scan of the
    /// whole table.
    pub async fn get_instance_spaces(
        &self,
        instance_id: &str,
    ) -> Result<Vec<SpaceProgress>, TableError> {
        let scan = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#i = :i")
            .expression_attribute_names("#i", attr::INSTANCE_ID)
            .expression_attribute_values(":i", AttributeValue::S(instance_id.into()));
        let mut all = Vec::new();
        self.scan_pages(scan, |page| all.extend(page.iter().map(item::decode)))
            .await?;
        Ok(all)
    }

    /// Every record of the table (seed: `scanAllProgress`).
    pub async fn scan_all_progress(&self) -> Result<Vec<SpaceProgress>, TableError> {
        let mut all = Vec::new();
        self.scan_segment(0, 1, ScanProjection::All, |page| {
            all.extend(page.iter().map(item::decode))
        })
        .await?;
        Ok(all)
    }

    /// Reads one segment of a parallel scan to its end, eventually consistent, handing each
    /// page to `on_page` as it arrives. `total_segments` of 1 is a plain scan.
    pub async fn scan_segment(
        &self,
        segment: u32,
        total_segments: u32,
        projection: ScanProjection,
        on_page: impl FnMut(&[Item]),
    ) -> Result<(), TableError> {
        let mut scan = self.client.scan().table_name(&self.table);
        if total_segments > 1 {
            scan = scan
                .segment(segment as i32)
                .total_segments(total_segments as i32);
        }
        if projection == ScanProjection::Aggregate {
            let mut names = Vec::with_capacity(AGGREGATE_ATTRIBUTES.len());
            for (i, name) in AGGREGATE_ATTRIBUTES.iter().enumerate() {
                let placeholder = format!("#a{i}");
                scan = scan.expression_attribute_names(&placeholder, *name);
                names.push(placeholder);
            }
            scan = scan.projection_expression(names.join(", "));
        }
        self.scan_pages(scan, on_page).await
    }

    async fn scan_pages(
        &self,
        scan: ScanFluentBuilder,
        on_page: impl FnMut(&[Item]),
    ) -> Result<(), TableError> {
        let fetch = |start| {
            let req = scan
                .clone()
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            async move {
                let out = req.send().await.map_err(self.err("Scan"))?;
                Ok(Page {
                    items: out.items.unwrap_or_default(),
                    last_key: out.last_evaluated_key,
                    capacity: out.consumed_capacity,
                })
            }
        };
        self.paginate(ReadOp::Scan, fetch, on_page).await
    }

    /// Reads page after page until DynamoDB gives no `LastEvaluatedKey`, pacing each request and
    /// recording its cost.
    async fn paginate<F, Fut>(
        &self,
        op: ReadOp,
        mut fetch: F,
        mut on_page: impl FnMut(&[Item]),
    ) -> Result<(), TableError>
    where
        F: FnMut(Option<Item>) -> Fut,
        Fut: std::future::Future<Output = Result<Page, TableError>>,
    {
        let mut start = None;
        loop {
            self.pace().await;
            let page = fetch(start).await?;
            self.record(op, page.capacity.as_ref(), page.items.len());
            on_page(&page.items);
            match page.last_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }

    async fn query_collect(
        &self,
        query: QueryFluentBuilder,
    ) -> Result<Vec<SpaceProgress>, TableError> {
        let mut all = Vec::new();
        self.query_pages(query, |page| all.extend(page.iter().map(item::decode)))
            .await?;
        Ok(all)
    }

    async fn query_pages(
        &self,
        query: QueryFluentBuilder,
        on_page: impl FnMut(&[Item]),
    ) -> Result<(), TableError> {
        let fetch = |start| {
            let req = query
                .clone()
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            async move {
                let out = req.send().await.map_err(self.err("Query"))?;
                Ok(Page {
                    items: out.items.unwrap_or_default(),
                    last_key: out.last_evaluated_key,
                    capacity: out.consumed_capacity,
                })
            }
        };
        self.paginate(ReadOp::Query, fetch, on_page).await
    }

    /// Spaces of one status updated after `since`, from the status index, projected to
    /// [`AGGREGATE_ATTRIBUTES`]: what changed since a previous refresh.
    pub async fn query_status_since(
        &self,
        status: Status,
        since: Timestamp,
        on_page: impl FnMut(&[Item]),
    ) -> Result<(), TableError> {
        let mut q = self
            .status_query(status)
            .key_condition_expression("#s = :s AND #u > :since")
            .expression_attribute_names("#u", attr::UPDATED_AT)
            .expression_attribute_values(":since", AttributeValue::S(since.to_iso()));
        let mut names = Vec::with_capacity(AGGREGATE_ATTRIBUTES.len());
        for (i, name) in AGGREGATE_ATTRIBUTES.iter().enumerate() {
            let placeholder = format!("#a{i}");
            q = q.expression_attribute_names(&placeholder, *name);
            names.push(placeholder);
        }
        self.query_pages(q.projection_expression(names.join(", ")), on_page)
            .await
    }

    /// Whether the status index exists, is active, is keyed on status + updatedAt and projects
    /// the attributes the aggregates need.
    pub async fn check_status_index(&self) -> Result<IndexCheck, TableError> {
        let out = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(self.err("DescribeTable"))?;
        self.meter.record(ReadOp::Describe, None, 0);
        let index = out
            .table()
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .find(|i| i.index_name() == Some(self.status_index.as_str()));
        let Some(index) = index else {
            return Ok(IndexCheck::Unusable(format!(
                "table has no index named {}",
                self.status_index
            )));
        };
        let keys: Vec<(&str, &KeyType)> = index
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type()))
            .collect();
        if keys
            != [
                (attr::STATUS, &KeyType::Hash),
                (attr::UPDATED_AT, &KeyType::Range),
            ]
        {
            return Ok(IndexCheck::Unusable(format!(
                "index {} is not keyed on {} (hash) and {} (range)",
                self.status_index,
                attr::STATUS,
                attr::UPDATED_AT
            )));
        }
        if index
            .index_status()
            .is_some_and(|s| *s != aws_sdk_dynamodb::types::IndexStatus::Active)
        {
            return Ok(IndexCheck::Unusable(format!(
                "index {} is not active yet",
                self.status_index
            )));
        }
        let projection = index.projection();
        let projected = match projection.and_then(|p| p.projection_type()) {
            Some(ProjectionType::All) => true,
            Some(ProjectionType::Include) => {
                let have = projection
                    .map(|p| p.non_key_attributes())
                    .unwrap_or_default();
                AGGREGATE_ATTRIBUTES
                    .iter()
                    .filter(|a| {
                        ![attr::CUSTOMER, attr::SPACE, attr::STATUS, attr::UPDATED_AT].contains(a)
                    })
                    .all(|a| have.iter().any(|h| h == a))
            }
            _ => false,
        };
        if !projected {
            return Ok(IndexCheck::Unusable(format!(
                "index {} does not project {}",
                self.status_index,
                AGGREGATE_ATTRIBUTES.join(", ")
            )));
        }
        Ok(IndexCheck::Usable)
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
                .map_err(self.err("BatchWriteItem"))?;
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
            .map_err(self.err("CreateTable"))?;
        Ok(())
    }
}

fn key_item(key: &SpaceKey) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            attr::CUSTOMER.to_owned(),
            AttributeValue::S(key.customer.clone()),
        ),
        (attr::SPACE.to_owned(), AttributeValue::S(key.space.clone())),
    ])
}
