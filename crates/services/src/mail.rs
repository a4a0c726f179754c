//! The mail services: Postfix, Dovecot and OpenDKIM as [`ServiceDriver`]s,
//! and, in a sandbox, private instances of them plus spamd and spamass-milter.
//!
//! - Postfix: checked with `postfix check`; reloading first runs `postmap` on
//!   each map the panel manages (once per group commit, so a batch of a
//!   thousand mailboxes rebuilds each map once), then `postfix reload`.
//! - Dovecot: `doveconf -n`, `doveadm reload`. Its passwd-files are re-read
//!   on change, so a mailbox needs no reload to log in.
//! - OpenDKIM: `opendkim -n`, SIGUSR1 (re-reads the config and the tables).
//!
//! Secrets: mailbox passwords are hashed by `openssl passwd -6 -stdin` and
//! DKIM public keys derived with the private key on stdin; neither reaches argv.

use std::ffi::OsStr;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hs_automation::{Cmd, ServiceDriver};
use hs_config::mail_conf::{self, MailStack};
use hs_config::panel::MailConfig;
use hs_config::{Layout, PanelConfig, fsutil};
use nix::sys::signal::Signal;

use crate::daemon::{self, Daemon};
use crate::proc;

/// The maps in the Postfix folder that the panel renders and `postmap`s.
pub const POSTFIX_MAPS: &[&str] =
    &["virtual_mailbox_domains", "virtual_mailbox_maps", "virtual_alias_maps", "hspanel_hold"];

/// Postfix's per-domain certificate map, built with `postmap -F` (the files'
/// contents go into the table, so it is root's alone).
pub const SNI_MAP: &str = "tls_server_sni_maps";

/// Postfix's master daemon (Debian's path).
const POSTFIX_MASTER: &str = "/usr/lib/postfix/sbin/master";

/// The system user that owns every maildir.
pub const VMAIL_USER: &str = "hsvmail";

#[derive(Debug, Clone)]
pub struct Postfix {
    pub dir: PathBuf,
}

impl Postfix {
    pub fn new(layout: &Layout) -> Postfix {
        Postfix { dir: layout.postfix_dir() }
    }

    fn postfix(&self) -> Result<Cmd, String> {
        Ok(Cmd::new("postfix").map_err(|e| e.to_string())?.arg("-c").arg(&self.dir))
    }

    /// Turns each map's text into the `.db` Postfix reads.
    pub fn postmap_all(&self) -> Result<(), String> {
        let mut cmd = Cmd::new("postmap").map_err(|e| e.to_string())?.arg("-c").arg(&self.dir);
        for map in POSTFIX_MAPS {
            cmd = cmd.arg(format!("hash:{}", self.dir.join(map).display()));
        }
        cmd.timeout(Duration::from_secs(120)).run().map(|_| ()).map_err(|e| e.to_string())?;
        let sni = self.dir.join(SNI_MAP);
        if sni.exists() {
            let cmd = Cmd::new("postmap").map_err(|e| e.to_string())?.arg("-c").arg(&self.dir);
            let cmd = cmd.arg("-F").arg(format!("hash:{}", sni.display()));
            cmd.timeout(Duration::from_secs(60)).run().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Releases the held mail of `domains` (after an unsuspension): every
    /// message on hold with a recipient in one of them goes back to delivery.
    pub fn release(&self, domains: &[String]) -> Result<usize, String> {
        let listing = Cmd::new("postqueue")
            .map_err(|e| e.to_string())?
            .arg("-c")
            .arg(&self.dir)
            .arg("-j")
            .run()
            .map_err(|e| e.to_string())?;
        let mut ids = Vec::new();
        for line in listing.stdout.lines() {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if entry["queue_name"] != "hold" {
                continue;
            }
            let ours = entry["recipients"].as_array().is_some_and(|rs| {
                rs.iter().filter_map(|r| r["address"].as_str()).any(|a| {
                    a.rsplit_once('@').is_some_and(|(_, d)| domains.iter().any(|x| x == d))
                })
            });
            let id = entry["queue_id"].as_str().unwrap_or_default();
            if ours && !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
                ids.push(id.to_owned());
            }
        }
        if ids.is_empty() {
            return Ok(0);
        }
        let mut cmd = Cmd::new("postsuper").map_err(|e| e.to_string())?.arg("-c").arg(&self.dir);
        for id in &ids {
            cmd = cmd.arg("-H").arg(id);
        }
        cmd.run().map_err(|e| e.to_string())?;
        // Released mail waits in the deferred queue; deliver it now.
        let mut now = Cmd::new("postqueue").map_err(|e| e.to_string())?.arg("-c").arg(&self.dir);
        for id in &ids {
            now = now.arg("-i").arg(id);
        }
        now.run().map_err(|e| e.to_string())?;
        Ok(ids.len())
    }
}

impl ServiceDriver for Postfix {
    fn name(&self) -> &'static str {
        "postfix"
    }

    fn check(&self) -> Result<(), String> {
        self.postfix()?.arg("check").run().map(|_| ()).map_err(|e| e.to_string())
    }

    fn reload(&self) -> Result<(), String> {
        self.postmap_all()?;
        let status = self.postfix()?.arg("status").run_unchecked().map_err(|e| e.to_string())?;
        if !status.status.success() {
            // Not running (a sandbox being prepared): the maps are ready for its start.
            return Ok(());
        }
        self.postfix()?.arg("reload").run().map(|_| ()).map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct Dovecot {
    pub conf: PathBuf,
}

impl Dovecot {
    pub fn new(layout: &Layout) -> Dovecot {
        Dovecot { conf: layout.dovecot_dir().join("dovecot.conf") }
    }
}

impl ServiceDriver for Dovecot {
    fn name(&self) -> &'static str {
        "dovecot"
    }

    fn check(&self) -> Result<(), String> {
        let cmd = Cmd::new("doveconf").map_err(|e| e.to_string())?;
        cmd.arg("-c").arg(&self.conf).arg("-n").run().map(|_| ()).map_err(|e| e.to_string())
    }

    fn reload(&self) -> Result<(), String> {
        let cmd = Cmd::new("doveadm").map_err(|e| e.to_string())?.arg("-c").arg(&self.conf);
        let out = cmd.arg("reload").run_unchecked().map_err(|e| e.to_string())?;
        // Not running: nothing to reload; its start reads the files.
        if out.status.success() || out.stderr.contains("Dovecot is not running") {
            Ok(())
        } else {
            Err(out.stderr.trim().to_owned())
        }
    }
}

#[derive(Debug, Clone)]
pub struct OpenDkim {
    pub conf: PathBuf,
    pub pid_file: PathBuf,
}

impl OpenDkim {
    pub fn new(layout: &Layout) -> OpenDkim {
        OpenDkim {
            conf: layout.opendkim_dir().join("opendkim.conf"),
            pid_file: layout.path("run/opendkim/opendkim.pid"),
        }
    }
}

impl ServiceDriver for OpenDkim {
    fn name(&self) -> &'static str {
        "opendkim"
    }

    fn check(&self) -> Result<(), String> {
        let cmd = Cmd::new("opendkim").map_err(|e| e.to_string())?;
        cmd.arg("-n").arg("-x").arg(&self.conf).run().map(|_| ()).map_err(|e| e.to_string())
    }

    fn reload(&self) -> Result<(), String> {
        match proc::read_pid(&self.pid_file).filter(|pid| proc::alive(*pid)) {
            Some(pid) => proc::signal(pid, Signal::SIGUSR1),
            None => Ok(()),
        }
    }
}

/// A SHA-512 crypt hash (`$6$…`), the password on stdin.
pub fn hash_password(password: &hs_types::Password) -> Result<hs_config::ftp::CryptHash, String> {
    crate::ftp::PureFtpd::hash(password)
}

/// A new 2048-bit RSA DKIM key: the private key (PEM) and the public key as
/// DKIM's `p=` wants it (base64 of the SubjectPublicKeyInfo).
pub fn dkim_keygen() -> Result<(String, String), String> {
    let private = Cmd::new("openssl")
        .map_err(|e| e.to_string())?
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .timeout(Duration::from_secs(60))
        .run()
        .map_err(|e| format!("generating the DKIM key: {e}"))?
        .stdout;
    let public = Cmd::new("openssl")
        .map_err(|e| e.to_string())?
        .args(["pkey", "-pubout"])
        .stdin_secret(private.clone().into_bytes())
        .run()
        .map_err(|e| format!("deriving the DKIM public key: {e}"))?
        .stdout;
    let p: String = public.lines().filter(|l| !l.starts_with("-----")).collect();
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)) {
        return Err("openssl gave no public key".into());
    }
    Ok((private, p))
}

/// `(uid, gid)` of a system user.
pub fn ids(name: &str) -> Option<(u32, u32)> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => Some((u.uid.as_raw(), u.gid.as_raw())),
        _ => None,
    }
}

/// The maildir owner, created as a system user on first use.
pub fn ensure_vmail() -> Result<(u32, u32), String> {
    for _ in 0..50 {
        if let Some(ids) = ids(VMAIL_USER) {
            return Ok(ids);
        }
        let out = Cmd::new("useradd")
            .map_err(|e| e.to_string())?
            .args(["--system", "--no-create-home", "--home-dir", "/nonexistent"])
            .args(["--shell", "/usr/sbin/nologin", "--user-group", VMAIL_USER])
            .run_unchecked()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            continue;
        }
        // 9: it exists (made meanwhile); 10: the passwd files are locked.
        std::thread::sleep(Duration::from_millis(100));
    }
    ids(VMAIL_USER).ok_or_else(|| format!("cannot create the system user {VMAIL_USER}"))
}

/// Gives `path` to a system user (the packages' users: postfix, opendkim, ...).
pub fn chown_to(path: &Path, user: &str) -> Result<(), String> {
    let (uid, gid) = ids(user).ok_or_else(|| format!("there is no system user {user}"))?;
    let (uid, gid) = (nix::unistd::Uid::from_raw(uid), nix::unistd::Gid::from_raw(gid));
    nix::unistd::chown(path, Some(uid), Some(gid)).map_err(|e| format!("{}: {e}", path.display()))
}

fn mkdir(path: &Path, mode: u32) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The view the main configs are rendered from.
pub fn stack_view(layout: &Layout, config: &PanelConfig, ports: &MailConfig) -> MailStack {
    let (vmail_uid, vmail_gid) = ids(VMAIL_USER).unwrap_or((0, 0));
    MailStack {
        hostname: config.hostname.to_string(),
        listen: "127.0.0.1".into(),
        smtp_port: ports.smtp_port,
        submission_port: ports.submission_port,
        smtps_port: ports.smtps_port,
        imap_port: ports.imap_port,
        imaps_port: ports.imaps_port,
        pop3_port: ports.pop3_port,
        pop3s_port: ports.pop3s_port,
        dkim_port: ports.dkim_port,
        spam_milter_port: ports.spam_milter_port,
        postfix_dir: layout.postfix_dir(),
        queue_dir: layout.postfix_queue(),
        postfix_data: layout.path("var/lib/postfix"),
        log_dir: layout.mail_logs(),
        dovecot_run: layout.path("run/dovecot"),
        dovecot_state: layout.path("var/lib/dovecot"),
        dovecot_users: layout.dovecot_dir().join("hspanel-users"),
        mail_root: layout.mail_root(),
        opendkim_dir: layout.opendkim_dir(),
        opendkim_pid: OpenDkim::new(layout).pid_file,
        tls_cert: layout.mail_tls_cert(),
        tls_key: layout.mail_tls_key(),
        sni_map: layout.postfix_map(SNI_MAP),
        dovecot_sni: layout.dovecot_sni(),
        vmail_uid,
        vmail_gid,
        relaxed_key_checks: layout.is_sandbox(),
    }
}

/// Writes a sandbox's mail configs, folders (with their owners), a
/// self-signed certificate and empty maps, so the private daemons can start.
pub fn prepare_sandbox(layout: &Layout, config: &PanelConfig) -> Result<(), String> {
    let ports = config.mail.as_ref().ok_or("the sandbox has no mail ports")?;
    ensure_vmail()?;
    let view = stack_view(layout, config, ports);
    for dir in [
        layout.postfix_dir(),
        layout.postfix_queue(),
        layout.mail_logs(),
        layout.path("run/dovecot"),
        layout.path("var/lib/dovecot"),
        layout.dovecot_dir(),
        layout.opendkim_dir(),
        layout.path("var/lib/spamassassin/hspanel-users"),
        layout.path("etc/spamassassin"),
        layout.path("etc/ssl/hspanel"),
        layout.path("var/mail"),
    ] {
        mkdir(&dir, 0o755)?;
    }
    let data = layout.path("var/lib/postfix");
    mkdir(&data, 0o700)?;
    chown_to(&data, "postfix")?;
    let users = layout.dovecot_dir().join("hspanel-users");
    // setgid: every passwd-file written here belongs to group dovecot.
    mkdir(&users, 0o2750)?;
    nix::unistd::chown(
        &users,
        None,
        nix::unistd::Group::from_name("dovecot").ok().flatten().map(|g| g.gid),
    )
    .map_err(|e| format!("{}: {e}", users.display()))?;
    mkdir(&layout.mail_root(), 0o770)?;
    chown_to(&layout.mail_root(), VMAIL_USER)?;
    for dir in [layout.opendkim_dir().join("keys"), layout.path("run/opendkim")] {
        mkdir(&dir, 0o750)?;
        chown_to(&dir, "opendkim")?;
    }
    let spamd_home = layout.path("var/lib/spamassassin/home");
    mkdir(&spamd_home, 0o750)?;
    chown_to(&spamd_home, "debian-spamd")?;

    ensure_certificate(layout, config.hostname.as_ref())?;
    let write = |path: PathBuf, text: String| {
        fsutil::write_atomic(&path, text.as_bytes(), 0o644).map_err(|e| e.to_string())
    };
    write(layout.postfix_dir().join("main.cf"), mail_conf::postfix_main(&view))?;
    write(layout.postfix_dir().join("master.cf"), mail_conf::postfix_master(&view))?;
    write(layout.dovecot_dir().join("dovecot.conf"), mail_conf::dovecot_conf(&view))?;
    write(layout.opendkim_dir().join("opendkim.conf"), mail_conf::opendkim_conf(&view))?;
    write(layout.path("etc/spamassassin/local.cf"), mail_conf::spamassassin_local())?;
    for pre in std::fs::read_dir("/etc/spamassassin").map_err(|e| e.to_string())?.flatten() {
        let path = pre.path();
        if path.extension() == Some(OsStr::new("pre")) {
            let target = layout.path("etc/spamassassin").join(pre.file_name());
            std::fs::copy(&path, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        }
    }
    for table in ["KeyTable", "SigningTable"] {
        let path = layout.opendkim_dir().join(table);
        if !path.exists() {
            write(path, String::new())?;
        }
    }
    for map in POSTFIX_MAPS {
        let path = layout.postfix_map(map);
        if !path.exists() {
            write(path, String::new())?;
        }
    }
    let sni = layout.postfix_map(SNI_MAP);
    if !sni.exists() {
        fsutil::write_atomic(&sni, b"", 0o600).map_err(|e| e.to_string())?;
    }
    let postfix = Postfix::new(layout);
    postfix.postmap_all()?;
    // Also makes the queue tree, where Dovecot puts its sockets for Postfix.
    postfix.check()
}

/// A self-signed certificate for the mail services, made once.
fn ensure_certificate(layout: &Layout, hostname: &str) -> Result<(), String> {
    let (cert, key) = (layout.mail_tls_cert(), layout.mail_tls_key());
    if cert.exists() && key.exists() {
        return Ok(());
    }
    Cmd::new("openssl")
        .map_err(|e| e.to_string())?
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        .args(["-nodes", "-days", "3650", "-subj"])
        .arg(format!("/CN={hostname}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{hostname}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .run()
        .map(|_| ())
        .map_err(|e| format!("making the mail certificate: {e}"))
}

fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
}

fn spawn_ready(
    name: &'static str,
    program: &str,
    args: &[&OsStr],
    log: &Path,
    signal: Signal,
    limit: Duration,
    ready: impl FnMut() -> bool,
) -> Result<Daemon, String> {
    let mut daemon = Daemon::spawn(name, program, args, log, signal)?;
    match daemon::wait_ready(&mut daemon, limit, ready) {
        Ok(()) => Ok(daemon),
        Err(e) => {
            daemon.stop(Duration::from_secs(2));
            Err(e)
        }
    }
}

/// The private mail daemons, in start order (Postfix's milters first).
pub const DAEMONS: &[&str] = &["spamd", "spamass-milter", "opendkim", "dovecot", "postfix"];

/// Starts the sandbox's spamd, spamass-milter, OpenDKIM, Dovecot and Postfix.
/// spamd is started first and waited for last, since it takes about two
/// seconds to answer.
pub fn start_private(layout: &Layout, config: &PanelConfig) -> Result<Vec<Daemon>, String> {
    let ports = config.mail.as_ref().ok_or("the sandbox has no mail ports")?;
    let mut started: Vec<Daemon> = Vec::new();
    let mut result = Ok(());
    for (i, name) in DAEMONS.iter().enumerate() {
        match start_one(layout, config, name, i > 0) {
            Ok(daemon) => started.push(daemon),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok()
        && let Some(spamd) = started.first_mut()
    {
        let port = ports.spamd_port;
        result = daemon::wait_ready(spamd, Duration::from_secs(30), || port_open(port));
    }
    match result {
        Ok(()) => Ok(started),
        Err(e) => {
            for daemon in started.iter_mut().rev() {
                daemon.stop(Duration::from_secs(2));
            }
            Err(e)
        }
    }
}

/// Starts one private mail daemon; with `wait`, returns once it answers.
pub fn start_one(
    layout: &Layout,
    config: &PanelConfig,
    name: &str,
    wait: bool,
) -> Result<Daemon, String> {
    let ports = config.mail.as_ref().ok_or("the sandbox has no mail ports")?;
    let logs = layout.mail_logs();
    let ten = Duration::from_secs(10);
    let (program, words, signal, port, limit): (&'static str, Vec<String>, Signal, u16, Duration) =
        match name {
            "spamd" => {
                let users = layout.path("var/lib/spamassassin/hspanel-users");
                let home = layout.path("var/lib/spamassassin/home");
                let words = vec![
                    format!("--listen=127.0.0.1:{}", ports.spamd_port),
                    "--allowed-ips=127.0.0.1".into(),
                    "-u".into(),
                    "debian-spamd".into(),
                    "-g".into(),
                    "debian-spamd".into(),
                    "-x".into(),
                    format!("--virtual-config-dir={}/%d/%l", users.display()),
                    "-L".into(),
                    "--min-children=1".into(),
                    "--max-children=2".into(),
                    format!("--siteconfigpath={}", layout.path("etc/spamassassin").display()),
                    "-H".into(),
                    home.display().to_string(),
                    format!("--syslog={}", logs.join("spamd.log").display()),
                ];
                ("spamd", words, Signal::SIGTERM, ports.spamd_port, Duration::from_secs(30))
            }
            "spamass-milter" => {
                let words = [
                    &format!("inet:{}@127.0.0.1", ports.spam_milter_port),
                    "-m",
                    "-I",
                    "-u",
                    "nobody",
                    "-e",
                    "localhost",
                    "--",
                    "-d",
                    "127.0.0.1",
                    "-p",
                    &ports.spamd_port.to_string(),
                ];
                let mut all = vec!["-p".to_owned()];
                all.extend(words.iter().map(|w| w.to_string()));
                ("spamass-milter", all, Signal::SIGKILL, ports.spam_milter_port, ten)
            }
            "opendkim" => {
                let conf = OpenDkim::new(layout).conf.display().to_string();
                let words = vec!["-f".into(), "-x".into(), conf];
                ("opendkim", words, Signal::SIGTERM, ports.dkim_port, Duration::from_secs(20))
            }
            "dovecot" => {
                let conf = Dovecot::new(layout).conf.display().to_string();
                (
                    "dovecot",
                    vec!["-F".into(), "-c".into(), conf],
                    Signal::SIGTERM,
                    ports.imap_port,
                    ten,
                )
            }
            "postfix" => {
                let postfix = Postfix::new(layout);
                postfix.check()?;
                // The master itself in the foreground (`-d`): `postfix start-fg`
                // would leave it behind when its shell is stopped.
                let words = vec!["-c".into(), postfix.dir.display().to_string(), "-d".into()];
                (POSTFIX_MASTER, words, Signal::SIGTERM, ports.smtp_port, Duration::from_secs(30))
            }
            other => return Err(format!("{other} is not a mail daemon")),
        };
    let args: Vec<&OsStr> = words.iter().map(OsStr::new).collect();
    let name = DAEMONS.iter().find(|d| **d == name).copied().unwrap_or("mail");
    let log = logs.join(format!("{name}.stderr.log"));
    if wait {
        spawn_ready(name, program, &args, &log, signal, limit, || port_open(port))
    } else {
        Daemon::spawn(name, program, &args, &log, signal)
    }
}
