//! hs-srvd: the API daemon. `hs-srvd` serves the system layout; `hs-srvd --root DIR`
//! serves a sandbox.

use std::path::PathBuf;

use anyhow::Context;
use hs_config::Layout;

fn main() -> anyhow::Result<()> {
    init_tracing();
    let layout = match parse_args()? {
        Some(root) => Layout::sandbox(root),
        None => Layout::system(),
    };
    let app = hs_srvd::open(layout)?;
    let workers = app.panel.config.api.workers;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(hs_srvd::serve(app, shutdown_signal()))
}

fn parse_args() -> anyhow::Result<Option<PathBuf>> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => Ok(None),
        (Some("--root"), Some(dir)) => Ok(Some(PathBuf::from(dir))),
        _ => anyhow::bail!("usage: hs-srvd [--root SANDBOX_DIR]"),
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else { return };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HSPANEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
}
