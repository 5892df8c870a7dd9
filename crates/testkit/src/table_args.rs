//! The flags every example that writes made-up records takes to find its table (`--endpoint-url`,
//! required on purpose, and `--table`), and opening that table: connect, then create it with its
//! status index unless it exists.

use migration_core::table::ProgressTable;
use migration_core::table::TableError;
use migration_core::table::client::{self, ClientError, DynamoConfig};

use crate::sample;

/// The status index the examples' tables have, as the production schema names it.
pub const STATUS_INDEX: &str = "status-index";

/// Where an example writes: an explicit endpoint, never real AWS by default.
#[derive(Debug, Clone, clap::Args)]
pub struct TableArgs {
    /// DynamoDB endpoint, e.g. http://127.0.0.1:8000 (required: never writes to real AWS).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: String,
    /// Table to create (if missing) and write.
    #[arg(long, default_value = "migration-progress", value_name = "NAME")]
    pub table: String,
}

/// Why the table could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("configuring the DynamoDB client: {0}")]
    Client(#[from] ClientError),
    #[error("creating the table: {0}")]
    Table(#[from] TableError),
}

impl TableArgs {
    /// Connects to the endpoint and creates the table unless it exists, then waits until it is
    /// active.
    pub async fn open(&self) -> Result<ProgressTable, OpenError> {
        let config = DynamoConfig {
            table: self.table.clone(),
            status_index: STATUS_INDEX.into(),
            endpoint_url: Some(self.endpoint_url.clone()),
            max_read_units_per_second: None,
        };
        let client = client::connect(&config).await?;
        let table = ProgressTable::new(client, self.table.clone(), STATUS_INDEX);
        sample::ensure_table(&table).await?;
        Ok(table)
    }
}
