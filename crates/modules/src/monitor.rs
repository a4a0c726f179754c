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
//! Thresholds are the admin's (`monitor.thresholds` in `hspanel.yaml`, set with
//! [`set_thresholds`]) and are read from the file at each check, so hs-logd and
//! hs-srvd agree without a restart. hs-logd records an alert when a threshold is
//! crossed (at most once a day per kind and subject) and e-mails it to
//! `monitor.admin_email` through `sendmail` (message on stdin); the outcome of the
//! hand-over is kept with the alert (`mail`).

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use hs_automation::exec::Cmd;
use hs_config::panel::{BandwidthPolicy, MonitorConfig, Thresholds};
use hs_config::state::{Account, Role};
use hs_config::{Layout, fsutil};
use hs_config::{PanelConfig, service_status};
use hs_services::{nginx::Nginx, php_fpm::PhpFpm, proc, sandbox};
use hs_types::{DomainName, EmailAddress, LoadPercent, Percent, Username};
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
/// Mailboxes measured per domain; past it the list is cut.
pub const MAX_MAILBOXES: usize = 10_000;
/// A threshold alert of one kind and subject is raised (and mailed) once a day.
const ALERT_REPEAT: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
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
    /// The thresholds the alerts are measured against.
    pub thresholds: Option<Thresholds>,
    /// Where alerts are e-mailed.
    pub admin_email: Option<EmailAddress>,
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
    /// What became of the e-mail to the admin: `sent to X`, `not sent: why`, or
    /// absent (no admin address, or an alert computed live).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
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
    let monitor = current_config(panel).monitor;
    s.alerts = live_alerts(&s, &monitor.thresholds);
    s.thresholds = Some(monitor.thresholds);
    s.admin_email = monitor.admin_email;
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
        thresholds: None,
        admin_email: None,
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
        mail: None,
    }
}

/// `hspanel.yaml` as it is on disk now (the admin may have changed it), else
/// the copy this process started with.
pub fn current_config(panel: &Panel) -> PanelConfig {
    PanelConfig::read(&panel.layout.panel_config()).unwrap_or_else(|_| panel.config.clone())
}

fn at_least(value: f64, threshold: Percent) -> bool {
    value >= f64::from(threshold.get())
}

/// The conditions over the admin's thresholds now.
pub fn live_alerts(s: &Server, t: &Thresholds) -> Vec<Alert> {
    let mut out = Vec::new();
    for fs in &s.filesystems {
        if at_least(fs.used_percent, t.disk_percent) {
            out.push(alert(
                "disk",
                &fs.mount,
                &format!("{} is {}% full", fs.mount, fs.used_percent),
            ));
        }
        if at_least(fs.inodes_percent, t.inodes_percent) {
            let msg = format!("{} has used {}% of its inodes", fs.mount, fs.inodes_percent);
            out.push(alert("inodes", &fs.mount, &msg));
        }
    }
    if at_least(s.memory.used_percent, t.memory_percent) {
        out.push(alert("memory", "memory", &format!("memory {}% used", s.memory.used_percent)));
    }
    let swap = s.memory.swap_used_percent;
    if s.memory.swap_total_bytes > 0 && at_least(swap, t.swap_percent) {
        out.push(alert("swap", "swap", &format!("swap {swap}% used")));
    }
    if s.load[0] * 100.0 > f64::from(t.load_percent.get()) * s.cpu.cores as f64 {
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
    /// The last reload the pipeline made and its result (`None`: none recorded).
    pub last_reload: Option<service_status::ReloadRecord>,
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
    ServiceStatus { name: name.into(), running, pid, answering, up, detail, last_reload: None }
}

fn live_pid(path: &Path) -> Option<i32> {
    proc::read_pid(path).filter(|pid| proc::alive(*pid))
}

/// Each managed service: process, port or socket, and the last reload the
/// pipeline recorded (`var/hspanel/services/{name}.json`). Services this server
/// does not run (no pid file and nothing configured) are left out.
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

    let named_pid = layout.path("run/named/named.pid");
    if config.dns.is_some() || named_pid.exists() {
        let port = config.dns.as_ref().map_or(53, |d| d.port);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        out.push(status(
            "bind",
            live_pid(&named_pid),
            true,
            Some(tcp(addr)),
            format!("dns on {addr}"),
        ));
    }

    let mysql_pid = layout.path("run/mysqld/mysqld.pid");
    if config.mysql.port.is_some() || mysql_pid.exists() {
        let socket = layout.mysql_socket();
        let detail = format!("socket {}", socket.display());
        out.push(status("mariadb", live_pid(&mysql_pid), true, Some(unix(&socket)), detail));
    }

    if layout.is_sandbox() {
        let cron = live_pid(&layout.sandbox_cron_pid());
        out.push(status("cron", cron, true, None, "the sandbox's private cron".into()));
    }

    // The mail stack: a sandbox's private ports, else the standard ones.
    let (smtp, imap) = config.mail.as_ref().map_or((25, 143), |m| (m.smtp_port, m.imap_port));
    let mut mail = vec![("postfix", smtp, "smtp"), ("dovecot", imap, "imap")];
    if let Some(m) = &config.mail {
        mail.extend([("opendkim", m.dkim_port, "milter"), ("spamd", m.spamd_port, "spamd")]);
    }
    for (name, port, what) in mail {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        out.push(status(name, None, false, Some(tcp(addr)), format!("{what} on {addr}")));
    }

    if let Some(ftp) = &config.ftp {
        let addr = SocketAddr::from(([127, 0, 0, 1], ftp.port));
        out.push(status("pure-ftpd", None, false, Some(tcp(addr)), format!("ftp on {addr}")));
    }

    let api = [config.api.admin_listen, config.api.user_listen];
    let answering = api.iter().all(|a| tcp(loopback(*a)));
    let detail = format!("admin {}, user {}", api[0], api[1]);
    out.push(status("hs-srvd", None, false, Some(answering), detail));

    let logd = live_pid(&layout.logd_pid());
    out.push(status("hs-logd", logd, true, None, "follows the web, DNS and mail logs".into()));
    let taskd = live_pid(&layout.taskd_pid());
    out.push(status("hs-taskd", taskd, true, None, "runs the job queue".into()));
    for svc in &mut out {
        svc.last_reload = service_status::read(layout, &svc.name);
    }
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
    /// Mailboxes found under `var/mail/vhosts/{domain}/`, with this month's mail.
    pub mailboxes: Vec<MailboxUsage>,
    pub mailbox_bytes: u64,
    /// The account's databases (`None`: MariaDB could not be asked).
    pub databases: Option<Vec<DatabaseUsage>>,
    pub database_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MailboxUsage {
    pub address: String,
    pub size_bytes: u64,
    /// This month, from hs-logd's mail counts.
    pub sent: u64,
    pub received: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseUsage {
    pub name: String,
    pub size_bytes: u64,
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
    let mut mailboxes = Vec::new();
    let mut databases = None;
    if with_disk {
        for d in &domains {
            mailboxes.extend(mailbox_usage(&panel.layout, &d.domain, &month));
        }
        databases = match crate::database::sizes(panel, &account.username) {
            Ok(list) => Some(
                list.into_iter()
                    .map(|(name, size_bytes)| DatabaseUsage { name, size_bytes })
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(user = %account.username, "database sizes: {e}");
                None
            }
        };
    }
    let mailbox_bytes = mailboxes.iter().map(|m| m.size_bytes).sum();
    let database_bytes =
        databases.as_ref().map_or(0, |l: &Vec<DatabaseUsage>| l.iter().map(|d| d.size_bytes).sum());
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
        mailboxes,
        mailbox_bytes,
        databases,
        database_bytes,
    })
}

/// A domain's mailboxes: each folder of `var/mail/vhosts/{domain}/` whose name is
/// a valid address with the domain, its size, and this month's mail counts.
pub fn mailbox_usage(layout: &Layout, domain: &DomainName, month: &str) -> Vec<MailboxUsage> {
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for day in month_files(&layout.mail_stats_dir(domain), month) {
        let Some(by) = day.get("by").and_then(|b| b.as_object()) else { continue };
        for (address, c) in by {
            let n = |k: &str| c.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            let e = counts.entry(address.clone()).or_default();
            e.0 += n("sent");
            e.1 += n("received");
        }
    }
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(layout.mail_vhosts().join(domain.as_str())) else {
        return out;
    };
    for entry in entries.flatten().take(MAX_MAILBOXES) {
        let Some(local) = entry.file_name().to_str().map(str::to_string) else { continue };
        let Ok(address) = format!("{local}@{domain}").parse::<EmailAddress>() else { continue };
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let (size_bytes, _) = disk_used(&entry.path());
        let (sent, received) = counts.get(address.as_str()).copied().unwrap_or((0, 0));
        out.push(MailboxUsage { address: address.into_string(), size_bytes, sent, received });
    }
    out.sort_by(|a, b| a.address.cmp(&b.address));
    out
}

/// The day files (`YYYY-MM-DD.json`) of one month in a folder, as JSON.
fn month_files(dir: &Path, month: &str) -> Vec<serde_json::Value> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let prefix = format!("{month}-");
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(&prefix) && name.ends_with(".json")) {
            continue;
        }
        if let Some(v) =
            std::fs::read(entry.path()).ok().and_then(|b| serde_json::from_slice(&b).ok())
        {
            out.push(v);
        }
    }
    out
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
    let dns = tally_days(&panel.layout.dns_stats_dir(domain), today, days, &since);
    let mail = tally_days(&panel.layout.mail_stats_dir(domain), today, days, &since);
    let errors = tally_days(&panel.layout.web_errors_dir(domain), today, days, &since);
    let dns_queries: u64 = month_files(&panel.layout.dns_stats_dir(domain), &month)
        .iter()
        .filter(|d| d["day"].as_str().is_some_and(|day| day >= since.as_str()))
        .filter_map(|d| d["total"].as_u64())
        .sum();
    Ok(serde_json::json!({
        "domain": domain,
        "owner": owner,
        "month": { "month": month, "hits": hits, "bytes": bytes, "dns_queries": dns_queries },
        "days": out,
        "dns": dns,
        "mail": mail,
        "errors": errors,
        "mailboxes": mailbox_usage(&panel.layout, domain, &month),
    }))
}

/// hs-logd's DNS, mail or web error day files of the last `days` days, newest first,
/// without their internal `state`.
fn tally_days(dir: &Path, today: i64, days: u32, since: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for back in 0..i64::from(days) {
        let name = day_name(today - back);
        if name.as_str() < since {
            break;
        }
        let Ok(bytes) = std::fs::read(dir.join(format!("{name}.json"))) else { continue };
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else { continue };
        if let Some(obj) = value.as_object_mut() {
            obj.remove("state");
        }
        out.push(value);
    }
    out
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
pub fn raise(panel: &Panel, kind: &str, subject: &str, message: &str) -> Result<bool> {
    let config = current_config(panel);
    raise_alert(&panel.layout, &config, alert(kind, subject, message), None)
}

/// Records `new` unless one of the same kind and subject exists (raised within
/// `repeat`, when given), and e-mails it to the admin when one is configured.
pub fn raise_alert(
    layout: &Layout,
    panel_config: &PanelConfig,
    mut new: Alert,
    repeat: Option<jiff::SignedDuration>,
) -> Result<bool> {
    let config = &panel_config.monitor;
    let path = layout.monitor_data().join("alerts.json");
    let _lock = hs_config::locks::named(layout, "monitor-alerts").map_err(ModuleError::internal)?;
    let mut all: Alerts = read_json(&path);
    let recent = |a: &Alert| repeat.is_none_or(|r| new.time.duration_since(a.time) < r);
    if all.alerts.iter().any(|a| a.kind == new.kind && a.subject == new.subject && recent(a)) {
        return Ok(false);
    }
    if let Some(to) = &config.admin_email {
        let host = panel_config.hostname.as_str();
        new.mail = Some(match send_alert(config, host, to, &new) {
            Ok(()) => format!("sent to {to}"),
            Err(e) => {
                tracing::warn!(kind = new.kind, "alert not e-mailed: {e}");
                format!("not sent to {to}: {e}")
            }
        });
    }
    all.alerts.push(new);
    let excess = all.alerts.len().saturating_sub(MAX_ALERTS);
    all.alerts.drain(..excess);
    write_json(&path, &all)?;
    Ok(true)
}

/// The alert as a plain-text message (pure: every value is the panel's own text).
pub fn alert_message(from: &str, to: &EmailAddress, host: &str, a: &Alert) -> String {
    let clean = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).take(200).collect() };
    format!(
        "From: HS-Panel <{from}>\nTo: <{to}>\nSubject: [{}] {} alert: {}\n\
         Content-Type: text/plain; charset=utf-8\n\n{}\n\nKind: {}\nSubject: {}\nTime: {}\n",
        clean(host),
        clean(&a.kind),
        clean(&a.subject),
        clean(&a.message),
        clean(&a.kind),
        clean(&a.subject),
        a.time
    )
}

/// Hands the alert to `sendmail` (argv only; the message on stdin).
fn send_alert(
    config: &MonitorConfig,
    host: &str,
    to: &EmailAddress,
    a: &Alert,
) -> std::result::Result<(), String> {
    let program = config.sendmail.to_str().ok_or("the sendmail path is not UTF-8")?;
    let from = format!("hspanel@{host}");
    let mut cmd = Cmd::new(program).map_err(|e| e.to_string())?.timeout(Duration::from_secs(20));
    if let Some(dir) = &config.sendmail_config {
        cmd = cmd.arg("-C").arg(dir);
    }
    let message = alert_message(&from, to, host, a);
    cmd.args(["-i", "-f", from.as_str(), "--", to.as_str()])
        .stdin_secret(message.into_bytes())
        .run()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Records (and mails) every threshold crossed now. Called by hs-logd.
pub fn check_thresholds(panel: &Panel, server: &Server) -> Result<Vec<Alert>> {
    let panel_config = current_config(panel);
    let config = &panel_config.monitor;
    let mut raised = Vec::new();
    let mut now = live_alerts(server, &config.thresholds);
    for svc in services_status(panel) {
        if !svc.up && svc.name != "hs-logd" {
            now.push(alert("service", &svc.name, &format!("{} is down", svc.name)));
        }
    }
    for a in now {
        if raise_alert(&panel.layout, &panel_config, a.clone(), Some(ALERT_REPEAT))? {
            raised.push(a);
        }
    }
    Ok(raised)
}

/// What an admin may change; absent fields keep their value. `admin_email`:
/// `Some(None)` removes the address.
#[derive(Debug, Clone, Default)]
pub struct ThresholdChange {
    pub disk_percent: Option<Percent>,
    pub inodes_percent: Option<Percent>,
    pub memory_percent: Option<Percent>,
    pub swap_percent: Option<Percent>,
    pub load_percent: Option<LoadPercent>,
    pub admin_email: Option<Option<EmailAddress>>,
}

/// Changes the thresholds and the admin address in `hspanel.yaml` (under a lock,
/// read-modify-write); returns the new monitor settings.
pub fn set_thresholds(
    panel: &Panel,
    actor: &Actor,
    change: ThresholdChange,
) -> Result<MonitorConfig> {
    require_admin(actor)?;
    let path = panel.layout.panel_config();
    let _lock =
        hs_config::locks::named(&panel.layout, "panel-config").map_err(ModuleError::internal)?;
    let mut config = PanelConfig::read(&path).map_err(ModuleError::internal)?;
    let t = &mut config.monitor.thresholds;
    t.disk_percent = change.disk_percent.unwrap_or(t.disk_percent);
    t.inodes_percent = change.inodes_percent.unwrap_or(t.inodes_percent);
    t.memory_percent = change.memory_percent.unwrap_or(t.memory_percent);
    t.swap_percent = change.swap_percent.unwrap_or(t.swap_percent);
    t.load_percent = change.load_percent.unwrap_or(t.load_percent);
    if let Some(email) = change.admin_email {
        config.monitor.admin_email = email;
    }
    config.write(&path).map_err(ModuleError::internal)?;
    Ok(config.monitor)
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
        let config = current_config(panel);
        let raised =
            raise_alert(&panel.layout, &config, alert("bandwidth", &subject, &message), None)?;
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
