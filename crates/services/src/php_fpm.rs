//! PHP-FPM: checked with `php-fpm -t`, reloaded with SIGUSR2.
//!
//! A reload counts as done when every pool socket named in the pool files exists:
//! the master re-executes itself on USR2 and creates new pools' sockets last.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hs_automation::{Cmd, ServiceDriver};
use hs_config::Layout;

use crate::proc;

#[derive(Debug, Clone)]
pub struct PhpFpm {
    pub binary: String,
    pub conf: PathBuf,
    pub pool_dir: PathBuf,
    pub pid_file: PathBuf,
}

impl PhpFpm {
    pub fn new(layout: &Layout, version: &str) -> PhpFpm {
        let dir = layout.php_fpm_dir(version);
        PhpFpm {
            binary: format!("php-fpm{version}"),
            conf: dir.join("php-fpm.conf"),
            pool_dir: dir.join("pool.d"),
            pid_file: layout.path(&format!("run/php/php{version}-fpm.pid")),
        }
    }

    pub fn running_pid(&self) -> Option<i32> {
        proc::read_pid(&self.pid_file).filter(|pid| proc::alive(*pid))
    }

    /// The sockets the pool files ask for.
    fn expected_sockets(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.pool_dir) else { return Vec::new() };
        let mut sockets = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "conf") {
                sockets.extend(listen_sockets(&path));
            }
        }
        sockets
    }
}

fn listen_sockets(pool_file: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(pool_file) else { return Vec::new() };
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("listen"))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .map(str::trim)
        .filter(|value| value.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

impl ServiceDriver for PhpFpm {
    fn name(&self) -> &'static str {
        "php-fpm"
    }

    fn check(&self) -> Result<(), String> {
        let cmd = Cmd::new(&self.binary).map_err(|e| e.to_string())?;
        cmd.arg("-t").arg("-y").arg(&self.conf).run().map(|_| ()).map_err(|e| e.to_string())
    }

    fn reload(&self) -> Result<(), String> {
        let pid = self.running_pid().ok_or("php-fpm is not running")?;
        proc::signal(pid, nix::sys::signal::Signal::SIGUSR2)?;

        let sockets = self.expected_sockets();
        let ready = || self.running_pid().is_some() && sockets.iter().all(|s| s.exists());
        // Give the master a moment to begin re-executing before trusting old sockets.
        std::thread::sleep(Duration::from_millis(20));
        if proc::wait_until(Duration::from_secs(10), ready) {
            Ok(())
        } else {
            Err("php-fpm did not bring up every pool after the reload signal".into())
        }
    }
}
