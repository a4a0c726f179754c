//! `hspanel.yaml`: how this server runs the panel. A contract: unknown keys are
//! refused, every field has a documented default, and `version` comes first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hs_types::{DomainName, EmailAddress, LoadPercent, Percent};
use serde::{Deserialize, Serialize};

use crate::layout::LayoutKind;
use crate::{StateError, fsutil, yaml};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelConfig {
    /// Format version of this file; only 1 exists.
    pub version: u32,
    /// `system` (the spec's paths) or `sandbox` (one folder, private services).
    pub layout: LayoutKind,
    /// The server's own name: `ns1`/`ns2` and the mail name derive from it.
    pub hostname: DomainName,
    /// The address customers' sites resolve to.
    pub server_ip: std::net::IpAddr,
    pub api: ApiConfig,
    pub web: WebConfig,
    pub php: PhpConfig,
    /// The sandbox's private named; absent on a real server (port 53, rndc's own
    /// configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsConfig>,
    /// The sandbox's private pure-ftpd (HS::FTP); absent on a real server and
    /// in sandboxes made before it (`prepare` fills it in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ftp: Option<FtpConfig>,
    /// The sandbox's private mail stack (HS::Mail); absent on a real server
    /// (standard ports) and in sandboxes made before it (`prepare` fills it in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<MailConfig>,
    /// MariaDB (HS::Database). Absent in files written before it existed.
    #[serde(default)]
    pub mysql: MysqlConfig,
    /// What crossing a plan's monthly bandwidth does: `notify` (an alert, the
    /// default) or `suspend` (the account is suspended). Read by hs-logd at each check.
    #[serde(default)]
    pub bandwidth_policy: BandwidthPolicy,
    /// HS::Monitor's alert thresholds and where alerts are e-mailed. Absent in
    /// files written before it existed (the defaults apply).
    #[serde(default)]
    pub monitor: MonitorConfig,
    /// HS::SSL: the ACME CA and the roots trusted besides the system's. Absent in
    /// files written before it existed: Let's Encrypt production.
    #[serde(default)]
    pub ssl: SslConfig,
}

/// Let's Encrypt's production ACME directory, the default CA of AutoSSL.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SslConfig {
    /// The ACME directory URL AutoSSL orders from. Default Let's Encrypt production.
    #[serde(default = "default_acme_directory")]
    pub acme_directory: String,
    /// A PEM file of roots trusted for the ACME server's own HTTPS, besides the
    /// system's (a sandbox: pebble's listener certificate). Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme_server_ca: Option<std::path::PathBuf>,
    /// A PEM file of roots trusted when checking an installed chain, besides the
    /// system's (a sandbox: pebble's root). Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_roots: Option<std::path::PathBuf>,
    /// The sandbox's private pebble; absent on a real server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pebble: Option<PebbleConfig>,
}

impl Default for SslConfig {
    fn default() -> SslConfig {
        SslConfig {
            acme_directory: default_acme_directory(),
            acme_server_ca: None,
            extra_roots: None,
            pebble: None,
        }
    }
}

fn default_acme_directory() -> String {
    LETS_ENCRYPT.to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Who gets alerts by e-mail; absent: alerts are only shown in the panel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_email: Option<EmailAddress>,
    /// The `sendmail` program alerts are handed to (message on stdin). Default
    /// `/usr/sbin/sendmail`; must be an absolute path.
    #[serde(default = "default_sendmail")]
    pub sendmail: PathBuf,
    /// `sendmail -C DIR`: the configuration folder of a private Postfix (a
    /// sandbox's); absent: the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sendmail_config: Option<PathBuf>,
}

impl Default for MonitorConfig {
    fn default() -> MonitorConfig {
        MonitorConfig {
            thresholds: Thresholds::default(),
            admin_email: None,
            sendmail: default_sendmail(),
            sendmail_config: None,
        }
    }
}

fn default_sendmail() -> PathBuf {
    PathBuf::from("/usr/sbin/sendmail")
}

/// Levels at which HS::Monitor raises an alert (each a validated type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// A filesystem's used space, percent. Default 90.
    #[serde(default = "share")]
    pub disk_percent: Percent,
    /// A filesystem's used inodes, percent. Default 90.
    #[serde(default = "share")]
    pub inodes_percent: Percent,
    /// Memory in use, percent. Default 90.
    #[serde(default = "share")]
    pub memory_percent: Percent,
    /// Swap in use, percent (only with swap). Default 90.
    #[serde(default = "share")]
    pub swap_percent: Percent,
    /// The 1-minute load as a percentage of the cores. Default 200.
    #[serde(default = "load")]
    pub load_percent: LoadPercent,
}

fn share() -> Percent {
    Percent::DEFAULT_ALERT
}

fn load() -> LoadPercent {
    LoadPercent::DEFAULT_ALERT
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            disk_percent: share(),
            inodes_percent: share(),
            memory_percent: share(),
            swap_percent: share(),
            load_percent: load(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PebbleConfig {
    /// The loopback port of pebble's ACME API.
    pub port: u16,
    /// The loopback port of its management API (roots, intermediates).
    pub management_port: u16,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BandwidthPolicy {
    #[default]
    Notify,
    Suspend,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Admin and reseller API and portal. Default `0.0.0.0:2086`.
    pub admin_listen: SocketAddr,
    /// Account holders' API and portal. Default `0.0.0.0:2082`.
    pub user_listen: SocketAddr,
    /// Worker threads of hs-srvd, 4 to 16 as the spec suggests. Default 4.
    pub workers: usize,
    /// Lifetime of a login token, in seconds. Default 3600.
    pub token_ttl_secs: u64,
    /// Sustained requests per second one client address may make. Default 50.
    #[serde(default = "default_requests_per_second")]
    pub requests_per_second: u32,
}

fn default_requests_per_second() -> u32 {
    50
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Where the web server listens for HTTP. Default `80`.
    pub http_listen: String,
    /// Where it listens for HTTPS. Default `443`.
    pub https_listen: String,
    /// The user nginx's workers run as. Default `www-data`.
    pub web_user: String,
    /// nginx worker processes (sandbox only). Default 1.
    pub workers: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhpConfig {
    /// The PHP-FPM version whose pools the panel manages. Default `8.2`.
    pub version: String,
    /// Upper bound of PHP workers per account. Default 5.
    pub max_children: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtpConfig {
    /// The loopback control port.
    pub port: u16,
    /// The first of [`FTP_PASSIVE_PORTS`] passive data ports.
    pub passive_first: u16,
}

/// How many passive data ports the sandbox's pure-ftpd uses.
pub const FTP_PASSIVE_PORTS: u16 = 20;

/// The loopback ports of a sandbox's private Postfix, Dovecot, OpenDKIM and
/// spamd (a real server uses the standard ones: 25, 587, 465, 143, 993, 110, 995).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub smtp_port: u16,
    pub submission_port: u16,
    pub smtps_port: u16,
    pub imap_port: u16,
    pub imaps_port: u16,
    pub pop3_port: u16,
    pub pop3s_port: u16,
    /// OpenDKIM's milter.
    pub dkim_port: u16,
    /// spamass-milter, which asks spamd.
    pub spam_milter_port: u16,
    pub spamd_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// The loopback port the private named answers DNS on (UDP and TCP).
    pub port: u16,
    /// The loopback port of its rndc control channel.
    pub rndc_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    /// The loopback TCP port of a sandbox's private MariaDB, chosen on its first
    /// start. Absent on a real server, whose MariaDB keeps its own settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl PanelConfig {
    /// The defaults of a real server.
    pub fn system_default(hostname: DomainName) -> PanelConfig {
        PanelConfig {
            version: 1,
            layout: LayoutKind::System,
            hostname,
            server_ip: std::net::IpAddr::from([127, 0, 0, 1]),
            api: ApiConfig {
                admin_listen: SocketAddr::from(([0, 0, 0, 0], 2086)),
                user_listen: SocketAddr::from(([0, 0, 0, 0], 2082)),
                workers: 4,
                token_ttl_secs: 3600,
                requests_per_second: default_requests_per_second(),
            },
            web: WebConfig {
                http_listen: "80".into(),
                https_listen: "443".into(),
                web_user: "www-data".into(),
                workers: 1,
            },
            php: PhpConfig { version: "8.2".into(), max_children: 5 },
            dns: None,
            ftp: None,
            mail: None,
            mysql: MysqlConfig::default(),
            bandwidth_policy: BandwidthPolicy::Notify,
            monitor: MonitorConfig::default(),
            ssl: SslConfig::default(),
        }
    }

    pub fn read(path: &Path) -> Result<PanelConfig, StateError> {
        let config: PanelConfig = yaml::read(path)?
            .ok_or_else(|| StateError::corrupt(path, "file does not exist".into()))?;
        if config.version != 1 {
            let reason = format!("unsupported version {}", config.version);
            return Err(StateError::corrupt(path, reason));
        }
        if !(1..=64).contains(&config.api.workers) {
            return Err(StateError::corrupt(path, "api.workers must be 1 to 64".into()));
        }
        if !config.monitor.sendmail.is_absolute() {
            return Err(StateError::corrupt(
                path,
                "monitor.sendmail must be an absolute path".into(),
            ));
        }
        Ok(config)
    }

    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        let text = yaml::to_string(self)?;
        fsutil::write_atomic(path, text.as_bytes(), 0o600).map_err(|e| StateError::io(path, e))
    }
}
