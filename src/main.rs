//! The server binary: config -> telemetry -> startup -> run until stopped.

use skymeet::server::{
    config::{Config, Role},
    error::Chain,
    http::startup::Application,
    telemetry,
};
use std::process::ExitCode;

fn main() -> ExitCode {
    limit_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("skymeet: the async runtime does not start: {e}");
            ExitCode::FAILURE
        }
    }
}

/// glibc's malloc gives each thread that allocates at once an arena of its own, up to eight per
/// core, and memory freed in one arena is not reused by another. The firehose consumer allocates
/// on the socket reader's thread and frees on the applier's, so arenas only add resident memory:
/// measured on the 100,000-frame recording, the release app's peak fell from 54 to 50 MiB with
/// two. `MALLOC_ARENA_MAX`, when set, still decides. Before any thread starts, as glibc asks.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tunable of the allocator; it is called before any other
        // thread exists, so nothing allocates concurrently.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

async fn run() -> ExitCode {
    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("skymeet: configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `skymeet --role web|ingest|all` overrides SKYMEET_ROLE, for deployments that run the firehose
    // consumer in a process of its own.
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {}
        [flag, role] if flag == "--role" => match Role::parse(role) {
            Ok(role) => config.role = role,
            Err(e) => {
                eprintln!("skymeet: --role: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("usage: skymeet [--role all|web|ingest]");
            return ExitCode::FAILURE;
        }
    }
    telemetry::init(config.log_format);

    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %Chain(&e), "start-up failed");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = app.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested");
        shutdown.cancel();
    });
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %Chain(&e), "server failed");
            ExitCode::FAILURE
        }
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
