//! Whether the status index can serve incremental refreshes: it must exist, be active, be keyed
//! on `status` (hash) and `updatedAt` (range), and project what the aggregates need
//! (DescribeTable).

use aws_sdk_dynamodb::types::{IndexStatus, KeyType, ProjectionType};

use super::item::attr;
use super::meter::ReadOp;
use super::{AGGREGATE_ATTRIBUTES, ProgressTable, TableError};

/// Whether the status index can serve incremental refreshes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexCheck {
    Usable,
    /// Why not, in words for the log.
    Unusable(String),
}

impl ProgressTable {
    /// Whether the status index exists, is active, is keyed on status + updatedAt and projects
    /// the attributes the aggregates need.
    pub async fn check_status_index(&self) -> Result<IndexCheck, TableError> {
        let out = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| TableError::from_sdk("DescribeTable", &self.table, e))?;
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
            .is_some_and(|s| *s != IndexStatus::Active)
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
}
