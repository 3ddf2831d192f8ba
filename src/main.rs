//! The pixverse-bot binary: load `.env`, read the configuration, run until SIGINT or SIGTERM;
//! or, with `copy-database`, move a SQLite database to PostgreSQL (see `copy_database.rs`).

use std::process::ExitCode;

use pixverse_bot::{app::App, config::Config, copy_database, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("pixverse-bot: cannot read .env: {e}");
        return ExitCode::from(2);
    }
    telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(copy_database::COMMAND) {
        return match copy_database::run(&args[1..], |name| std::env::var(name).ok()).await {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("pixverse-bot copy-database: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("pixverse-bot: configuration error: {e}");
            eprintln!("See .env.example for every variable; copy it to .env and fill it in.");
            return ExitCode::from(2);
        }
    };
    let result = async { App::build(config).await?.run_until(shutdown_signal()).await }.await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "pixverse-bot stopped");
            eprintln!("pixverse-bot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, docker stop, kill).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler cannot fail on unix");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutdown requested");
}
