//! Builds the DynamoDB client from the standard AWS chain (region, credentials, profiles,
//! `AWS_ENDPOINT_URL_DYNAMODB`) plus the [`DynamoConfig`] the flags give, with connect, attempt and operation timeouts so
//! that no read can hang a refresh.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Region;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Where the table is, as used (the flags that fill it are the front ends' business).
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    pub table: String,
    pub status_index: String,
    pub endpoint_url: Option<String>,
    /// Read budget; `None` is unlimited.
    pub max_read_units_per_second: Option<f64>,
}

/// Region used against an explicit endpoint (DynamoDB Local) when the chain names none.
const LOCAL_FALLBACK_REGION: &str = "us-east-1";

/// The AWS configuration could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "no AWS region configured: set AWS_REGION (or a profile's region), or --dynamodb.endpoint-url for DynamoDB Local"
    )]
    NoRegion,
}

/// Timeouts for every DynamoDB call.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build()
}

/// The one HTTP client of every AWS call (DynamoDB and the credential providers): hyper 1 and
/// rustls with ring, the platform's root certificates.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// A client for the configured endpoint.
pub async fn connect(cfg: &DynamoConfig) -> Result<Client, ClientError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(url) = &cfg.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    let mut builder = aws_sdk_dynamodb::config::Builder::from(&sdk);
    if sdk.region().is_none() {
        let explicit_endpoint =
            cfg.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some();
        if !explicit_endpoint {
            return Err(ClientError::NoRegion);
        }
        builder = builder.region(Region::new(LOCAL_FALLBACK_REGION));
    }
    Ok(Client::from_conf(builder.build()))
}
