//! The table layer: everything that talks to DynamoDB. [`ProgressTable`] is a handle on the
//! `migration-progress` table and its status index with every read the exporter and the monitor
//! use (the seed's `migration-progress-table.js`, in Rust). Every read pages to the end through
//! one paging loop and records its cost in a [`ReadMeter`]; nothing here ever reads only the
//! first page. This layer knows nothing of the state or the front ends above it.
//!
//! Submodules: [`item`] decodes items into [`crate::model`] records, [`index`] checks the status
//! index, [`error`] classifies failures, [`client`] builds the SDK client from its config,
//! [`meter`], [`interceptor`] and [`budget`] count and pace reads. Nothing here writes: the
//! workers' writes live in the dev-only test kit.

pub(crate) mod budget;
pub mod client;
pub mod error;
mod index;
pub(crate) mod interceptor;
pub mod item;
pub mod meter;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};

use crate::model::{SpaceKey, SpaceProgress, Status, Timestamp};
use budget::ReadBudget;
pub use error::{ErrorKind, TableError};
pub use index::IndexCheck;
use interceptor::AttemptCounter;
use item::{Item, attr};
use meter::{ReadMeter, ReadOp};

/// The attributes the exporter's aggregates need; scans for metrics project only these. (Read
/// capacity follows the items' whole size whatever is projected: `error` and `createdAt` cost no
/// extra read.)
pub const AGGREGATE_ATTRIBUTES: [&str; 10] = [
    attr::CUSTOMER,
    attr::SPACE,
    attr::STATUS,
    attr::TOTAL_UPLOADS,
    attr::COMPLETED_UPLOADS,
    attr::INSTANCE_ID,
    attr::WORKER_ID,
    attr::ERROR,
    attr::CREATED_AT,
    attr::UPDATED_AT,
];

/// What a read returns of each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// Every attribute.
    All,
    /// Only [`AGGREGATE_ATTRIBUTES`].
    Aggregate,
}

impl Projection {
    /// `(placeholder, attribute)` names and the projection expression, or `None` for all.
    fn expression(self) -> Option<(Vec<(String, &'static str)>, String)> {
        match self {
            Projection::All => None,
            Projection::Aggregate => {
                let names: Vec<(String, &'static str)> = AGGREGATE_ATTRIBUTES
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (format!("#a{i}"), *name))
                    .collect();
                let expr = names
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                Some((names, expr))
            }
        }
    }
}

/// One page of a Scan or Query.
struct Page {
    items: Vec<Item>,
    last_key: Option<Item>,
    capacity: Option<ConsumedCapacity>,
}

/// A Scan or a Query: the two reads that page, through the one loop in
/// [`ProgressTable::read_pages`].
enum Read {
    Scan(ScanFluentBuilder),
    Query(QueryFluentBuilder),
}

impl Read {
    fn op(&self) -> ReadOp {
        match self {
            Read::Scan(_) => ReadOp::Scan,
            Read::Query(_) => ReadOp::Query,
        }
    }

    /// Projects the read to `projection`.
    fn project(self, projection: Projection) -> Read {
        let Some((names, expr)) = projection.expression() else {
            return self;
        };
        match self {
            Read::Scan(mut s) => {
                for (p, n) in names {
                    s = s.expression_attribute_names(p, n);
                }
                Read::Scan(s.projection_expression(expr))
            }
            Read::Query(mut q) => {
                for (p, n) in names {
                    q = q.expression_attribute_names(p, n);
                }
                Read::Query(q.projection_expression(expr))
            }
        }
    }

    /// The page that starts at `start`.
    async fn page(&self, start: Option<Item>, table: &str) -> Result<Page, TableError> {
        // Scan and Query builders share no trait: the same request, written once for both.
        macro_rules! send {
            ($builder:expr, $operation:literal) => {{
                let out = $builder
                    .clone()
                    .set_exclusive_start_key(start)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| TableError::from_sdk($operation, table, e))?;
                Page {
                    items: out.items.unwrap_or_default(),
                    last_key: out.last_evaluated_key,
                    capacity: out.consumed_capacity,
                }
            }};
        }
        Ok(match self {
            Read::Scan(s) => send!(s, "Scan"),
            Read::Query(q) => send!(q, "Query"),
        })
    }
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

    /// The status index's name.
    pub fn status_index(&self) -> &str {
        &self.status_index
    }

    /// The read cost recorded so far.
    pub fn meter(&self) -> &Arc<ReadMeter> {
        &self.meter
    }

    /// The SDK client, for the test kit's writes and for tests that break the table.
    pub fn client(&self) -> &Client {
        &self.client
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
            .map_err(|e| TableError::from_sdk("GetItem", &self.table, e))?;
        self.record(
            ReadOp::Get,
            out.consumed_capacity(),
            usize::from(out.item.is_some()),
        );
        Ok(out.item.as_ref().map(item::decode))
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
        self.collect(Read::Query(q)).await
    }

    /// All failed spaces, from the status index (seed: `getFailedMigrations`).
    pub async fn get_failed_migrations(&self) -> Result<Vec<SpaceProgress>, TableError> {
        let q = self
            .status_query(Status::Failed)
            .key_condition_expression("#s = :s");
        self.collect(Read::Query(q)).await
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
        self.collect(Read::Query(q)).await
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
    /// whole table. The monitor's instance view reads the snapshot instead.
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
        self.collect(Read::Scan(scan)).await
    }

    /// Every record of the table (seed: `scanAllProgress`). The exporter and the monitor use
    /// parallel segments ([`ProgressTable::scan_segment`]) instead.
    pub async fn scan_all_progress(&self) -> Result<Vec<SpaceProgress>, TableError> {
        self.collect(Read::Scan(self.client.scan().table_name(&self.table)))
            .await
    }

    /// Reads one segment of a parallel scan to its end, eventually consistent, handing each
    /// page to `on_page` as it arrives. `total_segments` of 1 is a plain scan.
    pub async fn scan_segment(
        &self,
        segment: u32,
        total_segments: u32,
        projection: Projection,
        on_page: impl FnMut(&[Item]),
    ) -> Result<(), TableError> {
        let mut scan = self.client.scan().table_name(&self.table);
        if total_segments > 1 {
            scan = scan
                .segment(segment as i32)
                .total_segments(total_segments as i32);
        }
        self.read_pages(Read::Scan(scan).project(projection), on_page)
            .await
    }

    /// Spaces of one status updated after `since`, from the status index, projected to
    /// [`AGGREGATE_ATTRIBUTES`]: what changed since a previous refresh.
    pub async fn query_status_since(
        &self,
        status: Status,
        since: Timestamp,
        on_page: impl FnMut(&[Item]),
    ) -> Result<(), TableError> {
        let q = self
            .status_query(status)
            .key_condition_expression("#s = :s AND #u > :since")
            .expression_attribute_names("#u", attr::UPDATED_AT)
            .expression_attribute_values(":since", AttributeValue::S(since.to_iso()));
        self.read_pages(Read::Query(q).project(Projection::Aggregate), on_page)
            .await
    }

    /// Every record a read returns, decoded.
    async fn collect(&self, read: Read) -> Result<Vec<SpaceProgress>, TableError> {
        let mut all = Vec::new();
        self.read_pages(read, |page| all.extend(page.iter().map(item::decode)))
            .await?;
        Ok(all)
    }

    /// The paging loop: reads page after page until DynamoDB gives no `LastEvaluatedKey`,
    /// pacing each request and recording its cost.
    async fn read_pages(
        &self,
        read: Read,
        mut on_page: impl FnMut(&[Item]),
    ) -> Result<(), TableError> {
        let op = read.op();
        let mut start = None;
        loop {
            self.pace().await;
            let page = read.page(start, &self.table).await?;
            self.record(op, page.capacity.as_ref(), page.items.len());
            on_page(&page.items);
            match page.last_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }
}

/// The primary key attributes of a space.
pub fn key_item(key: &SpaceKey) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            attr::CUSTOMER.to_owned(),
            AttributeValue::S(key.customer.clone()),
        ),
        (attr::SPACE.to_owned(), AttributeValue::S(key.space.clone())),
    ])
}
