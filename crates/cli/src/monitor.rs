//! `hspanel monitor ...`: HS::Monitor from the command line, as the administrator.

use clap::Subcommand;
use hs_modules::{Actor, Panel, monitor};

use crate::Out;

#[derive(Subcommand)]
pub(crate) enum MonitorCmd {
    /// CPU, load, memory, disks, network and the current alerts.
    Server,
    /// Each managed service: running, answering, last reload.
    Services,
    /// Alert thresholds (percent) and the address alerts are e-mailed to.
    SetThresholds {
        #[arg(long)]
        disk_percent: Option<i64>,
        #[arg(long)]
        inodes_percent: Option<i64>,
        #[arg(long)]
        memory_percent: Option<i64>,
        #[arg(long)]
        swap_percent: Option<i64>,
        #[arg(long)]
        load_percent: Option<i64>,
        /// An address, or "" to stop e-mailing alerts.
        #[arg(long)]
        admin_email: Option<String>,
    },
    /// An account's disk and this month's bandwidth against its plan.
    Usage { username: String },
    /// Server samples: `day` (every 5 minutes) or `months` (hourly).
    History {
        #[arg(long, default_value = "day")]
        range: String,
    },
    /// A domain's web statistics, by day.
    Stats {
        domain: String,
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
}

pub(crate) fn run(panel: &Panel, admin: &Actor, out: &Out, cmd: MonitorCmd) -> anyhow::Result<()> {
    match cmd {
        MonitorCmd::Server => {
            let s = monitor::server(panel, admin)?;
            let mut text = vec![
                format!("cpu {}% of {} cores, load {:?}", s.cpu.used_percent, s.cpu.cores, s.load),
                format!(
                    "memory {}% used, swap {}% used",
                    s.memory.used_percent, s.memory.swap_used_percent
                ),
            ];
            for f in &s.filesystems {
                text.push(format!(
                    "{:<24} {}% full, inodes {}%",
                    f.mount, f.used_percent, f.inodes_percent
                ));
            }
            for a in &s.alerts {
                text.push(format!("ALERT {}: {}", a.kind, a.message));
            }
            out.say(&s, &text.join("\n"))
        }
        MonitorCmd::Services => {
            let list = monitor::services(panel, admin)?;
            let text: Vec<String> = list
                .iter()
                .map(|s| {
                    let reload = match &s.last_reload {
                        Some(r) if r.ok => format!(", reloaded {}", r.time),
                        Some(r) => format!(", reload FAILED {}: {}", r.time, r.message),
                        None => String::new(),
                    };
                    let state = if s.up { "up" } else { "DOWN" };
                    format!("{:<10} {:<5} {}{reload}", s.name, state, s.detail)
                })
                .collect();
            out.say(&serde_json::json!({ "services": list }), &text.join("\n"))
        }
        MonitorCmd::SetThresholds {
            disk_percent,
            inodes_percent,
            memory_percent,
            swap_percent,
            load_percent,
            admin_email,
        } => {
            let admin_email = match admin_email.as_deref() {
                None => None,
                Some("") => Some(None),
                Some(text) => Some(Some(text.parse()?)),
            };
            let change = monitor::ThresholdChange {
                disk_percent: disk_percent.map(TryInto::try_into).transpose()?,
                inodes_percent: inodes_percent.map(TryInto::try_into).transpose()?,
                memory_percent: memory_percent.map(TryInto::try_into).transpose()?,
                swap_percent: swap_percent.map(TryInto::try_into).transpose()?,
                load_percent: load_percent.map(TryInto::try_into).transpose()?,
                admin_email,
            };
            let m = monitor::set_thresholds(panel, admin, change)?;
            let value =
                serde_json::json!({ "thresholds": m.thresholds, "admin_email": m.admin_email });
            out.say(&value, "thresholds saved")
        }
        MonitorCmd::Usage { username } => {
            let u = monitor::usage(panel, admin, &username.parse()?)?;
            let limit = |l: Option<u64>| l.map_or("unlimited".to_string(), |mb| format!("{mb} MB"));
            let text = format!(
                "disk {} MB of {}\nbandwidth {} {} MB of {}",
                u.disk_used_bytes / monitor::MB,
                limit(u.disk_limit_mb),
                u.month,
                u.bandwidth_bytes / monitor::MB,
                limit(u.bandwidth_limit_mb)
            );
            out.say(&u, &text)
        }
        MonitorCmd::History { range } => {
            let ring = monitor::history(panel, admin, &range)?;
            let text: Vec<String> = ring
                .samples
                .iter()
                .map(|s| format!("{} cpu {}% mem {}%", s.time, s.cpu_percent, s.memory_percent))
                .collect();
            let value = serde_json::json!({ "range": range, "samples": ring.samples });
            out.say(&value, &text.join("\n"))
        }
        MonitorCmd::Stats { domain, days } => {
            let stats = monitor::stats(panel, admin, &domain.parse()?, days)?;
            let text = format!(
                "{}: {} hits, {} bytes this month",
                domain, stats["month"]["hits"], stats["month"]["bytes"]
            );
            out.say(&stats, &text)
        }
    }
}
