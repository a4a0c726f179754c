//! `hspanel up`: the sandbox in the foreground. Private nginx, PHP-FPM, named, MariaDB,
//! cron and pebble (HS::SSL's CA), then
//! hs-srvd; `sandbox.json` once everything answers; Ctrl-C stops it all.
//! hs-srvd, hs-logd and hs-taskd are supervised: if one dies it is started again (and
//! recovers). A web daemon that exits is started again after a pause of
//! [`RESTART_PAUSE`], so a crash loop does not spin and the monitor sees it down.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hs_config::{Layout, PanelConfig, fsutil};
use hs_services::daemon as sandbox_daemon;
use hs_services::sandbox;
use serde_json::json;

const ADMIN_USER: &str = "admin";
const RESTART_PAUSE: Duration = Duration::from_secs(2);

pub fn run(root: &Path) -> anyhow::Result<()> {
    let root = absolute(root)?;
    let config = sandbox::prepare(&root).map_err(anyhow::Error::msg)?;
    let layout = Layout::sandbox(&root);
    let admin_password = ensure_admin(&layout)?;

    let panel = crate::local_panel(layout.clone(), config.clone());
    hs_modules::web::install_layout(&panel)?;
    hs_modules::dns::install_layout(&panel)?;
    hs_modules::plan::ensure_default(&panel)?;

    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(Arc::clone(&stop))?;
    let mut daemons = sandbox::start_web(&layout, &config).map_err(anyhow::Error::msg)?;
    match sandbox::start_dns(&layout) {
        Ok(named) => daemons.push(named),
        Err(e) => {
            for daemon in daemons.iter_mut().rev() {
                daemon.stop(Duration::from_secs(5));
            }
            return Err(anyhow::Error::msg(e));
        }
    }
    match sandbox::start_mysql(&layout) {
        Ok(mysql) => daemons.push(mysql),
        Err(e) => {
            for daemon in daemons.iter_mut().rev() {
                daemon.stop(Duration::from_secs(5));
            }
            bail!("MariaDB did not start: {e}");
        }
    }
    let me = std::env::current_exe().context("locating hspanel")?;
    match hs_services::cron::start_private(&layout, &me) {
        Ok(cron) => daemons.push(cron),
        Err(e) => {
            for daemon in daemons.iter_mut().rev() {
                daemon.stop(Duration::from_secs(5));
            }
            bail!("starting the private cron: {e}");
        }
    }

    // HS::FTP: the private pure-ftpd, on the ports `prepare` chose.
    let ftp_started = match &config.ftp {
        Some(ftp) => hs_services::ftp::start_private(&layout, ftp),
        None => Err("the sandbox has no FTP ports".to_string()),
    };
    match ftp_started {
        Ok(ftp) => daemons.push(ftp),
        Err(e) => {
            for daemon in daemons.iter_mut().rev() {
                daemon.stop(Duration::from_secs(5));
            }
            bail!("starting the private pure-ftpd: {e}");
        }
    }

    // HS::Mail: the private spamd, spamass-milter, OpenDKIM, Dovecot and Postfix.
    match hs_services::mail::start_private(&layout, &config) {
        Ok(mail) => daemons.extend(mail),
        Err(e) => {
            for daemon in daemons.iter_mut().rev() {
                daemon.stop(Duration::from_secs(5));
            }
            bail!("starting the private mail services: {e}");
        }
    }

    // HS::SSL: the private CA. Not supervised: a test stops it to see how a
    // renewal against a CA that does not answer behaves.
    let mut pebble = match sandbox::start_pebble(&layout, &config) {
        Ok(pebble) => pebble,
        Err(e) => {
            for daemon in daemons.iter_mut().rev() {
                daemon.stop(Duration::from_secs(5));
            }
            bail!("starting the private pebble: {e}");
        }
    };

    let result = (|| -> anyhow::Result<()> {
        let mut srvd = start_srvd(&root, &config)?;
        let mut logd = start_logd(&root)?;
        let mut taskd = start_taskd(&root)?;
        write_sandbox_file(&layout, &config, &admin_password, srvd.id())?;
        println!("HS-Panel sandbox is up; details in {}", layout.sandbox_file().display());

        let mut down: Vec<Option<Instant>> = vec![None; daemons.len()];
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            if let Ok(Some(status)) = srvd.try_wait() {
                eprintln!("hs-srvd exited ({status}); starting it again");
                srvd = start_srvd(&root, &config)?;
                write_sandbox_file(&layout, &config, &admin_password, srvd.id())?;
            }
            if let Ok(Some(status)) = logd.try_wait() {
                eprintln!("hs-logd exited ({status}); starting it again");
                logd = start_logd(&root)?;
            }
            if let Ok(Some(status)) = taskd.try_wait() {
                eprintln!("hs-taskd exited ({status}); starting it again");
                taskd = start_taskd(&root)?;
            }
            for (daemon, since) in daemons.iter_mut().zip(down.iter_mut()) {
                match since {
                    None => {
                        if let Some(status) = daemon.exited() {
                            eprintln!("{} exited ({status}); restarting it shortly", daemon.name);
                            *since = Some(Instant::now());
                        }
                    }
                    Some(t) if t.elapsed() >= RESTART_PAUSE => {
                        *daemon = restart_web(&layout, &config, daemon.name)
                            .with_context(|| format!("{} cannot be restarted", daemon.name))?;
                        *since = None;
                    }
                    Some(_) => {}
                }
            }
        }
        stop_child(&mut taskd);
        stop_child(&mut logd);
        stop_child(&mut srvd);
        Ok(())
    })();

    pebble.stop(Duration::from_secs(5));
    for daemon in daemons.iter_mut().rev() {
        // MariaDB needs about a second to shut down cleanly; the milters and
        // Dovecot take seconds and lose nothing when killed.
        let grace = match daemon.name {
            "spamass-milter" | "opendkim" | "dovecot" => Duration::from_millis(500),
            "spamd" => Duration::from_secs(3),
            _ => Duration::from_secs(15),
        };
        daemon.stop(grace);
    }
    println!("HS-Panel sandbox stopped");
    result
}

fn absolute(root: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    root.canonicalize().with_context(|| format!("resolving {}", root.display()))
}

/// The admin of a sandbox: created with a random password on the first start and
/// kept (with its password, in the 0600 `sandbox.json`) on later ones.
fn ensure_admin(layout: &Layout) -> anyhow::Result<String> {
    let admins = hs_auth::AdminStore::open(&layout.auth_dir());
    let previous = std::fs::read_to_string(layout.sandbox_file())
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| v["admin_password"].as_str().map(str::to_string));
    if let (Some(password), true) = (previous, admins.get_hash(ADMIN_USER)?.is_some()) {
        return Ok(password);
    }
    let password = crate::random_password()?;
    admins.set(ADMIN_USER, &password.parse()?)?;
    Ok(password)
}

/// One of the panel's own programs: beside `hspanel`, or on the system path.
fn panel_binary(name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("locating hspanel")?;
    let beside = me.with_file_name(name);
    if beside.exists() {
        return Ok(beside);
    }
    Ok(hs_automation::exec::resolve(name)?)
}

fn restart_web(
    layout: &Layout,
    config: &PanelConfig,
    name: &str,
) -> anyhow::Result<sandbox_daemon::Daemon> {
    let started = match name {
        "php-fpm" => sandbox::start_php_fpm(layout, config),
        "nginx" => sandbox::start_nginx(layout, config),
        "pure-ftpd" => match &config.ftp {
            Some(ftp) => hs_services::ftp::start_private(layout, ftp),
            None => Err("the sandbox has no FTP ports".into()),
        },
        mail if hs_services::mail::DAEMONS.contains(&mail) => {
            hs_services::mail::start_one(layout, config, mail, true)
        }
        other => Err(format!("no way to start {other}")),
    };
    started.map_err(anyhow::Error::msg)
}

/// hs-logd, checking usage every 2 s so that a sandbox reacts quickly.
fn start_logd(root: &Path) -> anyhow::Result<Child> {
    let log_path = root.join("var/log/hspanel/hs-logd.log");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
    Command::new(panel_binary("hs-logd")?)
        .arg("--root")
        .arg(root)
        .args(["--usage-every", "2"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting hs-logd")
}

/// hs-taskd, retrying transient failures after 300 ms (then 600, 1200, ...) so
/// that a sandbox's tests see retries quickly.
fn start_taskd(root: &Path) -> anyhow::Result<Child> {
    let log_path = root.join("var/log/hspanel/hs-taskd.log");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
    Command::new(panel_binary("hs-taskd")?)
        .arg("--root")
        .arg(root)
        .args(["--retry-base-ms", "300"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting hs-taskd")
}

fn start_srvd(root: &Path, config: &PanelConfig) -> anyhow::Result<Child> {
    let log_path = root.join("var/log/hspanel/hs-srvd.log");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
    let mut child = Command::new(panel_binary("hs-srvd")?)
        .arg("--root")
        .arg(root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting hs-srvd")?;

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = [config.api.admin_listen, config.api.user_listen]
            .iter()
            .all(|addr| TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok());
        if up {
            return Ok(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("hs-srvd exited during start-up ({status}); see {}", log_path.display());
        }
        if Instant::now() > deadline {
            stop_child(&mut child);
            bail!("hs-srvd did not listen within 60 s; see {}", log_path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stop_child(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    for _ in 0..100 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn write_sandbox_file(
    layout: &Layout,
    config: &PanelConfig,
    admin_password: &str,
    srvd_pid: u32,
) -> anyhow::Result<()> {
    let http = sandbox::listen_addr(&config.web.http_listen).map_err(anyhow::Error::msg)?;
    let https = sandbox::listen_addr(&config.web.https_listen).map_err(anyhow::Error::msg)?;
    let doc = json!({
        "root": layout.root(),
        "admin_url": format!("http://{}", config.api.admin_listen),
        "user_url": format!("http://{}", config.api.user_listen),
        "admin_user": ADMIN_USER,
        "admin_password": admin_password,
        "http_port": http.port(),
        "https_port": https.port(),
        "dns_port": config.dns.as_ref().map(|d| d.port),
        "rndc_port": config.dns.as_ref().map(|d| d.rndc_port),
        "srvd_pid": srvd_pid,
        "mysql_port": config.mysql.port,
        "mysql_socket": layout.mysql_socket(),
        "ftp_port": config.ftp.as_ref().map(|f| f.port),
        "smtp_port": config.mail.as_ref().map(|m| m.smtp_port),
        "submission_port": config.mail.as_ref().map(|m| m.submission_port),
        "smtps_port": config.mail.as_ref().map(|m| m.smtps_port),
        "imap_port": config.mail.as_ref().map(|m| m.imap_port),
        "imaps_port": config.mail.as_ref().map(|m| m.imaps_port),
        "pop3_port": config.mail.as_ref().map(|m| m.pop3_port),
        "pop3s_port": config.mail.as_ref().map(|m| m.pop3s_port),
        "acme_directory": config.ssl.acme_directory,
        "acme_ca_file": config.ssl.extra_roots,
        "pebble_pid": std::fs::read_to_string(layout.path("run/hspanel/pebble.pid"))
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok()),
    });
    let text = serde_json::to_string_pretty(&doc)?;
    fsutil::write_atomic(&layout.sandbox_file(), text.as_bytes(), 0o600)?;
    Ok(())
}

/// Sets `stop` on SIGINT or SIGTERM, from a small runtime of its own.
fn watch_signals(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term)) =
                (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
            else {
                return;
            };
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            stop.store(true, Ordering::SeqCst);
        });
    });
    Ok(())
}
