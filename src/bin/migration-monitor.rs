//! The `migration-monitor` CLI: parse flags, connect, show the view; exit 2 on bad flags, 1 on
//! DynamoDB errors, each as one line.

use std::process::ExitCode;

use migration_exporter::config::{self, MonitorFlags};
use migration_exporter::monitor::{self, Terminal};
use migration_exporter::table::ProgressTable;
use migration_exporter::{client, logging};

fn main() -> ExitCode {
    let config = match config::parse_args("migration-monitor", MonitorFlags::to_config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    logging::init(&config.log);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime starts");
    runtime.block_on(async {
        let client = match client::connect(&config.dynamo).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("migration-monitor: {e}");
                return ExitCode::from(2);
            }
        };
        let table = ProgressTable::new(client, &config.dynamo.table, &config.dynamo.status_index)
            .with_read_budget(config.dynamo.max_read_units_per_second);
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let mut stdout = std::io::stdout().lock();
        match monitor::run(&table, &config, Terminal::detect(), &mut stdout, ctrl_c).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("migration-monitor: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
