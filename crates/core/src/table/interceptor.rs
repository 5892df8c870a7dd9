//! An SDK interceptor that sees every call and every attempt, including the ones the SDK's retries
//! hide from the caller: it counts DynamoDB's throttling answers and server errors into the
//! table's [`ReadMeter`] (a refresh that succeeds after retries still shows that DynamoDB pushed
//! back), and logs each attempted operation at debug level (`dynamodb call operation=Scan`), which is how
//! the IAM test proves the shipped policy lists exactly the actions the binaries use.

use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::{BoxError, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::operation::scan::ScanError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

use super::error::ErrorKind;
use super::meter::ReadMeter;

/// Counts throttled and failed attempts.
#[derive(Debug)]
pub struct AttemptCounter {
    meter: Arc<ReadMeter>,
}

impl AttemptCounter {
    pub fn new(meter: Arc<ReadMeter>) -> Self {
        AttemptCounter { meter }
    }
}

impl Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "AttemptCounter"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The operation's metadata is in the bag from the first attempt on (not before it).
        if let Some(call) = cfg.load::<Metadata>() {
            tracing::debug!(operation = call.name(), "dynamodb call");
        }
        let Some(response) = context.response() else {
            return Ok(());
        };
        let status = response.status().as_u16();
        if status >= 500 {
            self.meter.record_server_error();
            return Ok(());
        }
        let code = match context.output_or_error() {
            // The error is type-erased: try the operations this crate calls.
            Some(Err(e)) => e.as_operation_error().and_then(|op| {
                op.downcast_ref::<ScanError>()
                    .and_then(ScanError::code)
                    .or_else(|| op.downcast_ref::<QueryError>().and_then(QueryError::code))
                    .or_else(|| {
                        op.downcast_ref::<GetItemError>()
                            .and_then(GetItemError::code)
                    })
                    .or_else(|| {
                        op.downcast_ref::<DescribeTableError>()
                            .and_then(DescribeTableError::code)
                    })
                    .or_else(|| {
                        op.downcast_ref::<BatchWriteItemError>()
                            .and_then(BatchWriteItemError::code)
                    })
            }),
            _ => None,
        };
        if code.is_some_and(|c| ErrorKind::from_code(c) == ErrorKind::Throttled) {
            self.meter.record_throttled();
        }
        Ok(())
    }
}
