//! Private service instances started by the sandbox, in the foreground, as children.
//!
//! Every daemon gets `/dev/null` for stdin and a log file for stdout and stderr: a
//! daemon that keeps an inherited pipe open would otherwise hang whoever reads it.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::proc;

#[derive(Debug)]
pub struct Daemon {
    pub name: &'static str,
    child: Child,
    stop_signal: Signal,
}

impl Daemon {
    /// Starts `program` with `args`, output appended to `log`.
    pub fn spawn(
        name: &'static str,
        program: &str,
        args: &[&std::ffi::OsStr],
        log: &Path,
        stop_signal: Signal,
    ) -> Result<Daemon, String> {
        Daemon::spawn_with_env(name, program, args, &[], log, stop_signal)
    }

    /// [`Daemon::spawn`] with extra environment variables.
    pub fn spawn_with_env(
        name: &'static str,
        program: &str,
        args: &[&std::ffi::OsStr],
        env: &[(&str, &str)],
        log: &Path,
        stop_signal: Signal,
    ) -> Result<Daemon, String> {
        let path = hs_automation::exec::resolve(program).map_err(|e| e.to_string())?;
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;

        let child = Command::new(path)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        tracing::info!(service = name, pid = child.id(), "started");
        Ok(Daemon { name, child, stop_signal })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// `Some(status)` once the daemon has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Asks the daemon to stop, and kills it if it has not after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let _ = proc::signal(self.pid(), self.stop_signal);
        let stopped = proc::wait_until(grace, || self.child.try_wait().ok().flatten().is_some());
        if !stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        tracing::info!(service = self.name, "stopped");
    }
}

/// Waits until `ready` or the daemon exits; an error says which.
pub fn wait_ready(
    daemon: &mut Daemon,
    limit: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let mut died = None;
    let ok = proc::wait_until(limit, || {
        if let Some(status) = daemon.exited() {
            died = Some(status);
            return true;
        }
        ready()
    });
    match (ok, died) {
        (_, Some(status)) => Err(format!("{} exited during start-up ({status})", daemon.name)),
        (true, None) => Ok(()),
        (false, None) => Err(format!("{} not ready after {} s", daemon.name, limit.as_secs())),
    }
}
