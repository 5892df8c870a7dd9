//! A real Prometheus scraping the exporter over TLS with a client certificate and basic auth:
//! the good job is up with the table's data, the wrong password and the missing certificate are
//! not, and the exporter logs why.

use migration_testkit::WorkerWrites;
use std::time::Duration;

use super::{Pki, start};
use crate::harness::stack::Prometheus;
use crate::harness::wait_for;
use crate::web::tls::mtls_auth_config;

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_over_tls_with_client_certificates_and_basic_auth() {
    let pki = Pki::new();
    let table = crate::harness::new_table("web-prom").await;
    let now = migration_core::model::Timestamp::now();
    let items = (0..5)
        .map(|i| {
            migration_core::table::item::encode(&crate::harness::record(
                "did:mailto:example.com:owner",
                &format!("did:key:z6MkWeb{i}"),
                migration_core::model::Status::Completed,
                "1",
                "1",
                10,
                10,
                now,
            ))
        })
        .collect();
    table.put_items(items).await.unwrap();
    let file = mtls_auth_config(&pki, "");
    let endpoint = crate::harness::dynamodb_local().endpoint.clone();
    let exporter = start(
        &[
            "--web.config.file",
            &file.display().to_string(),
            "--refresh.interval",
            "1s",
        ],
        Some(&endpoint),
        table.name(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let target = format!("127.0.0.1:{}", exporter.port());
    let job = |name: &str, cert: bool, password: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    tls_config:\n      ca_file: {ca}\n      server_name: localhost\n{cert}    basic_auth:\n      username: prometheus\n      password: {password}\n    static_configs:\n      - targets: ['{target}']\n",
            ca = pki.path("ca.pem"),
            cert = if cert {
                format!(
                    "      cert_file: {}\n      key_file: {}\n",
                    pki.path("client.pem"),
                    pki.path("client-key.pem")
                )
            } else {
                String::new()
            },
        )
    };
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}",
        job("good", true, "s3cret"),
        job("wrong-password", true, "guess"),
        job("no-client-cert", false, "s3cret"),
    );
    let prometheus = Prometheus::start(&config, &[]);
    wait_for("up for the three jobs", Duration::from_secs(30), || {
        let up = |job: &str| prometheus.value(&format!("up{{job=\"{job}\"}}"));
        match (up("good"), up("wrong-password"), up("no-client-cert")) {
            (Some(1.0), Some(0.0), Some(0.0)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    wait_for(
        "table data through TLS",
        Duration::from_secs(30),
        || match prometheus.value("sum(migration_spaces{job=\"good\",status=\"completed\"})") {
            Some(5.0) => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    let log = exporter.log_lines();
    assert!(
        log.iter()
            .any(|l| l.contains("basic auth failed") && l.contains("reason=\"wrong password\"")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("TLS handshake failed")
            && l.contains("remote=127.0.0.1")
            && l.to_ascii_lowercase().contains("certificate")),
        "{log:?}"
    );
    drop(prometheus);
}
