//! BIND 9 (`named`): zones checked with `named-checkzone`, the config with
//! `named-checkconf`; driven with `rndc`.
//!
//! Two kinds of change, two ways to apply them:
//! - a zone's records changed: [`Bind::check_zone`], then [`Bind::reload_zone`],
//!   which reloads that zone alone and returns once named serves the new serial;
//! - zones were added or removed: the pipeline's merged reload, `rndc reconfig`,
//!   which loads new zones and drops old ones without touching the others.
//!
//! A full `rndc reload` is never used by the panel ([`Bind::reload_everything`]
//! exists for the benchmark that compares against it).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hs_automation::{Cmd, ServiceDriver};
use hs_config::Layout;

/// How long a zone may take to show its new serial after a reload.
const LOAD_LIMIT: Duration = Duration::from_secs(10);
/// Between two `rndc zonestatus` polls: each is a process, so not too often.
const POLL: Duration = Duration::from_millis(15);

#[derive(Debug, Clone)]
pub struct Bind {
    pub named_conf: PathBuf,
    /// The sandbox's own `rndc.conf`; `None` lets rndc use the system's.
    pub rndc_conf: Option<PathBuf>,
}

impl Bind {
    pub fn new(layout: &Layout) -> Bind {
        let rndc_conf = layout.is_sandbox().then(|| layout.bind_dir().join("rndc.conf"));
        Bind { named_conf: layout.named_conf(), rndc_conf }
    }

    fn rndc(&self) -> Result<Cmd, String> {
        let cmd = Cmd::new("rndc").map_err(|e| e.to_string())?.timeout(Duration::from_secs(30));
        Ok(match &self.rndc_conf {
            Some(conf) => cmd.arg("-c").arg(conf),
            None => cmd,
        })
    }

    /// `named-checkzone` with the checks named applies to a primary zone
    /// (host names in owners and targets, MX and SRV not to a CNAME), in-zone only:
    /// it never looks names up on the network.
    pub fn check_zone(&self, zone: &str, file: &Path) -> Result<(), String> {
        let cmd = Cmd::new("named-checkzone").map_err(|e| e.to_string())?;
        cmd.args(["-k", "fail", "-M", "fail", "-S", "fail", "-i", "local"])
            .arg(zone)
            .arg(file)
            .run()
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Reloads one zone and waits until named serves `serial`.
    pub fn reload_zone(&self, zone: &str, file: &Path, serial: u32) -> Result<(), String> {
        for _ in 0..3 {
            // named skips a reload when the file's time is not after its last load;
            // file times come from a coarse clock, so set a precise one.
            touch(file)?;
            let out = self.rndc()?.arg("reload").arg(zone).run().map_err(|e| e.to_string())?;
            let up_to_date = out.stdout.contains("up-to-date");
            let wait = if up_to_date { Duration::from_millis(200) } else { LOAD_LIMIT };
            if poll(wait, || self.zone_serial(zone) == Some(serial)) {
                return Ok(());
            }
        }
        Err(format!("named did not load serial {serial} of {zone}"))
    }

    /// Waits until named serves `zone` at `serial` (after a reconfig added it).
    pub fn wait_serial(&self, zone: &str, serial: u32) -> Result<(), String> {
        if poll(LOAD_LIMIT, || self.zone_serial(zone) == Some(serial)) {
            Ok(())
        } else {
            Err(format!("named does not serve serial {serial} of {zone}"))
        }
    }

    /// The serial named serves for `zone`, from `rndc zonestatus`.
    pub fn zone_serial(&self, zone: &str) -> Option<u32> {
        let out = self.rndc().ok()?.arg("zonestatus").arg(zone).run().ok()?;
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix("serial:"))
            .and_then(|s| s.trim().parse().ok())
    }

    /// The DS records of the zone's key-signing keys (DNSKEY flags 257) that named
    /// made in `key_dir`, from `dnssec-dsfromkey -2` (SHA-256): what the user gives
    /// the registrar. Empty until named has made its keys.
    pub fn ds_records(&self, key_dir: &Path, zone: &str) -> Result<Vec<String>, String> {
        let prefix = format!("K{zone}.+");
        let mut ds = Vec::new();
        let Ok(entries) = std::fs::read_dir(key_dir) else { return Ok(ds) };
        let mut keys: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".key"))
            })
            .collect();
        keys.sort();
        for key in keys {
            let text =
                std::fs::read_to_string(&key).map_err(|e| format!("{}: {e}", key.display()))?;
            let ksk = text.lines().filter(|l| !l.starts_with(';')).any(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                words.windows(2).any(|w| w[0] == "DNSKEY" && w[1] == "257")
            });
            if !ksk {
                continue;
            }
            let cmd = Cmd::new("dnssec-dsfromkey").map_err(|e| e.to_string())?;
            let out = cmd.arg("-2").arg(&key).run().map_err(|e| e.to_string())?;
            ds.extend(
                out.stdout
                    .lines()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|l| !l.is_empty()),
            );
        }
        Ok(ds)
    }

    /// `rndc status` answers: named runs and its control channel works.
    pub fn status(&self) -> Result<(), String> {
        self.rndc()?.arg("status").run().map(|_| ()).map_err(|e| e.to_string())
    }

    /// `rndc reload`: every zone. Only the benchmark uses it, as the yardstick.
    pub fn reload_everything(&self) -> Result<(), String> {
        self.rndc()?.arg("reload").run().map(|_| ()).map_err(|e| e.to_string())
    }

    /// Stops named through its control channel.
    pub fn stop(&self) -> Result<(), String> {
        self.rndc()?.arg("stop").run().map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Checks `ready` at once, then every [`POLL`] until `limit`.
fn poll(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if ready() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

fn touch(file: &Path) -> Result<(), String> {
    let handle = std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    handle.set_modified(SystemTime::now()).map_err(|e| format!("{}: {e}", file.display()))
}

impl ServiceDriver for Bind {
    fn name(&self) -> &'static str {
        "bind"
    }

    fn check(&self) -> Result<(), String> {
        let cmd = Cmd::new("named-checkconf").map_err(|e| e.to_string())?;
        cmd.arg(&self.named_conf).run().map(|_| ()).map_err(|e| e.to_string())
    }

    /// `rndc reconfig`: new zones load, removed ones go, the others stay as they are.
    fn reload(&self) -> Result<(), String> {
        self.rndc()?.arg("reconfig").run().map(|_| ()).map_err(|e| e.to_string())
    }
}
