//! The emulator's floor for a full read, which the benches compare the exporter's reads with.

use migration_core::table::ProgressTable;

/// The emulator's floor for a full read: a parallel `Select=COUNT` Scan over `segments`, paging
/// to the end of each (the server's own cost, no items returned). Returns the count.
pub async fn count_scan(table: &ProgressTable, segments: u32) -> u64 {
    let mut tasks = tokio::task::JoinSet::new();
    for segment in 0..segments {
        let client = table.client().clone();
        let name = table.name().to_owned();
        tasks.spawn(async move {
            let (mut start, mut count) = (None, 0u64);
            loop {
                let mut scan = client
                    .scan()
                    .table_name(&name)
                    .select(aws_sdk_dynamodb::types::Select::Count)
                    .set_exclusive_start_key(start);
                if segments > 1 {
                    scan = scan.segment(segment as i32).total_segments(segments as i32);
                }
                let out = scan.send().await.expect("count scan");
                count += out.count() as u64;
                match out.last_evaluated_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => return count,
                }
            }
        });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.expect("count task");
    }
    total
}
