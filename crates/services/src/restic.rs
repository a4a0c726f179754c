//! restic, the engine of incremental backups (HS::Backup): one repository per
//! account, local or remote (SFTP, S3), always encrypted.
//!
//! Secrets never reach argv, a log or a long-lived process's environment: the
//! repository password is a 0600 file (`--password-file`); an SFTP key is a
//! 0600 file named in the `ssh` command; S3 keys are a 0600 credentials file
//! whose *path* is the only thing in restic's own (short-lived) environment
//! (`AWS_SHARED_CREDENTIALS_FILE`). Every run is at idle I/O priority.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hs_automation::exec::{Cmd, ExecError};
use serde::Deserialize;

/// A repository and how to reach it.
#[derive(Debug, Clone)]
pub struct Repo {
    /// A local folder, `sftp:user@host:/path` or `s3:http://host:port/bucket/path`.
    pub url: String,
    pub password_file: PathBuf,
    pub cache_dir: PathBuf,
    /// For SFTP: the `ssh` command restic runs (key file, port, known hosts).
    pub sftp_command: Option<String>,
    /// For S3: the credentials file.
    pub credentials_file: Option<PathBuf>,
}

/// The `summary` line of `restic backup --json`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Summary {
    pub snapshot_id: String,
    #[serde(default)]
    pub files_new: u64,
    #[serde(default)]
    pub files_changed: u64,
    #[serde(default)]
    pub files_unmodified: u64,
    #[serde(default)]
    pub data_added: u64,
    #[serde(default)]
    pub total_bytes_processed: u64,
}

/// What a backup run gave: its summary and the files it could not read.
#[derive(Debug, Clone, Default)]
pub struct BackupOutcome {
    pub summary: Summary,
    pub warnings: Vec<String>,
}

const LONG: Duration = Duration::from_secs(6 * 3600);

impl Repo {
    fn cmd(&self) -> Result<Cmd, ExecError> {
        let restic = hs_automation::exec::resolve("restic")?;
        let mut cmd = Cmd::new("ionice")?
            .args(["-c", "3"])
            .arg(restic.as_os_str())
            .arg("-r")
            .arg(&self.url)
            .arg("--password-file")
            .arg(self.password_file.as_os_str())
            .arg("--cache-dir")
            .arg(self.cache_dir.as_os_str())
            .timeout(LONG);
        if let Some(ssh) = &self.sftp_command {
            cmd = cmd.arg("-o").arg(format!("sftp.command={ssh}"));
        }
        if let Some(file) = &self.credentials_file {
            cmd = cmd.env("AWS_SHARED_CREDENTIALS_FILE", file.as_os_str());
        }
        Ok(cmd)
    }

    /// Creates the repository unless it exists. Idempotent.
    pub fn ensure_init(&self) -> Result<(), String> {
        let probe = self.cmd().map_err(|e| e.to_string())?.args(["cat", "config"]);
        if probe.run_unchecked().map(|o| o.status.success()).unwrap_or(false) {
            return Ok(());
        }
        let init = self.cmd().map_err(|e| e.to_string())?.arg("init");
        init.run().map(|_| ()).map_err(|e| e.to_string())
    }

    /// Backs up `paths`; unreadable or vanished files are warnings (restic's exit 3).
    pub fn backup(&self, paths: &[PathBuf], tags: &[String]) -> Result<BackupOutcome, String> {
        let mut cmd =
            self.cmd().map_err(|e| e.to_string())?.args(["--json", "backup", "--host", "hspanel"]);
        for tag in tags {
            cmd = cmd.arg("--tag").arg(tag);
        }
        for p in paths {
            cmd = cmd.arg(p.as_os_str());
        }
        let out = cmd.run_unchecked().map_err(|e| e.to_string())?;
        let code = out.status.code();
        let mut outcome = BackupOutcome::default();
        for line in out.stdout.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            match v["message_type"].as_str() {
                Some("summary") => {
                    outcome.summary = serde_json::from_value(v).map_err(|e| e.to_string())?;
                }
                Some("error") => {
                    let item = v["item"].as_str().unwrap_or("?");
                    let what = v["error"]["Op"].as_str().unwrap_or("cannot read");
                    outcome.warnings.push(format!("{item}: {what} (vanished or unreadable)"));
                }
                _ => {}
            }
        }
        for line in out.stderr.lines().filter(|l| l.contains("error:")) {
            outcome.warnings.push(line.trim().to_string());
        }
        match code {
            Some(0) | Some(3) if !outcome.summary.snapshot_id.is_empty() => Ok(outcome),
            _ => Err(format!("restic backup failed: {}", tail(&out.stderr))),
        }
    }

    /// Restores the snapshot into `target` (a fresh root-only folder).
    pub fn restore(&self, snapshot: &str, target: &Path) -> Result<(), String> {
        let cmd = self
            .cmd()
            .map_err(|e| e.to_string())?
            .args(["restore", snapshot, "--target"])
            .arg(target.as_os_str());
        cmd.run().map(|_| ()).map_err(|e| e.to_string())
    }

    /// Forgets a snapshot and drops the data no other snapshot uses.
    pub fn forget(&self, snapshot: &str) -> Result<(), String> {
        let cmd = self.cmd().map_err(|e| e.to_string())?.args(["forget", "--prune", snapshot]);
        cmd.run().map(|_| ()).map_err(|e| e.to_string())
    }

    /// `restic check`: the repository's structure is sound.
    pub fn check(&self) -> Result<(), String> {
        let cmd = self.cmd().map_err(|e| e.to_string())?.arg("check");
        cmd.run().map(|_| ()).map_err(|e| e.to_string())
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(4)..].join("; ")
}

/// The `ssh` command restic runs for an SFTP repository: key and known-hosts
/// files, port, no agent, no user config.
pub fn sftp_command(key: &Path, known_hosts: &Path, port: u16, login: &str) -> String {
    format!(
        "ssh -F /dev/null -i {} -p {port} -o IdentitiesOnly=yes -o BatchMode=yes \
         -o UserKnownHostsFile={} -o StrictHostKeyChecking=accept-new {login} -s sftp",
        key.display(),
        known_hosts.display()
    )
}
