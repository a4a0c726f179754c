//! The sandbox: the whole panel under one folder, with private nginx, PHP-FPM and
//! named and MariaDB on free loopback ports. What a newcomer runs first and what the
//! tests use.

use std::ffi::OsStr;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use hs_automation::Cmd;
use hs_config::panel::{
    ApiConfig, DnsConfig, FTP_PASSIVE_PORTS, FtpConfig, PebbleConfig, PhpConfig, SslConfig,
    WebConfig,
};
use hs_config::render::{self, MysqlMain, NamedMain, NginxMain, PhpFpmMain};
use hs_config::{Layout, LayoutKind, PanelConfig, Templates, fsutil};
use nix::sys::signal::Signal;

use crate::bind::Bind;
use crate::daemon::{self, Daemon};
use crate::nginx::Nginx;
use crate::php_fpm::PhpFpm;

/// Unix socket paths are limited to 108 bytes; the deepest one is a pool socket.
const MAX_ROOT_LEN: usize = 64;

/// Folders every sandbox has, relative to its root.
const DIRS: &[&str] = &[
    "etc/hspanel",
    "etc/nginx/conf.d",
    "etc/nginx/hspanel/sites",
    "run/php",
    "run/hspanel/php",
    "var/log/nginx",
    "var/log/php",
    "var/log/hspanel",
    "var/hspanel/userdata",
    "var/hspanel/packages",
    "var/hspanel/domains",
    "var/hspanel/journal",
    "var/hspanel/locks",
    "var/hspanel/auth",
    "var/hspanel/queue",
    "usr/local/hspanel/templates",
    "usr/local/hspanel/logs",
    "usr/local/hspanel/plugins",
    "usr/local/hspanel/share",
    "tmp/nginx",
    "etc/bind",
    "var/named",
    "var/cache/bind",
    "var/log/named",
    "run/named",
    "etc/mysql",
    "var/lib/mysql",
    "var/log/mysql",
    "run/mysqld",
    "tmp/mysql",
];

/// The name of the sandbox's rndc key.
const RNDC_KEY_NAME: &str = "hspanel-rndc";

/// Checks the root, creates the tree, and returns the panel config, choosing free
/// ports on the first start and keeping them on every later one.
pub fn prepare(root: &Path) -> Result<PanelConfig, String> {
    check_root(root)?;
    let layout = Layout::sandbox(root);
    for dir in DIRS {
        std::fs::create_dir_all(layout.path(dir)).map_err(|e| format!("{dir}: {e}"))?;
    }
    // www-data must traverse down to the homes and the panel's share folder.
    for dir in [root.to_path_buf(), layout.path("home"), layout.path("usr"), layout.path("run")] {
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mode = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(&dir, mode).map_err(|e| format!("{}: {e}", dir.display()))?;
    }

    let path = layout.panel_config();
    let mut config = if path.exists() {
        let mut config = PanelConfig::read(&path).map_err(|e| e.to_string())?;
        // A sandbox made before the panel ran named gets its ports now.
        if config.dns.is_none() {
            config.dns = Some(dns_ports()?);
            config.write(&path).map_err(|e| e.to_string())?;
        }
        config
    } else {
        let config = fresh_config()?;
        config.write(&path).map_err(|e| e.to_string())?;
        config
    };
    // A sandbox made before MariaDB was part of it gets its port now.
    if config.mysql.port.is_none() {
        config.mysql.port = Some(free_fixed_port()?);
        config.write(&path).map_err(|e| e.to_string())?;
    }

    // A sandbox made before HS::FTP gets its FTP ports now.
    if config.ftp.is_none() {
        config.ftp = Some(ftp_ports()?);
        config.write(&path).map_err(|e| e.to_string())?;
    }

    // A sandbox made before HS::Mail gets its mail ports now.
    if config.mail.is_none() {
        config.mail = Some(mail_ports()?);
        config.write(&path).map_err(|e| e.to_string())?;
    }

    // HS::SSL: a sandbox made before it gets its private pebble now.
    if config.ssl.pebble.is_none() {
        set_pebble(&layout, &mut config)?;
        config.write(&path).map_err(|e| e.to_string())?;
    }

    write_main_configs(&layout, &config)?;
    crate::mail::prepare_sandbox(&layout, &config)?;
    Ok(config)
}

/// Points AutoSSL at a private pebble on free ports.
fn set_pebble(layout: &Layout, config: &mut PanelConfig) -> Result<(), String> {
    let pebble = PebbleConfig { port: free_port()?.port(), management_port: free_port()?.port() };
    config.ssl = SslConfig {
        acme_directory: format!("https://127.0.0.1:{}/dir", pebble.port),
        acme_server_ca: Some(layout.pebble_dir().join("listener.pem")),
        extra_roots: Some(layout.pebble_dir().join("root.pem")),
        pebble: Some(pebble),
    };
    Ok(())
}

fn check_root(root: &Path) -> Result<(), String> {
    let text = root.to_str().ok_or("the sandbox path must be valid UTF-8")?;
    if !root.is_absolute() {
        return Err("the sandbox path must be absolute".into());
    }
    if text.len() > MAX_ROOT_LEN {
        return Err(format!("the sandbox path must be at most {MAX_ROOT_LEN} characters"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/._-".contains(c);
    if !text.chars().all(allowed) {
        return Err("the sandbox path may hold only letters, digits, '/', '.', '_', '-'".into());
    }
    Ok(())
}

fn fresh_config() -> Result<PanelConfig, String> {
    let hostname = "server.hspanel.test".parse().map_err(|e| format!("{e}"))?;
    let mut config = PanelConfig::system_default(hostname);
    config.layout = LayoutKind::Sandbox;
    config.api = ApiConfig {
        admin_listen: free_port()?,
        user_listen: free_port()?,
        workers: 4,
        ..config.api
    };
    config.web = WebConfig {
        http_listen: free_port()?.to_string(),
        https_listen: free_port()?.to_string(),
        web_user: "www-data".into(),
        workers: 1,
    };
    config.php = PhpConfig { version: php_version(), max_children: 5 };
    config.dns = Some(dns_ports()?);
    config.mysql.port = Some(free_fixed_port()?);
    config.ftp = Some(ftp_ports()?);
    config.mail = Some(mail_ports()?);
    Ok(config)
}

/// Loopback ports for the private Postfix, Dovecot, OpenDKIM and spamd.
fn mail_ports() -> Result<hs_config::panel::MailConfig, String> {
    let port = || free_port().map(|a| a.port());
    Ok(hs_config::panel::MailConfig {
        smtp_port: port()?,
        submission_port: port()?,
        smtps_port: port()?,
        imap_port: port()?,
        imaps_port: port()?,
        pop3_port: port()?,
        pop3s_port: port()?,
        dkim_port: port()?,
        spam_milter_port: port()?,
        spamd_port: port()?,
    })
}

/// The control port and a run of free passive ports for the private pure-ftpd.
fn ftp_ports() -> Result<FtpConfig, String> {
    let port = free_port()?.port();
    for _ in 0..50 {
        let first = free_port()?.port();
        let all_free = (first..first.saturating_add(FTP_PASSIVE_PORTS))
            .all(|p| p != port && TcpListener::bind(("127.0.0.1", p)).is_ok());
        if all_free && first < u16::MAX - FTP_PASSIVE_PORTS {
            return Ok(FtpConfig { port, passive_first: first });
        }
    }
    Err("no free run of passive FTP ports".into())
}

fn dns_ports() -> Result<DnsConfig, String> {
    Ok(DnsConfig { port: free_port()?.port(), rndc_port: free_port()?.port() })
}

/// The newest PHP-FPM installed, `8.2` on Debian 12.
fn php_version() -> String {
    ["8.4", "8.3", "8.2", "8.1"]
        .iter()
        .find(|v| hs_automation::exec::installed(&format!("php-fpm{v}")))
        .unwrap_or(&"8.2")
        .to_string()
}

/// A free loopback port below the kernel's ephemeral range, for a daemon that
/// binds it seconds after it is chosen (MariaDB initialises its data directory
/// first): in the ephemeral range, an outgoing connection can take it meanwhile.
pub fn free_fixed_port() -> Result<u16, String> {
    let range =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let ephemeral_start: u16 =
        range.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(32768);
    let (low, high) = (10000u32, u32::from(ephemeral_start.max(10100)));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ (std::process::id() << 8);
    for attempt in 0..200u32 {
        let mixed = seed.wrapping_add(attempt.wrapping_mul(7919)).wrapping_mul(2654435761);
        let port = (low + mixed % (high - low)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err("no free loopback port below the ephemeral range".into())
}

/// A free loopback port, found by letting the kernel pick one.
///
/// Ports come from 20000-32767, below Linux's ephemeral range (32768-60999): a port
/// the kernel hands to an outgoing connection meanwhile cannot steal it. Several
/// sandboxes starting at once pick at random, so they rarely try the same one.
pub fn free_port() -> Result<SocketAddr, String> {
    // Ports this process already chose but nobody listens on yet.
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_768;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default()
        ^ std::process::id().rotate_left(16);
    for _ in 0..200 {
        // xorshift: cheap, and good enough to spread sandboxes apart.
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let port = (FIRST + seed % COUNT) as u16;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut taken = HANDED_OUT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let free = TcpListener::bind(addr).is_ok() && std::net::UdpSocket::bind(addr).is_ok();
        if free && taken.insert(port) {
            return Ok(addr);
        }
    }
    Err("no free loopback port found".into())
}

fn write_main_configs(layout: &Layout, config: &PanelConfig) -> Result<(), String> {
    let templates = Templates::load(&layout.templates()).map_err(|e| e.to_string())?;
    let nginx = NginxMain {
        workers: config.web.workers,
        run_dir: layout.path("run"),
        log_dir: layout.nginx_logs(),
        tmp_dir: layout.path("tmp/nginx"),
        conf_d: layout.path("etc/nginx/conf.d"),
        web_user: config.web.web_user.clone(),
    };
    let text = render::nginx_main(&templates, &nginx).map_err(|e| e.to_string())?;
    let path = layout.nginx_dir().join("nginx.conf");
    fsutil::write_atomic(&path, text.as_bytes(), 0o644).map_err(|e| e.to_string())?;

    let version = &config.php.version;
    let fpm = PhpFpmMain {
        pid_file: layout.path(&format!("run/php/php{version}-fpm.pid")),
        panel_socket: layout.path("run/php/hs-panel.sock"),
        log_dir: layout.path("var/log/php"),
        pool_dir: layout.php_fpm_dir(version).join("pool.d"),
        web_user: config.web.web_user.clone(),
    };
    let text = render::php_fpm_main(&templates, &fpm).map_err(|e| e.to_string())?;
    let path = layout.php_fpm_dir(version).join("php-fpm.conf");
    fsutil::write_atomic(&path, text.as_bytes(), 0o644).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(layout.php_fpm_dir(version).join("pool.d"))
        .map_err(|e| e.to_string())?;

    let mysql = mysql_main_view(layout, config)?;
    let text = render::mysql_main(&templates, &mysql).map_err(|e| e.to_string())?;
    fsutil::write_atomic(&layout.mysql_conf(), text.as_bytes(), 0o644)
        .map_err(|e| e.to_string())?;
    write_named_configs(layout, config, &templates)
}

/// The private named's config, its rndc key (made once, by `rndc-confgen`, so
/// the secret never passes through argv) and the `rndc.conf` that uses it.
fn write_named_configs(
    layout: &Layout,
    config: &PanelConfig,
    templates: &Templates,
) -> Result<(), String> {
    let dns = config.dns.as_ref().ok_or("the sandbox has no DNS ports")?;
    let bind = layout.bind_dir();
    let key = bind.join("rndc.key");
    if !key.exists() {
        Cmd::new("rndc-confgen")
            .map_err(|e| e.to_string())?
            .args(["-a", "-A", "hmac-sha256", "-k", RNDC_KEY_NAME, "-c"])
            .arg(&key)
            .run()
            .map_err(|e| e.to_string())?;
    }
    let view = NamedMain {
        rndc_key: key.clone(),
        key_name: RNDC_KEY_NAME.into(),
        work_dir: layout.path("var/cache/bind"),
        pid_file: layout.path("run/named/named.pid"),
        log_file: layout.path("var/log/named/named.log"),
        query_log: layout.named_query_log(),
        port: dns.port,
        rndc_port: dns.rndc_port,
        conf_local: layout.named_conf_local(),
    };
    let text = render::named_main(templates, &view).map_err(|e| e.to_string())?;
    fsutil::write_atomic(&layout.named_conf(), text.as_bytes(), 0o644)
        .map_err(|e| e.to_string())?;

    let rndc = format!(
        "// The sandbox's rndc, generated by HS-Panel.\ninclude \"{}\";\n\
         options {{ default-key \"{RNDC_KEY_NAME}\"; default-server 127.0.0.1; \
         default-port {}; }};\n",
        key.display(),
        dns.rndc_port
    );
    fsutil::write_atomic(&bind.join("rndc.conf"), rndc.as_bytes(), 0o600).map_err(|e| e.to_string())
}

/// Starts the private named and waits until its control channel answers. The
/// zone declarations must exist (the DNS module installs them first).
pub fn start_dns(layout: &Layout) -> Result<Daemon, String> {
    let log = layout.path("var/log/named/named.stderr.log");
    let conf = layout.named_conf();
    let args = [OsStr::new("-f"), OsStr::new("-c"), conf.as_os_str()];
    let mut daemon = Daemon::spawn("named", "named", &args, &log, Signal::SIGTERM)?;
    let bind = Bind::new(layout);
    let ready = daemon::wait_ready(&mut daemon, Duration::from_secs(20), || bind.status().is_ok());
    match ready {
        Ok(()) => Ok(daemon),
        Err(e) => {
            daemon.stop(Duration::from_secs(5));
            Err(e)
        }
    }
}

fn mysql_main_view(layout: &Layout, config: &PanelConfig) -> Result<MysqlMain, String> {
    let port = config.mysql.port.ok_or("the sandbox has no MariaDB port")?;
    Ok(MysqlMain {
        datadir: layout.mysql_datadir(),
        socket: layout.mysql_socket(),
        pid_file: layout.path("run/mysqld/mysqld.pid"),
        log_file: layout.mysql_logs().join("error.log"),
        tmp_dir: layout.path("tmp/mysql"),
        port,
    })
}

/// Starts the private MariaDB, creating its data directory on the first start
/// (root authenticates through the socket only), and waits until it answers.
pub fn start_mysql(layout: &Layout) -> Result<Daemon, String> {
    let conf = layout.mysql_conf();
    let defaults = format!("--defaults-file={}", conf.display());
    let (uid, gid) = mysql_ids()?;
    let dirs = [layout.mysql_datadir(), layout.mysql_logs(), layout.path("run/mysqld")];
    for dir in dirs.into_iter().chain([layout.path("tmp/mysql")]) {
        nix::unistd::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    if !layout.mysql_datadir().join("mysql").exists() {
        hs_automation::Cmd::new("mariadb-install-db")
            .map_err(|e| e.to_string())?
            .arg(&defaults)
            .arg("--auth-root-authentication-method=socket")
            .arg("--skip-test-db")
            .timeout(Duration::from_secs(120))
            .run()
            .map_err(|e| format!("creating the MariaDB data directory: {e}"))?;
    }

    let log = layout.mysql_logs().join("mariadbd.stderr.log");
    let args = [OsStr::new(&defaults)];
    let mut daemon = Daemon::spawn("mariadb", "mariadbd", &args, &log, Signal::SIGTERM)?;
    let socket = layout.mysql_socket();
    let ready = daemon::wait_ready(&mut daemon, Duration::from_secs(60), || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    });
    if let Err(e) = ready {
        daemon.stop(Duration::from_secs(10));
        return Err(e);
    }
    Ok(daemon)
}

fn mysql_ids() -> Result<(nix::unistd::Uid, nix::unistd::Gid), String> {
    match nix::unistd::User::from_name("mysql") {
        Ok(Some(user)) => Ok((user.uid, user.gid)),
        Ok(None) => Err("there is no mysql user; install mariadb-server".into()),
        Err(e) => Err(format!("looking up the mysql user: {e}")),
    }
}

/// Starts PHP-FPM and nginx and waits until both serve. Stops what it started if
/// either fails.
pub fn start_web(layout: &Layout, config: &PanelConfig) -> Result<Vec<Daemon>, String> {
    let fpm = start_php_fpm(layout, config)?;
    match start_nginx(layout, config) {
        Ok(nginx) => Ok(vec![fpm, nginx]),
        Err(e) => {
            let mut fpm = fpm;
            fpm.stop(Duration::from_secs(5));
            Err(e)
        }
    }
}

/// Starts the private PHP-FPM and waits for the panel's pool socket.
pub fn start_php_fpm(layout: &Layout, config: &PanelConfig) -> Result<Daemon, String> {
    let fpm = PhpFpm::new(layout, &config.php.version);
    let log = layout.path("var/log/php/php-fpm.stderr.log");
    let conf = fpm.conf.clone();
    let args = [OsStr::new("-F"), OsStr::new("-y"), conf.as_os_str()];
    let mut daemon = Daemon::spawn("php-fpm", &fpm.binary, &args, &log, Signal::SIGQUIT)?;
    let socket = layout.path("run/php/hs-panel.sock");
    match daemon::wait_ready(&mut daemon, Duration::from_secs(10), || socket.exists()) {
        Ok(()) => Ok(daemon),
        Err(e) => {
            daemon.stop(Duration::from_secs(5));
            Err(e)
        }
    }
}

/// Starts the private nginx and waits until it accepts on the HTTP port.
pub fn start_nginx(layout: &Layout, config: &PanelConfig) -> Result<Daemon, String> {
    let nginx = Nginx::new(layout);
    let log = layout.nginx_logs().join("nginx.stderr.log");
    let args = [
        OsStr::new("-p"),
        nginx.prefix.as_os_str(),
        OsStr::new("-c"),
        nginx.conf.as_os_str(),
        OsStr::new("-g"),
        OsStr::new("daemon off;"),
    ];
    let mut daemon = Daemon::spawn("nginx", "nginx", &args, &log, Signal::SIGQUIT)?;
    let addr = listen_addr(&config.web.http_listen)?;
    let ready = daemon::wait_ready(&mut daemon, Duration::from_secs(10), || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
    });
    match ready {
        Ok(()) => Ok(daemon),
        Err(e) => {
            daemon.stop(Duration::from_secs(5));
            Err(e)
        }
    }
}

/// `127.0.0.1:8080` or a bare port (meaning every address, reached on loopback).
pub fn listen_addr(listen: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = listen.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    listen.parse().map_err(|_| format!("bad listen address {listen:?}"))
}

/// Starts the private pebble (HS::SSL's CA in a sandbox) and waits until its
/// directory answers; then fetches its root, which pebble makes anew at each
/// start, into the file `acme_ca_file` of `sandbox.json` names. Its http-01
/// validations go to the sandbox's nginx, its lookups to the sandbox's named.
pub fn start_pebble(layout: &Layout, config: &PanelConfig) -> Result<Daemon, String> {
    let pebble = config.ssl.pebble.as_ref().ok_or("the sandbox has no pebble ports")?;
    let dns = config.dns.as_ref().ok_or("the sandbox has no DNS ports")?;
    let dir = layout.pebble_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    // pebble's own HTTPS listener: Debian ships no certificate for it.
    let listener = dir.join("listener.pem");
    let listener_key = dir.join("listener.key");
    if !listener.exists() || !listener_key.exists() {
        let names = ["127.0.0.1".to_string(), "localhost".to_string()];
        let issued = crate::tls::self_signed(&names, 3650)?;
        fsutil::write_atomic(&listener_key, issued.key_pem.as_bytes(), 0o600)
            .map_err(|e| e.to_string())?;
        fsutil::write_atomic(&listener, issued.cert_pem.as_bytes(), 0o644)
            .map_err(|e| e.to_string())?;
    }
    let http = listen_addr(&config.web.http_listen)?;
    let https = listen_addr(&config.web.https_listen)?;
    let doc = serde_json::json!({ "pebble": {
        "listenAddress": format!("127.0.0.1:{}", pebble.port),
        "managementListenAddress": format!("127.0.0.1:{}", pebble.management_port),
        "certificate": listener,
        "privateKey": listener_key,
        "httpPort": http.port(),
        "tlsPort": https.port(),
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
        // Let's Encrypt's 90 days, so renewal windows behave as in production.
        "certificateValidityPeriod": 7_776_000,
    }});
    let conf = dir.join("pebble.json");
    fsutil::write_atomic(&conf, doc.to_string().as_bytes(), 0o644).map_err(|e| e.to_string())?;

    let dns_server = format!("127.0.0.1:{}", dns.port);
    let args = [
        OsStr::new("-config"),
        conf.as_os_str(),
        OsStr::new("-dnsserver"),
        OsStr::new(&dns_server),
    ];
    // No random validation sleeps, no deliberate bad-nonce refusals.
    let env = [("PEBBLE_VA_NOSLEEP", "1"), ("PEBBLE_WFE_NONCEREJECT", "0")];
    let log = layout.path("var/log/hspanel/pebble.log");
    let mut daemon =
        Daemon::spawn_with_env("pebble", "pebble", &args, &env, &log, Signal::SIGTERM)?;
    let agent = crate::tls::agent(&[listener.as_path()], Duration::from_secs(2))?;
    let directory = format!("https://127.0.0.1:{}/dir", pebble.port);
    let ready = daemon::wait_ready(&mut daemon, Duration::from_secs(20), || {
        agent.get(&directory).call().map(|r| r.status().is_success()).unwrap_or(false)
    });
    let root = ready.and_then(|()| {
        let url = format!("https://127.0.0.1:{}/roots/0", pebble.management_port);
        let mut response = agent.get(&url).call().map_err(|e| format!("pebble root: {e}"))?;
        response.body_mut().read_to_string().map_err(|e| format!("pebble root: {e}"))
    });
    let saved = root.and_then(|pem| {
        let path = dir.join("root.pem");
        fsutil::write_atomic(&path, pem.as_bytes(), 0o644).map_err(|e| e.to_string())
    });
    if let Err(e) = saved {
        daemon.stop(Duration::from_secs(5));
        return Err(e);
    }
    let pid = daemon.pid().to_string();
    fsutil::write_atomic(&layout.path("run/hspanel/pebble.pid"), pid.as_bytes(), 0o644)
        .map_err(|e| e.to_string())?;
    Ok(daemon)
}
