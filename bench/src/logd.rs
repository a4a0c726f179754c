//! hs-logd's parse + aggregate throughput on a generated 2-million-line access log
//! (2,000 virtual hosts, realistic paths, agents and referrers, IPv4 and IPv6),
//! beside goaccess on the same file in the same run: lines per second and peak memory.
//!
//! hs-logd runs in this process (peak RSS reset through `/proc/self/clear_refs`
//! before it starts); goaccess as a child (its peak from `getrusage`).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use hs_logd::agg::{Aggregator, Hosts};
use hs_logd::follow::Follower;
use serde_json::{Value, json};

const LINES: u64 = 2_000_000;
const HOSTS: u64 = 2_000;

pub fn run() -> anyhow::Result<Value> {
    let path = std::env::temp_dir().join("hs-bench-access.log");
    let started = Instant::now();
    generate(&path, LINES)?;
    let size = std::fs::metadata(&path)?.len();
    println!("## hs-logd: parse and aggregate {LINES} lines ({} MB)\n", size >> 20);
    println!("generated in {:.1} s", started.elapsed().as_secs_f64());

    let ours = hs_logd_run(&path)?;
    // HS_BENCH_NO_GOACCESS=1 skips the slow comparison while tuning hs-logd.
    let theirs = if std::env::var_os("HS_BENCH_NO_GOACCESS").is_some() {
        json!({ "skipped": "HS_BENCH_NO_GOACCESS is set" })
    } else {
        goaccess_run(&path)
    };
    println!("| tool | seconds | lines/s | peak RSS (MB) |");
    println!("|---|---|---|---|");
    for (name, v) in [("hs-logd", &ours), ("goaccess", &theirs)] {
        if v.get("seconds").is_some() {
            println!(
                "| {name} | {:.2} | {:.0} | {:.1} |",
                v["seconds"].as_f64().unwrap_or(0.0),
                v["lines_per_sec"].as_f64().unwrap_or(0.0),
                v["peak_rss_mb"].as_f64().unwrap_or(0.0)
            );
        } else {
            println!("| {name} | {} | | |", v["skipped"]);
        }
    }
    println!();
    std::fs::remove_file(&path)?;
    Ok(json!({ "lines": LINES, "file_mb": size >> 20, "hs_logd": ours, "goaccess": theirs }))
}

fn hs_logd_run(path: &Path) -> anyhow::Result<Value> {
    // "5" resets the peak resident set size to the current one.
    std::fs::write("/proc/self/clear_refs", "5")?;
    let start = Instant::now();
    let mut agg = Aggregator::new(Hosts::Any, None);
    let mut follower = Follower::resume(path, None, &mut agg);
    follower.poll(&mut agg)?;
    let secs = start.elapsed().as_secs_f64();
    let c = &agg.counters;
    anyhow::ensure!(c.lines == LINES, "hs-logd read {} lines of {LINES}", c.lines);
    Ok(json!({
        "seconds": secs,
        "lines_per_sec": LINES as f64 / secs,
        "peak_rss_mb": vm_hwm_kb()? as f64 / 1024.0,
        "accepted": c.accepted,
        "rejected": c.rejected(),
        "domains": agg.totals().len(),
    }))
}

fn vm_hwm_kb() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

fn goaccess_run(path: &Path) -> Value {
    let out = std::env::temp_dir().join("hs-bench-goaccess.json");
    let start = Instant::now();
    let status = Command::new("goaccess")
        .arg(path)
        .arg(r#"--log-format=%v %h %^ %^ [%d:%t %^] "%r" %s %b "%R" "%u""#)
        .args(["--date-format=%d/%b/%Y", "--time-format=%T", "--no-progress", "-o"])
        .arg(&out)
        .status();
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&out);
    match status {
        Ok(s) if s.success() => {
            let peak_kb =
                nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
                    .map(|r| r.max_rss())
                    .unwrap_or(0);
            json!({
                "seconds": secs,
                "lines_per_sec": LINES as f64 / secs,
                "peak_rss_mb": peak_kb as f64 / 1024.0,
            })
        }
        Ok(s) => json!({ "skipped": format!("goaccess failed: {s}") }),
        Err(e) => json!({ "skipped": format!("goaccess not run: {e}") }),
    }
}

/// A small deterministic generator (xorshift64*): the same file in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Skewed towards 0: a few hosts and pages get most of the traffic.
    fn skewed(&mut self, n: u64) -> u64 {
        let x = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((x * x * x) * n as f64) as u64
    }
}

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, \
        like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 \
        (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \
        AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, \
        like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/7.88.1",
    "WordPress/6.7; https://example.org",
    "python-requests/2.32.3",
];
const PAGES: &[&str] = &[
    "/",
    "/index.php",
    "/wp-login.php",
    "/wp-admin/admin-ajax.php",
    "/feed/",
    "/robots.txt",
    "/favicon.ico",
    "/contact/",
    "/about/",
    "/shop/cart/",
];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn generate(path: &Path, lines: u64) -> anyhow::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = 1_796_256_000i64; // 2026-12-03T00:00:00Z
    for i in 0..lines {
        let t = start + (i as i64 * 2 * 86_400 / lines as i64);
        let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
        let (y, m, d) = hs_logd::parse::civil_from_days(days);
        let host = rng.skewed(HOSTS);
        let www = if rng.below(5) == 0 { "www." } else { "" };
        let ip = if rng.below(10) < 3 {
            format!("2001:db8:{:x}::{:x}", rng.below(4096), rng.below(65536))
        } else {
            let a = rng.next();
            format!("{}.{}.{}.{}", 1 + a % 223, (a >> 8) & 255, (a >> 16) & 255, (a >> 24) & 255)
        };
        let page = match rng.below(4) {
            0 => PAGES[rng.skewed(PAGES.len() as u64) as usize].to_string(),
            1 => format!("/blog/{}/post-{}/", 2020 + rng.below(7), rng.skewed(500)),
            2 => format!(
                "/wp-content/uploads/2026/{:02}/img-{}.jpg",
                1 + rng.below(12),
                rng.skewed(3000)
            ),
            _ => format!("/static/app.{:x}.css?v={}", rng.skewed(50), rng.below(100)),
        };
        let status = [200, 200, 200, 200, 200, 200, 304, 404, 301, 500][rng.below(10) as usize];
        let bytes = if status == 304 { 0 } else { rng.below(200_000) };
        let referrer = match rng.below(5) {
            0..=2 => "-".to_string(),
            3 => format!("https://www.google.com/search?q=site{host}"),
            _ => format!("https://site{host}.example/"),
        };
        let agent = AGENTS[rng.skewed(AGENTS.len() as u64) as usize];
        writeln!(
            out,
            "{www}site{host}.example {ip} - - [{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000] \
             \"GET {page} HTTP/1.1\" {status} {bytes} \"{referrer}\" \"{agent}\"",
            MONTHS[(m - 1) as usize],
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
    }
    out.flush()?;
    Ok(())
}
