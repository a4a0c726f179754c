//! The one way the panel runs another program.
//!
//! argv arrays only, never a shell; programs by absolute path; a clean environment;
//! a time limit; secrets through stdin, never argv. Every command line is logged,
//! which is safe precisely because no secret is ever part of one.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Where programs are looked up. The caller's `PATH` is never consulted.
const PROGRAM_DIRS: &[&str] = &["/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/// Output kept per stream (its first and last halves); the middle is dropped so a
/// chatty tool cannot eat memory.
const OUTPUT_LIMIT: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("program {0} is not installed")]
    NotFound(String),
    #[error("cannot start {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{program} did not finish within {secs} s")]
    Timeout { program: String, secs: u64 },
    #[error("{program} failed ({status}): {detail}")]
    Failed { program: String, status: String, detail: String },
}

/// A finished command.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A command to run: built with argv pieces, run with [`Cmd::run`].
#[derive(Debug)]
pub struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    uid_gid: Option<(u32, u32)>,
    timeout: Duration,
    dir: Option<PathBuf>,
    /// Extra environment of this short-lived child (never secrets: paths and
    /// settings only, e.g. a credentials *file*'s path).
    env: Vec<(OsString, OsString)>,
}

impl Cmd {
    /// `program` is a bare name looked up in the system directories, or an
    /// absolute path.
    pub fn new(program: &str) -> Result<Cmd, ExecError> {
        Ok(Cmd {
            program: resolve(program)?,
            args: Vec::new(),
            stdin: None,
            uid_gid: None,
            timeout: Duration::from_secs(60),
            dir: None,
            env: Vec::new(),
        })
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Bytes fed to the program's stdin: the channel for passwords and keys.
    pub fn stdin_secret(mut self, bytes: Vec<u8>) -> Cmd {
        self.stdin = Some(bytes);
        self
    }

    /// Runs the program as this uid and gid (no supplementary groups).
    pub fn as_user(mut self, uid: u32, gid: u32) -> Cmd {
        self.uid_gid = Some((uid, gid));
        self
    }

    /// Runs the program in this folder (default: the caller's).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Cmd {
        self.dir = Some(dir.into());
        self
    }

    /// One environment variable for the child (a path or a setting, never a secret).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Cmd {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = timeout;
        self
    }

    pub fn program_name(&self) -> String {
        self.program.file_name().unwrap_or_default().to_string_lossy().into_owned()
    }

    /// Starts the program with piped stdin and stdout for a streaming protocol
    /// (the file manager's helper); stderr is inherited. No time limit: the
    /// caller owns the child and kills it when it gives up.
    pub fn spawn_piped(self) -> Result<std::process::Child, ExecError> {
        let name = self.program_name();
        tracing::debug!(program = %self.program.display(), args = ?self.args, "exec (piped)");
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .env("PATH", PROGRAM_DIRS.join(":"))
            .env("LANG", "C.UTF-8")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some((uid, gid)) = self.uid_gid {
            command.uid(uid).gid(gid);
        }
        command.spawn().map_err(|source| ExecError::Spawn { program: name, source })
    }

    /// Runs to completion; a non-zero exit is an [`ExecError::Failed`].
    pub fn run(self) -> Result<Output, ExecError> {
        let name = self.program_name();
        let output = self.run_unchecked()?;
        if output.status.success() {
            return Ok(output);
        }
        let detail =
            tail(if output.stderr.trim().is_empty() { &output.stdout } else { &output.stderr });
        Err(ExecError::Failed { program: name, status: output.status.to_string(), detail })
    }

    /// Runs to completion and hands back the status, whatever it is.
    pub fn run_unchecked(self) -> Result<Output, ExecError> {
        let name = self.program_name();
        tracing::debug!(program = %self.program.display(), args = ?self.args, "exec");

        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .env("PATH", PROGRAM_DIRS.join(":"))
            .env("LANG", "C.UTF-8")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some((uid, gid)) = self.uid_gid {
            command.uid(uid).gid(gid);
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }

        let mut child =
            command.spawn().map_err(|source| ExecError::Spawn { program: name.clone(), source })?;

        // Feed stdin and drain both pipes on threads, so no pipe can fill and stall us.
        let feeder = child.stdin.take().zip(self.stdin).map(|(mut pipe, bytes)| {
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            })
        });
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);

        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    // The whole process group: a script's children die with it.
                    if let Ok(pid) = i32::try_from(child.id()) {
                        let _ = nix::sys::signal::killpg(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                    let _ = child.kill();
                    let _ = child.wait();
                    let secs = self.timeout.as_secs();
                    return Err(ExecError::Timeout { program: name, secs });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(source) => return Err(ExecError::Spawn { program: name, source }),
            }
        };

        if let Some(feeder) = feeder {
            let _ = feeder.join();
        }
        let collect = |h: Option<std::thread::JoinHandle<String>>| {
            h.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        Ok(Output { status, stdout: collect(stdout), stderr: collect(stderr) })
    }
}

/// Reads a pipe to its end, keeping its first and last `OUTPUT_LIMIT / 2`
/// bytes: a tool's last lines (its summary, its error) survive a long run.
fn drain<R: Read + Send + 'static>(mut pipe: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let half = OUTPUT_LIMIT / 2;
        let mut head = Vec::new();
        let mut tail: std::collections::VecDeque<u8> = std::collections::VecDeque::new();
        let mut cut = false;
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let into_head = n.min(half - head.len());
            head.extend_from_slice(&buf[..into_head]);
            tail.extend(&buf[into_head..n]);
            if tail.len() > half {
                tail.drain(..tail.len() - half);
                cut = true;
            }
        }
        if cut {
            // The tail starts mid-line: drop that piece, and say what is missing.
            let start = tail.iter().position(|b| *b == b'\n').map_or(tail.len(), |i| i + 1);
            tail.drain(..start);
            head.extend_from_slice(b"\n[output cut]\n");
        }
        head.extend(tail);
        String::from_utf8_lossy(&head).into_owned()
    })
}

/// The last few lines of a tool's complaint, for an error message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(6);
    lines[start..].join("\n")
}

/// Finds `program` in the fixed system directories.
pub fn resolve(program: &str) -> Result<PathBuf, ExecError> {
    let as_path = Path::new(program);
    if as_path.is_absolute() {
        return if as_path.exists() {
            Ok(as_path.to_path_buf())
        } else {
            Err(ExecError::NotFound(program.to_string()))
        };
    }
    if program.contains('/') {
        return Err(ExecError::NotFound(program.to_string()));
    }
    PROGRAM_DIRS
        .iter()
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.exists())
        .ok_or_else(|| ExecError::NotFound(program.to_string()))
}

/// Whether a program is installed (used to pick, e.g., the PHP-FPM binary).
pub fn installed(program: &str) -> bool {
    resolve(program).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {

    #[test]
    fn a_long_output_keeps_its_beginning_and_its_last_lines() {
        let mut text = String::from("first line\n");
        for n in 0..100_000 {
            text.push_str(&format!("status {n}\n"));
        }
        text.push_str("{\"summary\": true}\n");
        let kept = drain(std::io::Cursor::new(text.into_bytes())).join().unwrap();
        assert!(kept.len() <= OUTPUT_LIMIT + 16, "{}", kept.len());
        assert!(kept.starts_with("first line\nstatus 0\n"));
        assert!(kept.contains("\n[output cut]\nstatus "));
        assert!(kept.ends_with("status 99999\n{\"summary\": true}\n"));
        let short = drain(std::io::Cursor::new(b"a\nb\n".to_vec())).join().unwrap();
        assert_eq!(short, "a\nb\n");
    }
    use super::*;

    #[test]
    fn runs_argv_without_a_shell() {
        let out = Cmd::new("echo").unwrap().arg("a; rm -rf /").arg("$HOME").run().unwrap();
        assert_eq!(out.stdout, "a; rm -rf / $HOME\n");
    }

    #[test]
    fn secrets_go_through_stdin() {
        let out = Cmd::new("cat").unwrap().stdin_secret(b"s3cret".to_vec()).run().unwrap();
        assert_eq!(out.stdout, "s3cret");
    }

    #[test]
    fn failures_and_timeouts_are_errors() {
        let err = Cmd::new("false").unwrap().run().unwrap_err();
        assert!(matches!(err, ExecError::Failed { .. }));

        let slow = Cmd::new("sleep").unwrap().arg("5").timeout(Duration::from_millis(100));
        assert!(matches!(slow.run().unwrap_err(), ExecError::Timeout { .. }));

        // A time limit stops the program's children too (its process group).
        let started = Instant::now();
        let script = Cmd::new("sh").unwrap().args(["-c", "sleep 30 & sleep 30; wait"]);
        let err = script.timeout(Duration::from_millis(200)).run().unwrap_err();
        assert!(matches!(err, ExecError::Timeout { .. }));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn the_callers_path_is_not_used() {
        assert!(matches!(Cmd::new("./evil"), Err(ExecError::NotFound(_))));
        assert!(matches!(Cmd::new("no-such-tool-here"), Err(ExecError::NotFound(_))));
    }
}
