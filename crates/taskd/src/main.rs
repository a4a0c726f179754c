//! `hs-taskd [--root DIR] [--workers N] [--retry-base-ms MS] [--poll-ms MS]`: the job
//! queue's runner. `--root` selects a sandbox; without it the system layout is used.
//!
//! No signal handling is needed: a job killed mid-way is resumed by the next
//! runner (see `hs_taskd`'s invariants). Several hs-taskd may run at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hs_config::queue::{self, Every, Task};
use hs_config::{Layout, PanelConfig, fsutil};
use hs_modules::Panel;
use hs_taskd::Runner;

/// How often the schedules are looked at.
const SCHEDULE_EVERY: Duration = Duration::from_secs(1);
/// Results (and rejected files) are kept this long, and looked at this often.
const KEEP_RESULTS: Duration = Duration::from_secs(30 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(env_filter())
        .with_target(false)
        .with_ansi(false)
        .init();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hs-taskd: {e:#}");
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
    workers: usize,
    retry_base: Duration,
    poll: Duration,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        root: None,
        workers: 2,
        retry_base: Duration::from_secs(5),
        poll: Duration::from_millis(250),
    };
    let mut it = std::env::args().skip(1);
    let number = |it: &mut dyn Iterator<Item = String>, what: &str| -> anyhow::Result<u64> {
        let text = it.next().with_context(|| format!("{what} needs a number"))?;
        text.parse().with_context(|| format!("{what}: {text:?} is not a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--root" => args.root = Some(it.next().context("--root needs a folder")?.into()),
            "--workers" => args.workers = number(&mut it, "--workers")?.clamp(1, 16) as usize,
            "--retry-base-ms" => {
                args.retry_base = Duration::from_millis(number(&mut it, "--retry-base-ms")?);
            }
            "--poll-ms" => {
                args.poll = Duration::from_millis(number(&mut it, "--poll-ms")?.max(10));
            }
            other => anyhow::bail!("unknown argument {other:?}"),
        }
    }
    Ok(args)
}

/// The recurring work of every server: certificate renewals once a day, and an
/// hourly look at the backup schedules (which queues each due account's run).
fn ensure_schedules(layout: &Layout) -> anyhow::Result<()> {
    let renew = Task::SslRenewDue { within_days: 30 };
    let daily = Every::Daily { hour: 3, minute: 17 };
    let why = "renew certificates expiring within 30 days";
    queue::ensure_schedule(layout, &"ssl-renew".parse()?, daily, renew, why)?;
    let hourly = Every::Interval { seconds: 3600 };
    let why = "run the backup schedules that are due";
    queue::ensure_schedule(layout, &"backup-due".parse()?, hourly, Task::BackupDue, why)?;
    Ok(())
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
    for dir in [
        layout.queue_pending(),
        layout.queue_running(),
        layout.queue_done(),
        layout.queue_control(),
        layout.queue_schedules(),
    ] {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    ensure_schedules(&layout)?;
    let pid = format!("{}\n", std::process::id());
    fsutil::write_atomic(&layout.taskd_pid(), pid.as_bytes(), 0o644)?;
    tracing::info!(workers = args.workers, "hs-taskd started");

    let runner = Arc::new(Runner::new(panel, args.retry_base));
    for n in 0..args.workers {
        let runner = Arc::clone(&runner);
        let poll = args.poll;
        std::thread::Builder::new()
            .name(format!("worker-{n}"))
            .spawn(move || {
                loop {
                    if !runner.work_once() {
                        std::thread::sleep(poll);
                    }
                }
            })
            .context("starting a worker")?;
    }
    let mut pruned: Option<std::time::Instant> = None;
    loop {
        runner.enqueue_due();
        if pruned.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            runner.prune(KEEP_RESULTS);
            pruned = Some(std::time::Instant::now());
        }
        std::thread::sleep(SCHEDULE_EVERY);
    }
}
