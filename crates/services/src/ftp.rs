//! Pure-FTPd: virtual users in a puredb, built by `pure-pw mkdb` from the
//! passwd file the panel renders. pure-ftpd re-reads the puredb at every
//! login, so rebuilding it (an atomic rename by `pure-pw`) is the reload.
//!
//! Passwords are hashed with `openssl passwd -6 -stdin` (SHA-512 crypt, the
//! password on stdin, never in argv) instead of `pure-pw useradd`, whose
//! argon2id hashes cost about 4 s of CPU per login on a small server.

use std::ffi::OsStr;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use hs_automation::Cmd;
use hs_config::ftp::CryptHash;
use hs_config::panel::{FTP_PASSIVE_PORTS, FtpConfig};
use hs_config::{Layout, fsutil};
use hs_types::Password;
use nix::sys::signal::Signal;

use crate::daemon::{self, Daemon};

#[derive(Debug, Clone)]
pub struct PureFtpd {
    pub passwd: PathBuf,
    pub pdb: PathBuf,
}

impl PureFtpd {
    pub fn new(layout: &Layout) -> PureFtpd {
        PureFtpd { passwd: layout.ftp_passwd(), pdb: layout.ftp_pdb() }
    }

    /// SHA-512 crypt hash of `password`.
    pub fn hash(password: &Password) -> Result<CryptHash, String> {
        let line = format!("{}\n", password.expose());
        let out = Cmd::new("openssl")
            .map_err(|e| e.to_string())?
            .args(["passwd", "-6", "-stdin"])
            .stdin_secret(line.into_bytes())
            .run()
            .map_err(|e| format!("hashing the FTP password: {e}"))?;
        out.stdout.trim().parse().map_err(|e| format!("openssl's hash: {e}"))
    }

    /// Writes the passwd file and rebuilds the puredb from it; if `pure-pw`
    /// refuses, the previous passwd file is put back and the puredb is
    /// unchanged.
    pub fn install(&self, passwd_text: &str) -> Result<(), String> {
        let previous = fsutil::write_keeping_backup(&self.passwd, passwd_text.as_bytes(), 0o600)
            .map_err(|e| format!("{}: {e}", self.passwd.display()))?;
        if let Err(e) = self.mkdb() {
            if let Err(undo) = fsutil::restore(&self.passwd, previous.as_deref(), 0o600) {
                tracing::error!("cannot restore {}: {undo}", self.passwd.display());
            }
            return Err(e);
        }
        Ok(())
    }

    fn mkdb(&self) -> Result<(), String> {
        Cmd::new("pure-pw")
            .map_err(|e| e.to_string())?
            .arg("mkdb")
            .arg(&self.pdb)
            .arg("-f")
            .arg(&self.passwd)
            .run()
            .map(|_| ())
            .map_err(|e| format!("pure-pw mkdb: {e}"))
    }
}

/// Starts the sandbox's private pure-ftpd in the foreground: loopback only,
/// virtual users from the puredb, everyone chrooted (`-A`), no anonymous
/// login, passive mode on its own port range. Ready once it accepts.
pub fn start_private(layout: &Layout, config: &FtpConfig) -> Result<Daemon, String> {
    let ftp = PureFtpd::new(layout);
    std::fs::create_dir_all(layout.ftp_dir()).map_err(|e| e.to_string())?;
    if !ftp.pdb.exists() {
        ftp.install("")?;
    }
    let listen = format!("127.0.0.1,{}", config.port);
    let puredb = format!("puredb:{}", ftp.pdb.display());
    let last = config.passive_first.saturating_add(FTP_PASSIVE_PORTS - 1);
    let passive = format!("{}:{last}", config.passive_first);
    let log = layout.path("var/log/pure-ftpd.log");
    let transfers = format!("clf:{}", layout.path("var/log/pure-ftpd-transfer.log").display());
    let words: [&str; 16] = [
        "-S",
        &listen,
        "-l",
        &puredb,
        "-E",
        "-A",
        "-H",
        "-4",
        "-u",
        "100",
        "-p",
        &passive,
        "-P",
        "127.0.0.1",
        "-O",
        &transfers,
    ];
    let args: Vec<&OsStr> = words.iter().map(OsStr::new).collect();
    // FIXME: stopping the master leaves sessions in progress running; they end
    // with their client (the sandbox's are short curl transfers).
    let mut daemon = Daemon::spawn("pure-ftpd", "pure-ftpd", &args, &log, Signal::SIGTERM)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], config.port));
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
