//! The `migration-monitor` CLI: parse flags, show the view; exit 2 on bad flags or
//! configuration, 1 on DynamoDB errors, 130 on Ctrl-C during a read, each as one line.

use std::process::ExitCode;

use migration_cli::flags::parse_args;
use migration_cli::logging;
use migration_monitor::{self as monitor, MonitorFlags, Terminal};

fn main() -> ExitCode {
    let config = match parse_args("migration-monitor", MonitorFlags::to_config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    logging::init(&config.log);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime starts");
    runtime.block_on(async {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let mut stdout = std::io::stdout().lock();
        match monitor::run(&config, Terminal::detect(), &mut stdout, ctrl_c).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("migration-monitor: {e}");
                e.exit_code()
            }
        }
    })
}
