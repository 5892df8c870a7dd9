//! Whether the status index can serve incremental refreshes: it must exist, be active, be keyed
//! on `status` (hash) and `updatedAt` (range), and project what the aggregates need
//! (DescribeTable).

use aws_sdk_dynamodb::types::{
    GlobalSecondaryIndexDescription, IndexStatus, KeyType, ProjectionType, TableDescription,
};

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
        Ok(judge(out.table(), &self.status_index))
    }
}

/// Whether `table` (a DescribeTable answer) has an index named `name` that can serve
/// incremental refreshes.
pub fn judge(table: Option<&TableDescription>, name: &str) -> IndexCheck {
    let index = table
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .find(|i| i.index_name() == Some(name));
    let Some(index) = index else {
        return IndexCheck::Unusable(format!("table has no index named {name}"));
    };
    judge_index(index, name)
}

fn judge_index(index: &GlobalSecondaryIndexDescription, name: &str) -> IndexCheck {
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
        return IndexCheck::Unusable(format!(
            "index {name} is not keyed on {} (hash) and {} (range)",
            attr::STATUS,
            attr::UPDATED_AT
        ));
    }
    if index
        .index_status()
        .is_some_and(|s| *s != IndexStatus::Active)
    {
        return IndexCheck::Unusable(format!("index {name} is not active yet"));
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
        return IndexCheck::Unusable(format!(
            "index {name} does not project {}",
            AGGREGATE_ATTRIBUTES.join(", ")
        ));
    }
    IndexCheck::Usable
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::{KeySchemaElement, Projection};

    /// A DescribeTable answer with one index `status-index` in `status`, keyed and projected
    /// as the exporter needs.
    fn described(status: IndexStatus) -> TableDescription {
        let key = |n: &str, k: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(k)
                .build()
                .unwrap()
        };
        let index = GlobalSecondaryIndexDescription::builder()
            .index_name("status-index")
            .key_schema(key(attr::STATUS, KeyType::Hash))
            .key_schema(key(attr::UPDATED_AT, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .index_status(status)
            .build();
        TableDescription::builder()
            .global_secondary_indexes(index)
            .build()
    }

    #[test]
    fn only_an_active_index_is_usable() {
        assert_eq!(
            judge(Some(&described(IndexStatus::Active)), "status-index"),
            IndexCheck::Usable
        );
        for status in [
            IndexStatus::Creating,
            IndexStatus::Updating,
            IndexStatus::Deleting,
        ] {
            assert_eq!(
                judge(Some(&described(status.clone())), "status-index"),
                IndexCheck::Unusable("index status-index is not active yet".into()),
                "{status:?}"
            );
        }
    }

    #[test]
    fn an_index_of_another_name_or_no_table_is_no_index() {
        let want = IndexCheck::Unusable("table has no index named other".into());
        assert_eq!(judge(Some(&described(IndexStatus::Active)), "other"), want);
        assert_eq!(judge(None, "other"), want);
    }
}
