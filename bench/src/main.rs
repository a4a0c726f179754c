//! `hs-bench`: HS-Panel's benchmarks, each beside the tool a hosting company would
//! otherwise rely on, measured in the same run (these machines are noisy).
//!
//! `bench/run` builds and runs them all; `hs-bench NAME` runs one of `vhosts`,
//! `accounts`, `api`, `logd`, `dns`, `mail`, `backup`; `hs-bench bare-axum PORT` is the
//! reference server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a failed bench aborts

mod accounts;
mod api;
mod backup;
mod dns;
mod logd;
mod mail;
mod vhosts;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which: Vec<&str> = args.iter().map(String::as_str).collect();
    match which.as_slice() {
        ["bare-axum", port] => api::bare_axum(port.parse()?),
        [] | ["all"] => {
            vhosts::run()?;
            api::run()?;
            logd::run().map(|v| println!("## hs-logd beside goaccess\n\n```\n{v:#}\n```\n"))?;
            accounts::run()?;
            dns::run()?;
            mail::run().map(|v| {
                println!("## Mail: 1,000 mailboxes and forwarders\n\n```\n{v:#}\n```\n")
            })?;
            backup::run().map(|v| println!("## Backups beside tar and restic\n\n```\n{v:#}\n```\n"))
        }
        ["vhosts"] => vhosts::run(),
        ["api"] => api::run(),
        ["accounts"] => accounts::run(),
        ["dns"] => dns::run(),
        ["logd"] => logd::run().map(|v| println!("{v:#}")),
        ["mail"] => mail::run().map(|v| println!("{v:#}")),
        ["backup"] => backup::run().map(|v| println!("{v:#}")),
        _ => anyhow::bail!(
            "usage: hs-bench [all|vhosts|api|accounts|logd|dns|mail|backup|bare-axum PORT]"
        ),
    }
}

/// Median and 95th percentile of some durations, in milliseconds.
pub fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.95))
}
