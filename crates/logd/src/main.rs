//! `hs-logd [--root DIR] [--usage-every SECS]`: follows the shared access log into
//! per-domain statistics and samples the server for HS::Monitor. `--root` selects a
//! sandbox; without it the system layout is used.
//!
//! No signal handling is needed: the checkpoint order (see `hs_logd::follow`) makes
//! a kill at any instant lose and double nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use hs_config::{Layout, PanelConfig, fsutil};
use hs_logd::agg::{Aggregator, Hosts};
use hs_logd::follow::{Checkpoint, Follower};
use hs_logd::sampler::Sampler;
use hs_modules::Panel;

const POLL: Duration = Duration::from_millis(500);
/// Changed day files are written at most this often (and at every poll that read).
const FLUSH_EVERY: Duration = Duration::from_secs(1);

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(env_filter())
        .with_target(false)
        .with_ansi(false)
        .init();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hs-logd: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn env_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_env("HS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

struct Args {
    root: Option<PathBuf>,
    usage_every: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args { root: None, usage_every: Duration::from_secs(60) };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--root" => args.root = Some(it.next().context("--root needs a folder")?.into()),
            "--usage-every" => {
                let secs: u64 = it.next().context("--usage-every needs seconds")?.parse()?;
                args.usage_every = Duration::from_secs(secs.max(1));
            }
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    Ok(args)
}

fn run() -> anyhow::Result<()> {
    let args = parse_args()?;
    let layout = match &args.root {
        Some(root) => Layout::sandbox(root),
        None => Layout::system(),
    };
    let config = PanelConfig::read(&layout.panel_config())?;
    let pipeline = hs_services::pipeline(&layout, &config);
    let panel = Panel::new(layout.clone(), config, pipeline);
    let pid = format!("{}\n", std::process::id());
    fsutil::write_atomic(&layout.logd_pid(), pid.as_bytes(), 0o644)?;

    let checkpoint_path = layout.logd_state().join("checkpoint.json");
    let checkpoint = Checkpoint::read(&checkpoint_path);
    let hosts = Hosts::Claimed { names: Default::default(), read_at: None };
    let mut agg = Aggregator::new(hosts, Some(layout.clone()));
    let mut follower = Follower::resume(&layout.access_log(), checkpoint.as_ref(), &mut agg);
    let mut saved = checkpoint.unwrap_or_default();
    let mut sampler = Sampler::new(args.usage_every);
    let mut last_flush = Instant::now();
    tracing::info!(
        position = follower.stream_pos(),
        "hs-logd following {}",
        layout.access_log().display()
    );

    loop {
        agg.refresh_hosts();
        if let Err(e) = follower.poll(&mut agg) {
            tracing::warn!("reading the access log: {e}");
        }
        let current = follower.checkpoint(&agg.counters);
        if current != saved && (last_flush.elapsed() >= FLUSH_EVERY || !agg.is_dirty()) {
            // Order matters: the day files first, then the checkpoint that covers them.
            agg.flush().context("writing day files")?;
            panel.fault_point("logd:before_checkpoint");
            current.write(&checkpoint_path).context("writing the checkpoint")?;
            saved = current;
            last_flush = Instant::now();
        }
        sampler.tick(&panel);
        std::thread::sleep(POLL);
    }
}
