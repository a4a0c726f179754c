//! HS::FileManager: an account's files, every operation run by the `hs-fileop`
//! helper (layer 5) as the account's own Linux user, confined to its home.
//!
//! This module authorises (the account must be the actor's to manage), works
//! out the limits (the plan's `disk_mb` quota, the editor's size limit), logs
//! one audit line per request and starts the helper; the helper does the rest
//! after dropping root, so the kernel refuses what the account could not do.
//! Uploads and downloads stream through the helper's pipes in frames, so the
//! daemon's memory does not grow with the file.
//!
//! FIXME: FTP accounts (Pure-FTPd, layer 7) are not written yet.
//! FIXME: kernel quotas are not set where the filesystem has them; the quota
//! holds for the panel's own writes only (measured by walking the home).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout};

use hs_config::state::Account;
use hs_fileop::proto::{self, ErrorKind, ReadHeader, Request, Response};
use hs_types::{FileMode, FilePath, Username};
use serde_json::Value;

use crate::account;
use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};

/// Largest file the editor opens or saves (its POST body is held to the API's
/// 1 MiB limit anyway).
pub const EDIT_LIMIT: u64 = 1024 * 1024;

/// Most entries one archive may have.
pub const EXTRACT_ENTRIES: u64 = 10_000;

/// Most bytes one extraction may write, whatever the quota.
pub const EXTRACT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Largest single upload, whatever the quota (a plan may have none).
pub const UPLOAD_LIMIT: u64 = 16 * 1024 * 1024 * 1024;

/// Where the helper is (also for HS::Backup's restores as the user).
pub(crate) fn helper_path() -> Result<PathBuf> {
    helper_binary()
}

/// Where the helper is: next to the running program (hs-srvd, hspanel), else
/// in the system folders.
fn helper_binary() -> Result<PathBuf> {
    if let Ok(me) = std::env::current_exe() {
        let beside = me.with_file_name("hs-fileop");
        if beside.exists() {
            return Ok(beside);
        }
    }
    Ok(hs_automation::exec::resolve("hs-fileop")?)
}

/// The account, if the actor may manage it, and its quota in bytes.
fn authorise(panel: &Panel, actor: &Actor, user: &Username) -> Result<(Account, Option<u64>)> {
    let account = account::load_managed(panel, actor, user)?;
    let disk_mb = panel.store.plan(&account.plan)?.and_then(|p| p.limits.disk_mb);
    Ok((account, disk_mb.map(|mb| mb.saturating_mul(1024 * 1024))))
}

fn audit(op_id: &str, actor: &Actor, user: &Username, action: &str, path: &str) {
    tracing::info!(
        target: "audit",
        op = %op_id,
        actor = %actor.name,
        account = %user,
        action,
        path,
        "fileman"
    );
}

/// A running helper.
struct Helper {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Helper {
    fn start(panel: &Panel, user: &Username, request: &Request) -> Result<Helper> {
        let home = panel.layout.home(user);
        let program = helper_binary()?;
        let cmd = hs_automation::exec::Cmd::new(&program.to_string_lossy())?
            .arg(user.as_str())
            .arg(home.as_os_str());
        let mut child = cmd.spawn_piped()?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ModuleError::internal("the file helper has no pipes"));
        };
        // A helper that failed at start-up has already answered and exited.
        let _ = proto::write_line(&mut stdin, request);
        Ok(Helper { child, stdin: Some(stdin), stdout: BufReader::new(stdout) })
    }

    /// The answer line, as a result or the module's error.
    fn answer(&mut self) -> Result<Value> {
        self.stdin = None;
        let response: Response = proto::read_line(&mut self.stdout)
            .map_err(|e| ModuleError::internal(format!("the file helper did not answer: {e}")))?;
        match response {
            Response::Ok { result } => Ok(result),
            Response::Error { kind, message } => Err(error(kind, message)),
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.stdin = None;
        // A finished helper has exited; one given up on is stopped.
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn error(kind: ErrorKind, message: String) -> ModuleError {
    match kind {
        ErrorKind::Invalid => ModuleError::Invalid(message),
        ErrorKind::NotFound => ModuleError::NotFound(message),
        ErrorKind::Forbidden => ModuleError::Forbidden(message),
        ErrorKind::Conflict => ModuleError::Conflict(message),
        ErrorKind::Limit => ModuleError::LimitReached(message),
        ErrorKind::Internal => ModuleError::Internal(message),
    }
}

/// One operation without content either way.
fn simple(panel: &Panel, user: &Username, request: Request) -> Result<Value> {
    Helper::start(panel, user, &request)?.answer()
}

pub fn list(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    path: &FilePath,
    op_id: &str,
) -> Result<Value> {
    authorise(panel, actor, user)?;
    audit(op_id, actor, user, "list", path.as_str());
    simple(panel, user, Request::List { path: path.to_string() })
}

pub fn mkdir(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    path: &FilePath,
    op_id: &str,
) -> Result<Value> {
    authorise(panel, actor, user)?;
    audit(op_id, actor, user, "mkdir", path.as_str());
    simple(panel, user, Request::Mkdir { path: path.to_string() })
}

pub fn delete(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    path: &FilePath,
    op_id: &str,
) -> Result<Value> {
    authorise(panel, actor, user)?;
    audit(op_id, actor, user, "delete", path.as_str());
    simple(panel, user, Request::Delete { path: path.to_string() })
}

pub fn chmod(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    path: &FilePath,
    mode: &FileMode,
    op_id: &str,
) -> Result<Value> {
    authorise(panel, actor, user)?;
    audit(op_id, actor, user, "chmod", path.as_str());
    simple(panel, user, Request::Chmod { path: path.to_string(), mode: mode.bits() })
}

pub fn rename(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    from: &FilePath,
    to: &FilePath,
    op_id: &str,
) -> Result<Value> {
    authorise(panel, actor, user)?;
    audit(op_id, actor, user, "rename", &format!("{from} -> {to}"));
    simple(panel, user, Request::Rename { from: from.to_string(), to: to.to_string() })
}

pub fn copy(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    from: &FilePath,
    to: &FilePath,
    op_id: &str,
) -> Result<Value> {
    let (_, quota_bytes) = authorise(panel, actor, user)?;
    audit(op_id, actor, user, "copy", &format!("{from} -> {to}"));
    let request = Request::Copy { from: from.to_string(), to: to.to_string(), quota_bytes };
    simple(panel, user, request)
}

/// Extracts the archive `path` (zip, tar, tar.gz, tar.zst) into the folder
/// `dest`; entries that would land outside it, links and special files are
/// skipped and listed; past a limit nothing is kept.
pub fn extract(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    path: &FilePath,
    dest: &FilePath,
    op_id: &str,
) -> Result<Value> {
    let (_, quota_bytes) = authorise(panel, actor, user)?;
    audit(op_id, actor, user, "extract", &format!("{path} -> {dest}"));
    let request = Request::Extract {
        path: path.to_string(),
        dest: dest.to_string(),
        quota_bytes,
        max_entries: EXTRACT_ENTRIES,
        max_bytes: EXTRACT_BYTES,
    };
    simple(panel, user, request)
}

/// A download under way: the header, then exactly `header.length` bytes.
pub struct Download {
    pub header: ReadHeader,
    helper: Helper,
    remaining: u64,
}

impl Read for Download {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.helper.stdout.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file ended early",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Starts a download of `length` bytes from `offset` (all of the file when
/// `length` is absent).
pub fn download(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    path: &FilePath,
    offset: u64,
    length: Option<u64>,
    op_id: &str,
) -> Result<Download> {
    authorise(panel, actor, user)?;
    audit(op_id, actor, user, "download", path.as_str());
    open_read(panel, user, path, offset, length, None)
}

fn open_read(
    panel: &Panel,
    user: &Username,
    path: &FilePath,
    offset: u64,
    length: Option<u64>,
    max_size: Option<u64>,
) -> Result<Download> {
    let request = Request::Read { path: path.to_string(), offset, length, max_size };
    let mut helper = Helper::start(panel, user, &request)?;
    let header: ReadHeader = serde_json::from_value(helper.answer()?)
        .map_err(|e| ModuleError::internal(format!("the file helper's header: {e}")))?;
    Ok(Download { header, remaining: header.length, helper })
}

/// The editor's view of a text file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EditView {
    pub path: String,
    pub content: String,
    pub mode: String,
    pub size: u64,
}

pub fn edit_read(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    path: &FilePath,
    op_id: &str,
) -> Result<EditView> {
    authorise(panel, actor, user)?;
    audit(op_id, actor, user, "edit_read", path.as_str());
    let mut download = open_read(panel, user, path, 0, None, Some(EDIT_LIMIT))?;
    let mut bytes = Vec::new();
    download.by_ref().take(EDIT_LIMIT).read_to_end(&mut bytes).map_err(ModuleError::internal)?;
    if bytes.contains(&0) {
        return Err(ModuleError::Invalid(format!("{path} is a binary file")));
    }
    let content = String::from_utf8(bytes)
        .map_err(|_| ModuleError::Invalid(format!("{path} is not UTF-8 text")))?;
    let header = download.header;
    Ok(EditView {
        path: path.to_string(),
        content,
        mode: format!("{:04o}", header.mode),
        size: header.size,
    })
}

pub fn edit_write(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    path: &FilePath,
    content: &str,
    op_id: &str,
) -> Result<Value> {
    let (_, quota_bytes) = authorise(panel, actor, user)?;
    audit(op_id, actor, user, "edit_write", path.as_str());
    if content.len() as u64 > EDIT_LIMIT {
        return Err(ModuleError::LimitReached(format!(
            "the editor saves at most {EDIT_LIMIT} bytes"
        )));
    }
    if content.contains('\0') {
        return Err(ModuleError::Invalid("the content has NUL bytes".into()));
    }
    // The editor changes existing files only, and the helper refuses binary ones.
    let request = Request::Read {
        path: path.to_string(),
        offset: 0,
        length: Some(0),
        max_size: Some(EDIT_LIMIT),
    };
    drop(Helper::start(panel, user, &request)?.answer()?);
    let mut upload = start_upload(panel, user, path, quota_bytes, Some(EDIT_LIMIT), true)?;
    upload.write_chunk(content.as_bytes())?;
    upload.finish()
}

/// An upload under way: feed it with [`Upload::write_chunk`], then
/// [`Upload::finish`]. Dropped unfinished, its pipe closes, the helper sees the
/// content break off and removes its temporary file: the target is untouched.
pub struct Upload {
    helper: Helper,
}

impl Upload {
    /// Sends bytes on. A refusal by the helper (quota, size) shows up here as
    /// a broken pipe; [`Upload::finish`] then gives its reason.
    pub fn write_chunk(&mut self, bytes: &[u8]) -> Result<()> {
        let Some(stdin) = self.helper.stdin.as_mut() else {
            return Err(ModuleError::internal("the upload is closed"));
        };
        match proto::write_frame(stdin, bytes) {
            Ok(()) => Ok(()),
            Err(_) => Err(self.refusal()),
        }
    }

    fn refusal(&mut self) -> ModuleError {
        match self.helper.answer() {
            Err(e) => e,
            Ok(_) => ModuleError::internal("the file helper stopped reading"),
        }
    }

    /// Ends the content; the file is in place when this returns `Ok`.
    pub fn finish(mut self) -> Result<Value> {
        if let Some(stdin) = self.helper.stdin.as_mut()
            && proto::write_end(stdin).is_err()
        {
            return Err(self.refusal());
        }
        self.helper.answer()
    }
}

fn start_upload(
    panel: &Panel,
    user: &Username,
    path: &FilePath,
    quota_bytes: Option<u64>,
    max_size: Option<u64>,
    text: bool,
) -> Result<Upload> {
    let request = Request::Write { path: path.to_string(), quota_bytes, max_size, text };
    Ok(Upload { helper: Helper::start(panel, user, &request)? })
}

/// Starts an upload of `name` into the folder `dir`, within the quota.
pub fn upload(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    dir: &FilePath,
    name: &str,
    op_id: &str,
) -> Result<Upload> {
    let (_, quota_bytes) = authorise(panel, actor, user)?;
    let path = dir.join(name)?;
    audit(op_id, actor, user, "upload", path.as_str());
    start_upload(panel, user, &path, quota_bytes, Some(UPLOAD_LIMIT), false)
}

/// Bytes used by the account's files, as the helper measures them.
pub fn usage(panel: &Panel, actor: &Actor, user: &Username) -> Result<u64> {
    authorise(panel, actor, user)?;
    let result = simple(panel, user, Request::Usage)?;
    Ok(result.get("bytes").and_then(Value::as_u64).unwrap_or(0))
}

/// Reads a request's content in chunks into an upload (used by the CLI).
pub fn upload_from(mut upload: Upload, mut source: impl BufRead) -> Result<Value> {
    loop {
        let chunk = source.fill_buf().map_err(ModuleError::internal)?;
        if chunk.is_empty() {
            return upload.finish();
        }
        let n = chunk.len();
        upload.write_chunk(chunk)?;
        source.consume(n);
    }
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Upload")
    }
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download").field("header", &self.header).finish()
    }
}

/// Writes the whole download into `out` (used by the CLI).
pub fn download_into(mut download: Download, out: &mut impl Write) -> Result<u64> {
    std::io::copy(&mut download, out).map_err(ModuleError::internal)
}
