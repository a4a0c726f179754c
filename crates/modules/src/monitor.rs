//! HS::Monitor: server health from `/proc` and `statvfs`, the services' status,
//! each account's usage against its plan, the history rings and the alerts.
//!
//! hs-logd writes what needs a clock (history samples every few minutes, the
//! bandwidth policy); this module reads it back and reads the live figures on
//! demand. Files under `usr/local/hspanel/logs/monitor/`:
//! - `history-5min.json`: the last day at 5-minute resolution (288 samples);
//! - `history-hour.json`: about three months at hourly resolution;
//! - `alerts.json`: the last [`MAX_ALERTS`] alerts raised by the sampler.
//!
//! FIXME: alert thresholds are fixed constants (90 % disk, inodes and memory; load
//! above twice the cores); the admin cannot set them yet, and alerts are not e-mailed.
//! FIXME: mailbox and database sizes join the usage once the mail and database
//! modules exist.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use hs_config::panel::BandwidthPolicy;
use hs_config::state::{Account, Role};
use hs_config::{Layout, fsutil};
use hs_services::{nginx::Nginx, php_fpm::PhpFpm, proc, sandbox};
use hs_types::{DomainName, Username};
use serde::{Deserialize, Serialize};

use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};

pub const MB: u64 = 1024 * 1024;
pub const MAX_ALERTS: usize = 200;
/// Samples in the fine ring (5 minutes each: one day).
pub const FINE_SAMPLES: usize = 288;
/// Samples in the coarse ring (one hour each: 93 days).
pub const COARSE_SAMPLES: usize = 24 * 93;
/// Files visited when measuring a home; past it the figure is a lower bound.
pub const MAX_WALK: u64 = 1_000_000;
const PERCENT_ALERT: f64 = 90.0;
pub const BANDWIDTH_REASON: &str = "bandwidth limit exceeded";

// --- server -------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct Server {
    pub time: jiff::Timestamp,
    pub uptime_secs: u64,
    pub cpu: Cpu,
    pub load: [f64; 3],
    pub memory: Memory,
    pub filesystems: Vec<Filesystem>,
    pub disks: Vec<DiskIo>,
    pub network: Vec<NetIf>,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cpu {
    pub cores: usize,
    /// Busy share of all cores over a short interval, 0 to 100.
    pub used_percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub used_percent: f64,
    pub swap_total_bytes: u64,
    pub swap_free_bytes: u64,
    pub swap_used_percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Filesystem {
    pub mount: String,
    pub fstype: String,
    pub size_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub used_percent: f64,
    pub inodes: u64,
    pub inodes_used: u64,
    pub inodes_percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiskIo {
    pub device: String,
    pub reads: u64,
    pub writes: u64,
    pub read_bytes: u64,
    pub written_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetIf {
    pub interface: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    pub time: jiff::Timestamp,
    /// `disk`, `inodes`, `memory`, `load`, `service`, `bandwidth`.
    pub kind: String,
    pub subject: String,
    pub message: String,
}

fn require_admin(actor: &Actor) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(ModuleError::Forbidden("only administrators see the server's status".into()))
    }
}

pub fn server(panel: &Panel, actor: &Actor) -> Result<Server> {
    require_admin(actor)?;
    let mut s = read_server(Duration::from_millis(200));
    s.alerts = live_alerts(&s);
    for svc in services_status(panel) {
        if !svc.up {
            s.alerts.push(alert("service", &svc.name, &format!("{} is down", svc.name)));
        }
    }
    s.alerts.extend(read_alerts(&panel.layout));
    Ok(s)
}

/// Reads every figure; CPU takes two `/proc/stat` samples `interval` apart.
pub fn read_server(interval: Duration) -> Server {
    let before = cpu_times();
    std::thread::sleep(interval);
    let after = cpu_times();
    let used_percent = match (before, after) {
        (Some((b_busy, b_all)), Some((a_busy, a_all))) if a_all > b_all => {
            round1(100.0 * a_busy.saturating_sub(b_busy) as f64 / (a_all - b_all) as f64)
        }
        _ => 0.0,
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    Server {
        time: jiff::Timestamp::now(),
        uptime_secs: read_first_number("/proc/uptime").unwrap_or(0.0) as u64,
        cpu: Cpu { cores, used_percent },
        load: load(),
        memory: memory(),
        filesystems: filesystems(),
        disks: disks(),
        network: network(),
        alerts: Vec::new(),
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { round1(100.0 * part as f64 / whole as f64) }
}

fn read_first_number(path: &str) -> Option<f64> {
    std::fs::read_to_string(path).ok()?.split_whitespace().next()?.parse().ok()
}

/// (busy, total) jiffies of all CPUs.
fn cpu_times() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

fn load() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut v = text.split_whitespace().map(|x| x.parse().unwrap_or(0.0));
    [v.next().unwrap_or(0.0), v.next().unwrap_or(0.0), v.next().unwrap_or(0.0)]
}

fn memory() -> Memory {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let (total, available) = (field("MemTotal"), field("MemAvailable"));
    let (swap_total, swap_free) = (field("SwapTotal"), field("SwapFree"));
    Memory {
        total_bytes: total,
        available_bytes: available,
        used_percent: percent(total.saturating_sub(available), total),
        swap_total_bytes: swap_total,
        swap_free_bytes: swap_free,
        swap_used_percent: percent(swap_total.saturating_sub(swap_free), swap_total),
    }
}

const REAL_FS: &[&str] =
    &["ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "overlay", "vfat", "f2fs"];

fn filesystems() -> Vec<Filesystem> {
    let text = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(mount), Some(fstype)) = (f.get(1), f.get(2)) else { continue };
        // Mount points escape spaces as \040; such mounts are skipped, not guessed at.
        if !REAL_FS.contains(fstype) || mount.contains('\\') || !seen.insert(mount.to_string()) {
            continue;
        }
        let Ok(st) = nix::sys::statvfs::statvfs(*mount) else { continue };
        let frag = st.fragment_size();
        let size = st.blocks() * frag;
        let free = st.blocks_free() * frag;
        let avail = st.blocks_available() * frag;
        let used = size.saturating_sub(free);
        let inodes = st.files();
        let inodes_used = inodes.saturating_sub(st.files_free());
        out.push(Filesystem {
            mount: mount.to_string(),
            fstype: fstype.to_string(),
            size_bytes: size,
            used_bytes: used,
            available_bytes: avail,
            used_percent: percent(used, used + avail),
            inodes,
            inodes_used,
            inodes_percent: percent(inodes_used, inodes),
        });
    }
    out
}

fn disks() -> Vec<DiskIo> {
    let text = std::fs::read_to_string("/proc/diskstats").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let Some(name) = f.get(2) else { continue };
        if name.starts_with("loop") || name.starts_with("ram") {
            continue;
        }
        let n = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        if n(3) == 0 && n(7) == 0 {
            continue;
        }
        out.push(DiskIo {
            device: name.to_string(),
            reads: n(3),
            read_bytes: n(5) * 512,
            writes: n(7),
            written_bytes: n(9) * 512,
        });
    }
    out
}

fn network() -> Vec<NetIf> {
    let text = std::fs::read_to_string("/proc/net/dev").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else { continue };
        let v: Vec<u64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        let n = |i: usize| v.get(i).copied().unwrap_or(0);
        out.push(NetIf {
            interface: name.trim().to_string(),
            rx_bytes: n(0),
            rx_packets: n(1),
            tx_bytes: n(8),
            tx_packets: n(9),
        });
    }
    out
}

fn alert(kind: &str, subject: &str, message: &str) -> Alert {
    Alert {
        time: jiff::Timestamp::now(),
        kind: kind.into(),
        subject: subject.into(),
        message: message.into(),
    }
}

fn live_alerts(s: &Server) -> Vec<Alert> {
    let mut out = Vec::new();
    for fs in &s.filesystems {
        if fs.used_percent >= PERCENT_ALERT {
            out.push(alert(
                "disk",
                &fs.mount,
                &format!("{} is {}% full", fs.mount, fs.used_percent),
            ));
        }
        if fs.inodes_percent >= PERCENT_ALERT {
            let msg = format!("{} has used {}% of its inodes", fs.mount, fs.inodes_percent);
            out.push(alert("inodes", &fs.mount, &msg));
        }
    }
    if s.memory.used_percent >= PERCENT_ALERT {
        out.push(alert("memory", "memory", &format!("memory {}% used", s.memory.used_percent)));
    }
    if s.load[0] > 2.0 * s.cpu.cores as f64 {
        out.push(alert("load", "load", &format!("load {} on {} cores", s.load[0], s.cpu.cores)));
    }
    out
}

// --- services -----------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub name: String,
    /// The process named by the pid file runs (`None`: no pid file to check).
    pub running: Option<bool>,
    pub pid: Option<i32>,
    /// Answers on its port or socket (`None`: nothing to connect to).
    pub answering: Option<bool>,
    pub up: bool,
    pub detail: String,
}

pub fn services(panel: &Panel, actor: &Actor) -> Result<Vec<ServiceStatus>> {
    require_admin(actor)?;
    Ok(services_status(panel))
}

fn tcp(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

fn unix(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

fn status(
    name: &str,
    pid: Option<i32>,
    pid_file: bool,
    answering: Option<bool>,
    detail: String,
) -> ServiceStatus {
    let running = pid_file.then_some(pid.is_some());
    let up = running.unwrap_or(true) && answering.unwrap_or(true);
    ServiceStatus { name: name.into(), running, pid, answering, up, detail }
}

/// FIXME: the last reload and its result are not recorded by the pipeline yet.
pub fn services_status(panel: &Panel) -> Vec<ServiceStatus> {
    let (layout, config) = (&panel.layout, &panel.config);
    let mut out = Vec::new();

    let nginx = Nginx::new(layout).running_pid();
    let http = sandbox::listen_addr(&config.web.http_listen).ok();
    let answering = http.map(tcp);
    let detail = http.map(|a| format!("http on {a}")).unwrap_or_default();
    out.push(status("nginx", nginx, true, answering, detail));

    let fpm = PhpFpm::new(layout, &config.php.version).running_pid();
    let socket = layout.path("run/php/hs-panel.sock");
    let detail = format!("socket {}", socket.display());
    out.push(status("php-fpm", fpm, true, Some(unix(&socket)), detail));

    let api = [config.api.admin_listen, config.api.user_listen];
    let answering = api.iter().all(|a| tcp(loopback(*a)));
    let detail = format!("admin {}, user {}", api[0], api[1]);
    out.push(status("hs-srvd", None, false, Some(answering), detail));

    let logd = proc::read_pid(&layout.logd_pid()).filter(|pid| proc::alive(*pid));
    out.push(status("hs-logd", logd, true, None, "follows the access log".into()));
    out
}

/// A wildcard listen address is reached on loopback.
fn loopback(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr }
}

// --- usage --------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    pub username: Username,
    pub plan: String,
    pub disk_used_bytes: u64,
    /// The walk stopped at [`MAX_WALK`] files: the figure is a lower bound.
    pub disk_partial: bool,
    pub disk_limit_mb: Option<u64>,
    /// `YYYY-MM`, UTC.
    pub month: String,
    pub bandwidth_bytes: u64,
    pub bandwidth_limit_mb: Option<u64>,
    pub over_bandwidth: bool,
    pub over_disk: bool,
    pub suspended: bool,
    pub domains: Vec<DomainUsage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DomainUsage {
    pub domain: DomainName,
    pub hits: u64,
    pub bytes: u64,
}

pub fn usage(panel: &Panel, actor: &Actor, user: &Username) -> Result<Usage> {
    let account = crate::account::load_managed(panel, actor, user)?;
    account_usage(panel, &account, true)
}

/// One account's usage; the disk walk only when `with_disk`.
pub fn account_usage(panel: &Panel, account: &Account, with_disk: bool) -> Result<Usage> {
    let plan = panel.store.plan(&account.plan)?.map(|p| p.limits).unwrap_or_default();
    let month = current_month();
    let mut domains = Vec::new();
    for d in panel.store.domains(&account.username)? {
        let since = day_of(d.created);
        let (hits, bytes) = month_traffic(&panel.layout, &d.domain, &month, &since);
        domains.push(DomainUsage { domain: d.domain, hits, bytes });
    }
    let bandwidth: u64 = domains.iter().map(|d| d.bytes).sum();
    let (disk, partial) =
        if with_disk { disk_used(&panel.layout.home(&account.username)) } else { (0, false) };
    let over = |used: u64, limit: Option<u64>| limit.is_some_and(|mb| used > mb * MB);
    Ok(Usage {
        username: account.username.clone(),
        plan: account.plan.as_str().to_string(),
        disk_used_bytes: disk,
        disk_partial: partial,
        disk_limit_mb: plan.disk_mb,
        month,
        bandwidth_bytes: bandwidth,
        bandwidth_limit_mb: plan.bandwidth_mb,
        over_bandwidth: over(bandwidth, plan.bandwidth_mb),
        over_disk: with_disk && over(disk, plan.disk_mb),
        suspended: account.suspended.is_some(),
        domains,
    })
}

pub fn current_month() -> String {
    jiff::Timestamp::now().strftime("%Y-%m").to_string()
}

/// The part of a day file the usage needs.
#[derive(Deserialize)]
struct DayTotals {
    hits: u64,
    bytes: u64,
}

/// Hits and bytes of one domain in one month, summed over hs-logd's day files
/// from `since` (`YYYY-MM-DD`) on: days before the domain was added belong to
/// whoever held the name before. FIXME: the day the name changed hands is shared;
/// removing a domain's statistics with the domain needs a hook in its deletion.
pub fn month_traffic(layout: &Layout, domain: &DomainName, month: &str, since: &str) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(layout.web_stats_dir(domain)) else { return (0, 0) };
    let prefix = format!("{month}-");
    let (mut hits, mut bytes) = (0, 0);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(&prefix) && name.ends_with(".json")) || name < since {
            continue;
        }
        let Ok(text) = std::fs::read(entry.path()) else { continue };
        if let Ok(day) = serde_json::from_slice::<DayTotals>(&text) {
            hits += day.hits;
            bytes += day.bytes;
        }
    }
    (hits, bytes)
}

/// Bytes allocated below `home` (symlinks not followed, other filesystems skipped).
pub fn disk_used(home: &Path) -> (u64, bool) {
    let Ok(top) = std::fs::symlink_metadata(home) else { return (0, false) };
    let dev = top.dev();
    let mut total = top.blocks() * 512;
    let mut visited = 0u64;
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            visited += 1;
            if visited > MAX_WALK {
                return (total, true);
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.dev() != dev {
                continue;
            }
            total += meta.blocks() * 512;
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    (total, false)
}

// --- statistics of a domain ---------------------------------------------------------

/// A domain's day files for the last `days` days (newest first), without
/// hs-logd's internal `state`. Account holders see only their own domains.
pub fn stats(
    panel: &Panel,
    actor: &Actor,
    domain: &DomainName,
    days: u32,
) -> Result<serde_json::Value> {
    let missing = || ModuleError::NotFound(format!("domain {domain} does not exist"));
    let owner = panel.store.domain_owner(domain)?.ok_or_else(missing)?;
    crate::account::load_managed(panel, actor, &owner).map_err(|_| missing())?;
    let record = panel.store.domain(&owner, domain)?.ok_or_else(missing)?;
    let since = day_of(record.created);
    let days = days.clamp(1, 366);
    let today = jiff::Timestamp::now().as_second().div_euclid(86_400);
    let mut out = Vec::new();
    for back in 0..i64::from(days) {
        let name = day_name(today - back);
        if name < since {
            break;
        }
        let path = panel.layout.web_stats_dir(domain).join(format!("{name}.json"));
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else { continue };
        if let Some(obj) = value.as_object_mut() {
            obj.remove("state");
        }
        out.push(value);
    }
    let month = current_month();
    let (hits, bytes) = month_traffic(&panel.layout, domain, &month, &since);
    Ok(serde_json::json!({
        "domain": domain,
        "owner": owner,
        "month": { "month": month, "hits": hits, "bytes": bytes },
        "days": out,
    }))
}

fn day_of(t: jiff::Timestamp) -> String {
    day_name(t.as_second().div_euclid(86_400))
}

fn day_name(day: i64) -> String {
    let ts = jiff::Timestamp::from_second(day * 86_400).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%d").to_string()
}

// --- history ------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub time: jiff::Timestamp,
    pub cpu_percent: f64,
    pub load1: f64,
    pub memory_percent: f64,
    pub swap_percent: f64,
    /// The fullest filesystem's use.
    pub disk_percent: f64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ring {
    pub samples: Vec<Sample>,
}

pub fn sample_of(s: &Server) -> Sample {
    let disk = s.filesystems.iter().map(|f| f.used_percent).fold(0.0, f64::max);
    let non_lo = s.network.iter().filter(|n| n.interface != "lo");
    let (rx, tx) = non_lo.fold((0, 0), |(r, t), n| (r + n.rx_bytes, t + n.tx_bytes));
    Sample {
        time: s.time,
        cpu_percent: s.cpu.used_percent,
        load1: s.load[0],
        memory_percent: s.memory.used_percent,
        swap_percent: s.memory.swap_used_percent,
        disk_percent: disk,
        rx_bytes: rx,
        tx_bytes: tx,
    }
}

fn ring_path(layout: &Layout, fine: bool) -> std::path::PathBuf {
    let name = if fine { "history-5min.json" } else { "history-hour.json" };
    layout.monitor_data().join(name)
}

fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> T {
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(ModuleError::internal)?;
    fsutil::write_atomic(path, &text, 0o644).map_err(ModuleError::internal)
}

/// Adds a sample to the fine ring, and to the coarse one when its last sample is
/// from an earlier hour. Called by hs-logd's sampler.
pub fn record_sample(layout: &Layout, sample: Sample) -> Result<()> {
    let fine_path = ring_path(layout, true);
    let mut fine: Ring = read_json(&fine_path);
    fine.samples.push(sample.clone());
    let excess = fine.samples.len().saturating_sub(FINE_SAMPLES);
    fine.samples.drain(..excess);
    write_json(&fine_path, &fine)?;

    let coarse_path = ring_path(layout, false);
    let mut coarse: Ring = read_json(&coarse_path);
    let hour = |t: jiff::Timestamp| t.as_second().div_euclid(3600);
    if coarse.samples.last().is_none_or(|last| hour(last.time) < hour(sample.time)) {
        coarse.samples.push(sample);
        let excess = coarse.samples.len().saturating_sub(COARSE_SAMPLES);
        coarse.samples.drain(..excess);
        write_json(&coarse_path, &coarse)?;
    }
    Ok(())
}

/// `range`: `day` (5-minute samples) or `months` (hourly samples).
pub fn history(panel: &Panel, actor: &Actor, range: &str) -> Result<Ring> {
    require_admin(actor)?;
    let fine = match range {
        "day" => true,
        "months" => false,
        other => {
            let shown: String = other.chars().take(20).filter(|c| !c.is_control()).collect();
            return Err(ModuleError::Invalid(format!(
                "range must be day or months, not {shown:?}"
            )));
        }
    };
    Ok(read_json(&ring_path(&panel.layout, fine)))
}

// --- alerts and the bandwidth policy ------------------------------------------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Alerts {
    alerts: Vec<Alert>,
}

pub fn read_alerts(layout: &Layout) -> Vec<Alert> {
    read_json::<Alerts>(&layout.monitor_data().join("alerts.json")).alerts
}

/// Records an alert unless one of the same kind and subject exists (a bandwidth
/// alert's subject names the month, so it is raised once a month).
pub fn raise(layout: &Layout, kind: &str, subject: &str, message: &str) -> Result<bool> {
    let path = layout.monitor_data().join("alerts.json");
    let mut all: Alerts = read_json(&path);
    if all.alerts.iter().any(|a| a.kind == kind && a.subject == subject) {
        return Ok(false);
    }
    all.alerts.push(alert(kind, subject, message));
    let excess = all.alerts.len().saturating_sub(MAX_ALERTS);
    all.alerts.drain(..excess);
    write_json(&path, &all)?;
    Ok(true)
}

/// Applies the bandwidth policy to every account over its plan's monthly limit;
/// returns the accounts acted on. `policy` is read fresh by the caller, so an
/// admin's change applies at the next check.
pub fn enforce_bandwidth(panel: &Panel, policy: BandwidthPolicy) -> Result<Vec<Username>> {
    let mut acted = Vec::new();
    let system = Actor::admin("hs-logd");
    for account in panel.store.accounts()? {
        let usage = account_usage(panel, &account, false)?;
        if !usage.over_bandwidth {
            continue;
        }
        let limit = usage.bandwidth_limit_mb.unwrap_or(0);
        let message = format!(
            "{} used {} MB of {} MB in {}",
            account.username,
            usage.bandwidth_bytes / MB,
            limit,
            usage.month
        );
        let subject = format!("{}/{}", account.username, usage.month);
        let raised = raise(&panel.layout, "bandwidth", &subject, &message)?;
        if policy == BandwidthPolicy::Suspend && account.suspended.is_none() {
            match crate::account::suspend(panel, &system, &account.username, BANDWIDTH_REASON) {
                Ok(_) => {
                    tracing::warn!(user = %account.username, "suspended: {BANDWIDTH_REASON}");
                    acted.push(account.username.clone());
                }
                // A plugin's pre_suspendacct may refuse; the other accounts still count.
                Err(crate::ModuleError::Vetoed(why)) => {
                    tracing::warn!(user = %account.username, "suspension vetoed: {why}");
                }
                Err(e) => return Err(e),
            }
        } else if raised {
            acted.push(account.username.clone());
        }
    }
    Ok(acted)
}

/// Per-domain totals of this month, for every hosted domain (tests, the CLI).
pub fn all_month_traffic(panel: &Panel) -> Result<BTreeMap<String, (u64, u64)>> {
    let month = current_month();
    let mut out = BTreeMap::new();
    for account in panel.store.accounts()? {
        for d in panel.store.domains(&account.username)? {
            let since = day_of(d.created);
            out.insert(
                d.domain.to_string(),
                month_traffic(&panel.layout, &d.domain, &month, &since),
            );
        }
    }
    Ok(out)
}
