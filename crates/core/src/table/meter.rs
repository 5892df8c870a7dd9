//! Counts what reading the table costs: read capacity units (from `ReturnConsumedCapacity`) and
//! items returned, per DynamoDB operation. The table library records into it; the metrics
//! collector reads it. Lock-free, so recording never blocks a read path.

use std::sync::atomic::{AtomicU64, Ordering};

/// A reading DynamoDB operation, as the `operation` label spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOp {
    Scan,
    Query,
    Get,
    Describe,
}

impl ReadOp {
    pub const ALL: [ReadOp; 4] = [ReadOp::Scan, ReadOp::Query, ReadOp::Get, ReadOp::Describe];

    pub fn as_str(self) -> &'static str {
        match self {
            ReadOp::Scan => "scan",
            ReadOp::Query => "query",
            ReadOp::Get => "get",
            ReadOp::Describe => "describe",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Running totals of read cost, per operation.
#[derive(Debug, Default)]
pub struct ReadMeter {
    /// Read units in thousandths (DynamoDB reports halves; this keeps sums exact).
    milli_units: [AtomicU64; 4],
    items: [AtomicU64; 4],
    requests: [AtomicU64; 4],
    /// Attempts DynamoDB answered with a throttling error (retried ones included).
    throttled: AtomicU64,
    /// Attempts answered with a 5xx status (retried ones included).
    server_errors: AtomicU64,
}

impl ReadMeter {
    /// Records one response.
    pub fn record(&self, op: ReadOp, capacity_units: Option<f64>, items: usize) {
        let milli = (capacity_units.unwrap_or(0.0).max(0.0) * 1000.0).round() as u64;
        self.milli_units[op.index()].fetch_add(milli, Ordering::Relaxed);
        self.items[op.index()].fetch_add(items as u64, Ordering::Relaxed);
        self.requests[op.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Read capacity units consumed by `op` so far.
    pub fn capacity_units(&self, op: ReadOp) -> f64 {
        self.milli_units[op.index()].load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Items returned by `op` so far.
    pub fn items(&self, op: ReadOp) -> u64 {
        self.items[op.index()].load(Ordering::Relaxed)
    }

    /// Counts an attempt DynamoDB throttled.
    pub fn record_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an attempt answered with a server error.
    pub fn record_server_error(&self) {
        self.server_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Throttled attempts so far.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// Attempts answered with a server error so far.
    pub fn server_errors(&self) -> u64 {
        self.server_errors.load(Ordering::Relaxed)
    }

    /// Requests of `op` answered so far.
    pub fn requests(&self, op: ReadOp) -> u64 {
        self.requests[op.index()].load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_half_units_exactly() {
        let m = ReadMeter::default();
        for _ in 0..3 {
            m.record(ReadOp::Query, Some(0.5), 2);
        }
        m.record(ReadOp::Scan, None, 7);
        assert_eq!(m.capacity_units(ReadOp::Query), 1.5);
        assert_eq!(m.items(ReadOp::Query), 6);
        assert_eq!(m.capacity_units(ReadOp::Scan), 0.0);
        assert_eq!(m.requests(ReadOp::Scan), 1);
    }
}
