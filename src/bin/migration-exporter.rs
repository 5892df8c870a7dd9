//! The `migration-exporter` daemon: parse flags, set up logging, bind, run until SIGTERM/SIGINT.

use std::process::ExitCode;

use migration_cli::flags::parse_args;
use migration_cli::logging;
use migration_daemon::{self as exporter, ExporterFlags};

fn main() -> ExitCode {
    let config = match parse_args("migration-exporter", ExporterFlags::to_config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    logging::init(&config.log);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime starts");
    let result: anyhow::Result<()> = runtime.block_on(async {
        tracing::info!(
            table = %config.table(),
            version = env!("CARGO_PKG_VERSION"),
            "starting"
        );
        // Binds every --web.listen-address and logs one "listening" line for each.
        exporter::run(config, shutdown_signal()).await?;
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "exiting");
            eprintln!("migration-exporter: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
