//! cron: users' crontabs are installed with `crontab -u USER -`, and the
//! daemon picks changes up by itself at its next minute tick.
//!
//! On a real server the driver runs the system's `crontab`. Debian's cron has
//! no option for another spool, so a sandbox runs a private cron in a mount
//! namespace of its own, where the sandbox's spool, `cron.d`, `crontab` and
//! lock file are bound over the system paths ([`exec_private`]); the driver
//! then runs `crontab` inside that namespace with `nsenter -t PID -m`. Either
//! way the spool file is written by `crontab` itself, so its owner, mode and
//! syntax check are cron's own.

use std::convert::Infallible;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hs_automation::{Cmd, ServiceDriver};
use hs_config::{Layout, fsutil};
use hs_types::Username;
use nix::sys::signal::Signal;

use crate::daemon::{self, Daemon};
use crate::proc;

/// The system paths a private cron sees replaced, in the order they are bound.
const SPOOL: &str = "/var/spool/cron/crontabs";
const CRON_D: &str = "/etc/cron.d";
const SYSTEM_TABLE: &str = "/etc/crontab";
/// cron locks this file and refuses to start while another cron holds it.
const LOCK: &str = "/var/run/crond.pid";

/// The private cron's own `/etc/crontab`: no system jobs, only the defaults.
const SANDBOX_SYSTEM_TABLE: &str = "SHELL=/bin/sh\nPATH=/usr/bin:/bin\n";

#[derive(Debug, Clone)]
pub struct Cron {
    spool: PathBuf,
    /// `Some` in a sandbox: the private cron's pid file.
    private_pid: Option<PathBuf>,
}

impl Cron {
    pub fn new(layout: &Layout) -> Cron {
        let private_pid = layout.is_sandbox().then(|| layout.sandbox_cron_pid());
        Cron { spool: layout.cron_spool(), private_pid }
    }

    /// `crontab`, run inside the private cron's mount namespace in a sandbox.
    fn crontab(&self) -> Result<Cmd, String> {
        let crontab = hs_automation::exec::resolve("crontab").map_err(|e| e.to_string())?;
        let Some(pid_file) = &self.private_pid else {
            return Cmd::new("crontab").map_err(|e| e.to_string());
        };
        let pid = running_private(pid_file).ok_or("the sandbox's cron is not running")?;
        let cmd = Cmd::new("nsenter").map_err(|e| e.to_string())?;
        Ok(cmd.arg("-t").arg(pid.to_string()).arg("-m").arg("--").arg(crontab))
    }

    /// Replaces `user`'s crontab with `text` (a whole crontab, ending in a
    /// line break), fed to `crontab -u USER -` on stdin.
    pub fn install(&self, user: &Username, text: &str) -> Result<(), String> {
        let cmd = self.crontab()?.arg("-u").arg(user.as_str()).arg("-");
        let cmd = cmd.stdin_secret(text.as_bytes().to_vec()).timeout(Duration::from_secs(20));
        cmd.run().map(|_| ()).map_err(|e| e.to_string())
    }

    /// Removes `user`'s crontab, if there is one. When `crontab` cannot do it
    /// (the Linux user is already gone, or a sandbox's cron is stopped), the
    /// spool file is removed directly; cron notices at its next tick.
    pub fn remove(&self, user: &Username) -> Result<(), String> {
        let file = self.spool.join(user.as_str());
        if !file.exists() {
            return Ok(());
        }
        let removed = self.crontab().and_then(|cmd| {
            let cmd = cmd.arg("-u").arg(user.as_str()).arg("-r");
            cmd.timeout(Duration::from_secs(20)).run().map(|_| ()).map_err(|e| e.to_string())
        });
        if let Err(e) = removed {
            tracing::warn!(user = %user, "crontab -r failed ({e}); removing the spool file");
            fsutil::remove_if_exists(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        }
        Ok(())
    }

    /// `user`'s installed crontab as `crontab -l` prints it; `None` when the
    /// user has none.
    pub fn installed(&self, user: &Username) -> Result<Option<String>, String> {
        if !self.spool.join(user.as_str()).exists() {
            return Ok(None);
        }
        let cmd = self.crontab()?.arg("-u").arg(user.as_str()).arg("-l");
        cmd.run().map(|out| Some(out.stdout)).map_err(|e| e.to_string())
    }
}

impl ServiceDriver for Cron {
    fn name(&self) -> &'static str {
        "cron"
    }

    /// cron has no config check of its own; `crontab` checks each table as it
    /// installs it. This checks that there is a cron to install into.
    fn check(&self) -> Result<(), String> {
        self.crontab().map(|_| ())
    }

    /// Nothing to signal: cron re-reads changed crontabs at every minute tick.
    fn reload(&self) -> Result<(), String> {
        Ok(())
    }
}

/// The private cron's pid, if it runs: alive, named `cron`, and in a mount
/// namespace other than ours (so a recycled pid is never entered).
fn running_private(pid_file: &Path) -> Option<i32> {
    let pid = proc::read_pid(pid_file).filter(|pid| proc::alive(*pid))?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "cron" && own_namespace(pid)).then_some(pid)
}

fn own_namespace(pid: i32) -> bool {
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/mnt"));
    let ours = std::fs::read_link("/proc/self/ns/mnt");
    matches!((theirs, ours), (Ok(a), Ok(b)) if a != b)
}

/// Starts the sandbox's private cron: prepares its files, runs `helper
/// sandbox-cron --root ROOT` (the `hspanel` binary, which ends in
/// [`exec_private`]), and waits until cron runs in its own namespace.
pub fn start_private(layout: &Layout, helper: &Path) -> Result<Daemon, String> {
    prepare_private(layout)?;
    let log = layout.path("var/log/hspanel/cron.log");
    let root = layout.root().as_os_str();
    let args = [OsStr::new("sandbox-cron"), OsStr::new("--root"), root];
    let helper = helper.to_str().ok_or("the hspanel path is not UTF-8")?;
    let mut daemon = Daemon::spawn("cron", helper, &args, &log, Signal::SIGTERM)?;
    let pid_file = layout.sandbox_cron_pid();
    let text = format!("{}\n", daemon.pid());
    fsutil::write_atomic(&pid_file, text.as_bytes(), 0o644).map_err(|e| e.to_string())?;

    let ready = daemon::wait_ready(&mut daemon, Duration::from_secs(10), || {
        running_private(&pid_file).is_some()
    });
    if let Err(e) = ready {
        daemon.stop(Duration::from_secs(2));
        return Err(e);
    }
    Ok(daemon)
}

/// The sandbox's spool (`root:crontab`, mode 1730 like the system's), an
/// empty `cron.d`, a system table without jobs, and the lock file.
fn prepare_private(layout: &Layout) -> Result<(), String> {
    let fail = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
    let spool = layout.cron_spool();
    for dir in [&spool, &layout.cron_d(), &layout.sandbox_run()] {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    }
    let group = nix::unistd::Group::from_name("crontab")
        .ok()
        .flatten()
        .ok_or("the crontab group does not exist; is cron installed?")?;
    std::os::unix::fs::chown(&spool, Some(0), Some(group.gid.as_raw()))
        .map_err(|e| fail(&spool, e))?;
    std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o1730))
        .map_err(|e| fail(&spool, e))?;

    let table = layout.cron_system_table();
    fsutil::write_atomic(&table, SANDBOX_SYSTEM_TABLE.as_bytes(), 0o644)
        .map_err(|e| fail(&table, e))?;
    let lock = layout.sandbox_cron_lock();
    fsutil::write_atomic(&lock, b"", 0o644).map_err(|e| fail(&lock, e))
}

/// Becomes the sandbox's private cron: a new mount namespace with private
/// propagation (nothing leaks back to the host), the sandbox's files bound
/// over cron's fixed paths, then `exec cron -f`. Runs in the `hspanel
/// sandbox-cron` helper, which must still be single-threaded here.
pub fn exec_private(root: &Path) -> Result<Infallible, String> {
    use nix::mount::{MsFlags, mount};
    use nix::sched::{CloneFlags, unshare};

    let layout = Layout::sandbox(root);
    let none = None::<&str>;
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare: {e}"))?;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(|e| format!("making mounts private: {e}"))?;

    // The bind target must exist. cron itself creates this file on the host;
    // an empty one is what a host that never ran cron gets.
    if !Path::new(LOCK).exists() {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(LOCK)
            .map_err(|e| format!("{LOCK}: {e}"))?;
    }
    let binds = [
        (layout.cron_spool(), SPOOL),
        (layout.cron_d(), CRON_D),
        (layout.cron_system_table(), SYSTEM_TABLE),
        (layout.sandbox_cron_lock(), LOCK),
    ];
    for (source, target) in &binds {
        mount(Some(source.as_path()), *target, none, MsFlags::MS_BIND, none)
            .map_err(|e| format!("binding {} over {target}: {e}", source.display()))?;
    }

    let cron = hs_automation::exec::resolve("cron").map_err(|e| e.to_string())?;
    let err = std::process::Command::new(cron)
        .args(["-f", "-L", "15"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C.UTF-8")
        .exec();
    Err(format!("cannot start cron: {err}"))
}
