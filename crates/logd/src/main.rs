//! `hs-logd [--root DIR] [--usage-every SECS]`: follows the shared access log into
//! per-domain statistics, BIND's query log and the Postfix and Dovecot logs into
//! day counts, and samples the server for HS::Monitor. `--root` selects a sandbox;
//! without it the system layout is used. Each log has its own follower and
//! checkpoint (`logd/checkpoint.json` for the access log, `checkpoint-{stream}.json`
//! for the others); a log that does not exist yet is waited for.
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
use hs_logd::tally::{Kind, Tally};
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
    let mut dns = Logs::start(&layout, Kind::Dns, &[layout.named_query_log()]);
    let mut mail = Logs::start(&layout, Kind::Mail, &[layout.mail_log(), layout.dovecot_log()]);
    let mut errors = Logs::start(&layout, Kind::WebErrors, &[layout.nginx_error_log()]);
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
        dns.poll(&panel);
        mail.poll(&panel);
        errors.poll(&panel);
        sampler.tick(&panel);
        std::thread::sleep(POLL);
    }
}

/// One log followed into a tally stream, with its checkpoint.
struct Tracked {
    follower: Follower,
    checkpoint_path: PathBuf,
    saved: Checkpoint,
}

/// A tally and the logs that feed it (DNS: the query log; mail: Postfix,
/// Dovecot; web errors: nginx's error log).
struct Logs {
    tally: Tally,
    logs: Vec<Tracked>,
    last_flush: Instant,
}

impl Logs {
    fn start(layout: &Layout, kind: Kind, paths: &[PathBuf]) -> Logs {
        let mut tally = Tally::new(kind, Some(layout.clone()));
        let mut logs = Vec::new();
        for (i, (path, name)) in paths.iter().zip(kind.streams()).enumerate() {
            let checkpoint_path = layout.logd_state().join(format!("checkpoint-{name}.json"));
            let checkpoint = Checkpoint::read(&checkpoint_path);
            let follower = Follower::resume(path, checkpoint.as_ref(), &mut tally.stream(i));
            tracing::info!(
                position = follower.stream_pos(),
                "hs-logd following {}",
                path.display()
            );
            logs.push(Tracked { follower, checkpoint_path, saved: checkpoint.unwrap_or_default() });
        }
        Logs { tally, logs, last_flush: Instant::now() }
    }

    /// Reads what is new; writes the day files, then the checkpoints that cover them.
    fn poll(&mut self, panel: &Panel) {
        self.tally.refresh_hosted();
        for (i, log) in self.logs.iter_mut().enumerate() {
            if let Err(e) = log.follower.poll(&mut self.tally.stream(i)) {
                tracing::warn!("reading a log: {e}");
            }
        }
        let current: Vec<Checkpoint> = (self.logs.iter().enumerate())
            .map(|(i, log)| log.follower.checkpoint(&self.tally.counters[i]))
            .collect();
        let changed = self.logs.iter().zip(&current).any(|(log, c)| log.saved != *c);
        let due = self.last_flush.elapsed() >= FLUSH_EVERY || !self.tally.is_dirty();
        if !changed || !due {
            return;
        }
        if let Err(e) = self.tally.flush() {
            tracing::warn!("writing day files: {e}");
            return;
        }
        panel.fault_point("logd:before_checkpoint");
        for (log, c) in self.logs.iter_mut().zip(current) {
            if log.saved != c {
                match c.write(&log.checkpoint_path) {
                    Ok(()) => log.saved = c,
                    Err(e) => tracing::warn!("writing a checkpoint: {e}"),
                }
            }
        }
        self.last_flush = Instant::now();
    }
}
