//! Where everything lives: the spec's system paths, or the same tree under a sandbox root.
//!
//! There is one code path for both layouts. A [`Layout`] is a root folder (`/` on a
//! real server) and every path the panel touches is that root joined with the spec's
//! path. Nothing else in the workspace spells out an absolute path.

use std::path::{Path, PathBuf};

use hs_types::{DomainName, Username};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    /// The spec's paths on a real server; services are the distribution's.
    System,
    /// Everything below one folder; the panel starts private service instances.
    Sandbox,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
    kind: LayoutKind,
}

impl Layout {
    pub fn system() -> Layout {
        Layout { root: PathBuf::from("/"), kind: LayoutKind::System }
    }

    pub fn sandbox(root: impl Into<PathBuf>) -> Layout {
        Layout { root: root.into(), kind: LayoutKind::Sandbox }
    }

    pub fn kind(&self) -> LayoutKind {
        self.kind
    }

    pub fn is_sandbox(&self) -> bool {
        self.kind == LayoutKind::Sandbox
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` is one of the spec's absolute paths, written without the leading slash.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    // --- panel state -------------------------------------------------------------

    pub fn panel_config(&self) -> PathBuf {
        self.path("etc/hspanel/hspanel.yaml")
    }

    pub fn hspanel_var(&self) -> PathBuf {
        self.path("var/hspanel")
    }

    pub fn userdata(&self) -> PathBuf {
        self.path("var/hspanel/userdata")
    }

    pub fn user_dir(&self, user: &Username) -> PathBuf {
        self.userdata().join(user.as_str())
    }

    pub fn account_file(&self, user: &Username) -> PathBuf {
        self.user_dir(user).join("account.yaml")
    }

    pub fn domain_file(&self, user: &Username, domain: &DomainName) -> PathBuf {
        self.user_dir(user).join(format!("{}.yaml", domain.as_str()))
    }

    /// The account's cron jobs (HS::Cron's desired state).
    pub fn cron_file(&self, user: &Username) -> PathBuf {
        self.user_dir(user).join("cron.yaml")
    }

    /// The account's FTP users (HS::FTP's desired state).
    pub fn ftp_file(&self, user: &Username) -> PathBuf {
        self.user_dir(user).join("ftp.yaml")
    }

    /// Pure-FTPd's virtual users: the passwd file the panel renders and the
    /// puredb `pure-pw mkdb` builds from it.
    pub fn ftp_dir(&self) -> PathBuf {
        self.path("etc/pure-ftpd")
    }

    pub fn ftp_passwd(&self) -> PathBuf {
        self.ftp_dir().join("pureftpd.passwd")
    }

    pub fn ftp_pdb(&self) -> PathBuf {
        self.ftp_dir().join("pureftpd.pdb")
    }

    /// One small file per hosted domain naming its owner: claiming a domain is an
    /// exclusive create, so two accounts can never own the same name.
    pub fn domain_claim(&self, domain: &DomainName) -> PathBuf {
        self.path("var/hspanel/domains").join(domain.as_str())
    }

    pub fn domain_claims(&self) -> PathBuf {
        self.path("var/hspanel/domains")
    }

    pub fn packages(&self) -> PathBuf {
        self.path("var/hspanel/packages")
    }

    pub fn journal(&self) -> PathBuf {
        self.path("var/hspanel/journal")
    }

    pub fn locks(&self) -> PathBuf {
        self.path("var/hspanel/locks")
    }

    pub fn auth_dir(&self) -> PathBuf {
        self.path("var/hspanel/auth")
    }

    pub fn queue(&self) -> PathBuf {
        self.path("var/hspanel/queue")
    }

    /// hs-taskd's queue (see `hs_config::queue`): jobs waiting to run.
    pub fn queue_pending(&self) -> PathBuf {
        self.queue().join("pending")
    }

    /// Jobs a runner has claimed, with their progress files.
    pub fn queue_running(&self) -> PathBuf {
        self.queue().join("running")
    }

    /// Results: `done/{job_id}.json`.
    pub fn queue_done(&self) -> PathBuf {
        self.queue().join("done")
    }

    /// Job files that failed validation, moved aside and never run.
    pub fn queue_rejected(&self) -> PathBuf {
        self.queue().join("rejected")
    }

    /// Per-job locks and cancel requests.
    pub fn queue_control(&self) -> PathBuf {
        self.queue().join("control")
    }

    /// Recurring work hs-taskd enqueues when due.
    pub fn queue_schedules(&self) -> PathBuf {
        self.queue().join("schedules")
    }

    pub fn taskd_pid(&self) -> PathBuf {
        self.path("run/hspanel/hs-taskd.pid")
    }

    // --- panel installation --------------------------------------------------------

    pub fn templates(&self) -> PathBuf {
        self.path("usr/local/hspanel/templates")
    }

    pub fn panel_logs(&self) -> PathBuf {
        self.path("usr/local/hspanel/logs")
    }

    /// hs-logd's per-domain web statistics: `{domain}/{YYYY-MM-DD}.json`.
    pub fn web_stats(&self) -> PathBuf {
        self.panel_logs().join("web")
    }

    pub fn web_stats_dir(&self, domain: &DomainName) -> PathBuf {
        self.web_stats().join(domain.as_str())
    }

    /// hs-logd's DNS queries per zone: `{zone}/{YYYY-MM-DD}.json`.
    /// hs-logd's day counts of one domain's web server errors, by level.
    pub fn web_errors_dir(&self, domain: &DomainName) -> PathBuf {
        self.panel_logs().join("errors").join(domain.as_str())
    }

    pub fn dns_stats_dir(&self, zone: &DomainName) -> PathBuf {
        self.panel_logs().join("dns").join(zone.as_str())
    }

    /// hs-logd's mail per mailbox of a domain: `{domain}/{YYYY-MM-DD}.json`.
    pub fn mail_stats_dir(&self, domain: &DomainName) -> PathBuf {
        self.panel_logs().join("mail").join(domain.as_str())
    }

    /// hs-logd's own state: the read position in the access log and its counters.
    pub fn logd_state(&self) -> PathBuf {
        self.panel_logs().join("logd")
    }

    /// HS::Monitor's history rings and alerts, written by hs-logd's sampler.
    pub fn monitor_data(&self) -> PathBuf {
        self.panel_logs().join("monitor")
    }

    /// The shared access log nginx writes for every hosted name.
    /// nginx's error log (`error_log` in `nginx.conf`), followed by hs-logd.
    pub fn nginx_error_log(&self) -> PathBuf {
        self.nginx_logs().join("error.log")
    }

    pub fn access_log(&self) -> PathBuf {
        self.nginx_logs().join("hspanel-access.log")
    }

    /// BIND's query log (`category queries`), which hs-logd follows.
    pub fn named_query_log(&self) -> PathBuf {
        self.path("var/log/named/query.log")
    }

    /// The mail stack's log folder (Postfix, Dovecot, spamd).
    pub fn mail_logs(&self) -> PathBuf {
        self.path("var/log/mail")
    }

    /// Postfix's own log file (`maillog_file`, Postfix ≥ 3.4), followed by hs-logd.
    pub fn mail_log(&self) -> PathBuf {
        self.mail_logs().join("mail.log")
    }

    /// Dovecot's log file (`log_path`), followed by hs-logd.
    pub fn dovecot_log(&self) -> PathBuf {
        self.mail_logs().join("dovecot.log")
    }

    /// Mailboxes: `{domain}/{local part}/` (Dovecot's maildirs), measured for usage.
    pub fn mail_vhosts(&self) -> PathBuf {
        self.path("var/mail/vhosts")
    }

    /// The last reload of each managed service and its result (`{service}.json`),
    /// written by the pipeline.
    pub fn service_status_dir(&self) -> PathBuf {
        self.hspanel_var().join("services")
    }

    pub fn logd_pid(&self) -> PathBuf {
        self.path("run/hspanel/hs-logd.pid")
    }

    pub fn plugins(&self) -> PathBuf {
        self.path("usr/local/hspanel/plugins")
    }

    /// One plugin's folder: `plugin.json` and its programs.
    pub fn plugin_dir(&self, name: &hs_types::PluginName) -> PathBuf {
        self.plugins().join(name.as_str())
    }

    /// Which plugins are disabled and which may run as root.
    pub fn plugin_states(&self) -> PathBuf {
        self.path("etc/hspanel/plugins.yaml")
    }

    /// A plugin's own writable folder (owned by the user its programs run as).
    pub fn plugin_data(&self, name: &hs_types::PluginName) -> PathBuf {
        self.path("var/hspanel/plugins").join(name.as_str())
    }

    /// Failed `post_` hooks, one JSON line each, shown to the administrator.
    pub fn plugin_alerts(&self) -> PathBuf {
        self.panel_logs().join("plugins/alerts.jsonl")
    }

    pub fn share(&self) -> PathBuf {
        self.path("usr/local/hspanel/share")
    }

    pub fn suspended_page_dir(&self) -> PathBuf {
        self.share().join("suspended")
    }

    // --- accounts' files -----------------------------------------------------------

    pub fn homes(&self) -> PathBuf {
        self.path("home")
    }

    pub fn home(&self, user: &Username) -> PathBuf {
        self.homes().join(user.as_str())
    }

    // --- services ------------------------------------------------------------------

    pub fn nginx_dir(&self) -> PathBuf {
        self.path("etc/nginx")
    }

    /// The http-level include that carries the panel's whole web layout.
    pub fn nginx_panel_conf(&self) -> PathBuf {
        self.path("etc/nginx/conf.d/hspanel.conf")
    }

    /// One map file per hosted name: the only nginx file a domain change touches.
    pub fn nginx_site_maps(&self) -> PathBuf {
        self.path("etc/nginx/hspanel/sites")
    }

    pub fn nginx_site_map(&self, domain: &DomainName) -> PathBuf {
        self.nginx_site_maps().join(format!("{}.map", domain.as_str()))
    }

    /// HS::SSL: each certificate's key and chain in one PEM file named by a
    /// fingerprint (`{stem}.{fp}.pem`). Group www-data, set-group-id: nginx's
    /// workers load them at each handshake.
    pub fn ssl_certs(&self) -> PathBuf {
        self.path("etc/nginx/hspanel/ssl")
    }

    /// One map file per certificate: the host names it serves → its PEM file.
    pub fn nginx_cert_maps(&self) -> PathBuf {
        self.path("etc/nginx/hspanel/certs")
    }

    pub fn nginx_cert_map(&self, name: &hs_types::CertName) -> PathBuf {
        self.nginx_cert_maps().join(format!("{}.map", name.file_stem()))
    }

    /// The state of an account's certificates (how each was obtained, the last
    /// renewal failure).
    pub fn ssl_state_dir(&self, user: &Username) -> PathBuf {
        self.user_dir(user).join("ssl")
    }

    pub fn ssl_state(&self, user: &Username, name: &hs_types::CertName) -> PathBuf {
        self.ssl_state_dir(user).join(format!("{}.yaml", name.file_stem()))
    }

    /// The panel's ACME accounts, one per directory URL.
    pub fn acme_accounts(&self) -> PathBuf {
        self.path("var/hspanel/ssl")
    }

    /// nginx serves `/.well-known/acme-challenge/` of every site from here first.
    pub fn acme_webroot(&self) -> PathBuf {
        self.path("usr/local/hspanel/share/acme")
    }

    /// A sandbox's pebble: its config, listener certificate and fetched root.
    pub fn pebble_dir(&self) -> PathBuf {
        self.path("etc/hspanel/pebble")
    }

    pub fn nginx_logs(&self) -> PathBuf {
        self.path("var/log/nginx")
    }

    pub fn php_fpm_dir(&self, version: &str) -> PathBuf {
        self.path(&format!("etc/php/{version}/fpm"))
    }

    pub fn php_pool_file(&self, version: &str, user: &Username) -> PathBuf {
        self.php_fpm_dir(version).join("pool.d").join(format!("hs-{}.conf", user.as_str()))
    }

    pub fn php_sockets(&self) -> PathBuf {
        self.path("run/hspanel/php")
    }

    pub fn php_socket(&self, user: &Username) -> PathBuf {
        self.php_sockets().join(format!("{}.sock", user.as_str()))
    }

    // --- DNS (BIND) ------------------------------------------------------------

    pub fn bind_dir(&self) -> PathBuf {
        self.path("etc/bind")
    }

    /// named's main config: Debian's on a real server, the sandbox's own in a sandbox.
    pub fn named_conf(&self) -> PathBuf {
        self.bind_dir().join("named.conf")
    }

    /// Includes [`Layout::bind_zones_conf`]; the only line the panel adds to it.
    pub fn named_conf_local(&self) -> PathBuf {
        self.bind_dir().join("named.conf.local")
    }

    /// One `zone` declaration per hosted zone, generated.
    pub fn bind_zones_conf(&self) -> PathBuf {
        self.bind_dir().join("hspanel-zones.conf")
    }

    pub fn zone_files(&self) -> PathBuf {
        self.path("var/named")
    }

    pub fn zone_file(&self, domain: &DomainName) -> PathBuf {
        self.zone_files().join(format!("{}.db", domain.as_str()))
    }

    /// The DNSSEC policy the zone's declaration names (`default` or `insecure`),
    /// mirrored from the zone's state for the declarations' renderer; absent for a
    /// zone that was never signed.
    pub fn zone_policy_file(&self, domain: &DomainName) -> PathBuf {
        self.zone_files().join(format!("{}.policy", domain.as_str()))
    }

    /// Where named keeps the zones' DNSSEC keys (`key-directory`).
    pub fn dnssec_keys(&self) -> PathBuf {
        self.zone_files().join("keys")
    }

    /// The desired state of one zone: its records with their ids, and its serial.
    pub fn zone_state(&self, user: &Username, domain: &DomainName) -> PathBuf {
        self.user_dir(user).join("dns").join(format!("{}.yaml", domain.as_str()))
    }

    /// Record templates (`{name}.zone`) the administrator adds or overrides.
    pub fn dns_templates(&self) -> PathBuf {
        self.templates().join("dns")
    }

    /// cron's spool of users' crontabs, written only by `crontab`. In a sandbox
    /// the private cron sees this folder at `/var/spool/cron/crontabs`.
    pub fn cron_spool(&self) -> PathBuf {
        self.path("var/spool/cron/crontabs")
    }

    /// The system crontab and `cron.d` that a sandbox's private cron sees in
    /// place of the host's (the panel writes neither on a real server).
    pub fn cron_system_table(&self) -> PathBuf {
        self.path("etc/crontab")
    }

    pub fn cron_d(&self) -> PathBuf {
        self.path("etc/cron.d")
    }

    /// The sandbox's private cron: its pid (read to enter its mount namespace)
    /// and the file bound over its lock file `/run/crond.pid`.
    pub fn sandbox_cron_pid(&self) -> PathBuf {
        self.sandbox_run().join("cron.pid")
    }

    pub fn sandbox_cron_lock(&self) -> PathBuf {
        self.sandbox_run().join("crond.pid")
    }

    /// MariaDB's unix socket, through which the panel administers it as root.
    pub fn mysql_socket(&self) -> PathBuf {
        self.path("run/mysqld/mysqld.sock")
    }

    /// The private MariaDB's config file (sandbox only; a real server keeps its own).
    pub fn mysql_conf(&self) -> PathBuf {
        self.path("etc/mysql/hspanel.cnf")
    }

    pub fn mysql_datadir(&self) -> PathBuf {
        self.path("var/lib/mysql")
    }

    pub fn mysql_logs(&self) -> PathBuf {
        self.path("var/log/mysql")
    }

    /// What the panel created in MariaDB for one account (HS::Database).
    pub fn databases_file(&self, user: &Username) -> PathBuf {
        self.user_dir(user).join("databases.yaml")
    }

    // --- mail (HS::Mail) ------------------------------------------------------

    /// The account's mail domains, mailboxes and forwarders (desired state).
    pub fn mail_file(&self, user: &Username) -> PathBuf {
        self.user_dir(user).join("mail.yaml")
    }

    /// Postfix's configuration folder (`main.cf`, `master.cf`, the maps).
    pub fn postfix_dir(&self) -> PathBuf {
        self.path("etc/postfix")
    }

    /// One of the maps the panel manages: `virtual_mailbox_domains`,
    /// `virtual_mailbox_maps`, `virtual_alias_maps`, `hspanel_hold`.
    pub fn postfix_map(&self, name: &str) -> PathBuf {
        self.postfix_dir().join(name)
    }

    pub fn postfix_queue(&self) -> PathBuf {
        self.path("var/spool/postfix")
    }

    pub fn dovecot_dir(&self) -> PathBuf {
        self.path("etc/dovecot")
    }

    /// Dovecot's passwd-file for one domain's mailboxes.
    /// Dovecot's per-domain certificates (`local_name` blocks), included by
    /// `dovecot.conf`.
    pub fn dovecot_sni(&self) -> PathBuf {
        self.dovecot_dir().join("hspanel-sni.conf")
    }

    pub fn dovecot_users(&self, domain: &DomainName) -> PathBuf {
        self.dovecot_dir().join("hspanel-users").join(domain.as_str())
    }

    /// The maildirs' root: `{domain}/{user}/` below it.
    pub fn mail_root(&self) -> PathBuf {
        self.path("var/mail/vhosts")
    }

    /// A mailbox's home: its `Maildir/` and its Sieve script.
    pub fn mailbox_home(&self, domain: &DomainName, user: &str) -> PathBuf {
        self.mail_root().join(domain.as_str()).join(user)
    }

    pub fn opendkim_dir(&self) -> PathBuf {
        self.path("etc/opendkim")
    }

    /// A domain's DKIM private key.
    pub fn dkim_key(&self, domain: &DomainName) -> PathBuf {
        self.opendkim_dir().join("keys").join(domain.as_str()).join("hspanel.private")
    }

    /// SpamAssassin's per-mailbox preferences (spamd's virtual config folders).
    pub fn spam_prefs(&self, domain: &DomainName, user: &str) -> PathBuf {
        self.path("var/lib/spamassassin/hspanel-users")
            .join(domain.as_str())
            .join(user)
            .join("user_prefs")
    }

    /// The mail services' TLS certificate and key (self-signed until HS::SSL).
    pub fn mail_tls_cert(&self) -> PathBuf {
        self.path("etc/ssl/hspanel/mail.crt")
    }

    pub fn mail_tls_key(&self) -> PathBuf {
        self.path("etc/ssl/hspanel/mail.key")
    }

    /// Private instances' own pid files, sockets and logs (sandbox only).
    pub fn sandbox_run(&self) -> PathBuf {
        self.path("run/hspanel")
    }

    pub fn sandbox_file(&self) -> PathBuf {
        self.root.join("sandbox.json")
    }

    // --- HS::Backup ------------------------------------------------------------------

    /// Finished backups: `backup/{user}/{id}.tar.zst` and `{id}.json` (root, 0700).
    pub fn backups(&self) -> PathBuf {
        self.path("backup")
    }

    pub fn backup_dir(&self, user: &Username) -> PathBuf {
        self.backups().join(user.as_str())
    }

    /// The local restic repository of incremental backups of one account.
    pub fn backup_repo(&self, user: &Username) -> PathBuf {
        self.backups().join("restic").join(user.as_str())
    }

    /// Backup settings and secrets: destinations (`destinations/{name}.yaml` and
    /// key files, 0600), repository passwords, schedules.
    pub fn backup_state(&self) -> PathBuf {
        self.path("var/hspanel/backup")
    }

    /// Scratch folders of running backups, restores and verifications (0700).
    pub fn backup_scratch(&self) -> PathBuf {
        self.backups().join(".scratch")
    }

    /// One mail domain's maildirs (HS::Mail keeps `{domain}/{mailbox}/` here).
    pub fn mail_domain_dir(&self, domain: &DomainName) -> PathBuf {
        self.path("var/mail/vhosts").join(domain.as_str())
    }

    /// Test-only fault injection point (honoured in the sandbox layout only).
    pub fn fault_file(&self) -> PathBuf {
        self.path("var/hspanel/fault")
    }
}
