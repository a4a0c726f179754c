//! nginx: checked with `nginx -t`, reloaded with `nginx -s reload`.
//!
//! A reload counts as done when a new worker runs and every old one has stopped
//! accepting: only then does every request see the new configuration.

use std::path::PathBuf;
use std::time::Duration;

use hs_automation::{Cmd, ServiceDriver};
use hs_config::Layout;

use crate::proc;

#[derive(Debug, Clone)]
pub struct Nginx {
    pub prefix: PathBuf,
    pub conf: PathBuf,
    pub pid_file: PathBuf,
}

impl Nginx {
    pub fn new(layout: &Layout) -> Nginx {
        Nginx {
            prefix: layout.nginx_dir(),
            conf: layout.nginx_dir().join("nginx.conf"),
            pid_file: layout.path("run/nginx.pid"),
        }
    }

    fn cmd(&self) -> Result<Cmd, String> {
        let cmd = Cmd::new("nginx").map_err(|e| e.to_string())?;
        Ok(cmd.arg("-p").arg(&self.prefix).arg("-c").arg(&self.conf))
    }

    pub fn running_pid(&self) -> Option<i32> {
        proc::read_pid(&self.pid_file).filter(|pid| proc::alive(*pid))
    }
}

impl ServiceDriver for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }

    fn check(&self) -> Result<(), String> {
        self.cmd()?.arg("-t").arg("-q").run().map(|_| ()).map_err(|e| e.to_string())
    }

    fn reload(&self) -> Result<(), String> {
        let master = self.running_pid().ok_or("nginx is not running")?;
        let before = proc::children(master);

        self.cmd()?.arg("-s").arg("reload").run().map_err(|e| e.to_string())?;

        // Done when a worker with the new config runs and no old worker still
        // accepts: a worker told to quit renames itself "... is shutting down"
        // once it has closed its listening sockets.
        let done = || {
            let now = proc::children(master);
            let fresh = now.iter().any(|pid| !before.contains(pid));
            let old_listening = now
                .iter()
                .filter(|pid| before.contains(pid))
                .any(|pid| !proc::title(*pid).contains("shutting down"));
            fresh && !old_listening
        };
        if proc::wait_until(Duration::from_secs(10), done) {
            Ok(())
        } else {
            Err("nginx started no new worker after the reload signal".into())
        }
    }
}
