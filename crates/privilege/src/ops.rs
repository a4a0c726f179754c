//! The operations, run after the privilege drop, each on paths beneath the home.
//!
//! A path is split into components (`..` refused outright, empty and `.` parts
//! dropped); its folder is opened with `openat2` beneath the home, and the last
//! component is then used by name with calls that do not follow it.

use std::ffi::{CStr, OsStr};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags, ResolveFlags, Stat};
use rustix::io::Errno;
use serde_json::json;

use crate::Identity;
use crate::proto::{self, Entry, ErrorKind, ReadHeader, Request, Response};

/// Deepest folder nesting walked (delete, copy, usage).
const MAX_DEPTH: usize = 128;

/// Longest path accepted, in bytes.
const MAX_PATH: usize = 4096;

/// The home, opened `O_PATH`, and who we are.
pub struct Home {
    pub fd: OwnedFd,
    pub me: Identity,
}

#[derive(Debug)]
pub enum OpError {
    Failed(ErrorKind, String),
    /// The answer's header is out; the caller sees the stream end early.
    AfterHeader,
}

type Result<T> = std::result::Result<T, OpError>;

fn fail<T>(kind: ErrorKind, message: impl Into<String>) -> Result<T> {
    Err(OpError::Failed(kind, message.into()))
}

/// An errno in words, with the path it was about.
pub(crate) fn os_error(path: &str, e: Errno) -> OpError {
    let (kind, what) = match e {
        Errno::XDEV => (ErrorKind::Forbidden, "leads outside the home"),
        Errno::LOOP => (ErrorKind::Forbidden, "goes through a symbolic link"),
        Errno::NOENT => (ErrorKind::NotFound, "does not exist"),
        Errno::ACCESS | Errno::PERM => (ErrorKind::Forbidden, "permission denied"),
        Errno::EXIST => (ErrorKind::Conflict, "already exists"),
        Errno::NOTEMPTY => (ErrorKind::Conflict, "is not empty"),
        Errno::NOTDIR => (ErrorKind::Invalid, "is not a folder"),
        Errno::ISDIR => (ErrorKind::Invalid, "is a folder"),
        Errno::NAMETOOLONG => (ErrorKind::Invalid, "is too long"),
        Errno::DQUOT | Errno::NOSPC | Errno::FBIG => (ErrorKind::Limit, "no space left"),
        Errno::INVAL => (ErrorKind::Invalid, "is not acceptable here"),
        _ => return OpError::Failed(ErrorKind::Internal, format!("{path}: {e}")),
    };
    OpError::Failed(kind, format!("{path}: {what}"))
}

fn io_error(path: &str, e: io::Error) -> OpError {
    match e.raw_os_error() {
        Some(code) => os_error(path, Errno::from_raw_os_error(code)),
        None => OpError::Failed(ErrorKind::Internal, format!("{path}: {e}")),
    }
}

/// The components of a home-relative path; `/` and `` are the home itself.
pub fn components(path: &str) -> Result<Vec<&str>> {
    if path.len() > MAX_PATH || path.contains('\0') {
        return fail(ErrorKind::Invalid, "the path is too long or contains a NUL byte");
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return fail(ErrorKind::Forbidden, format!("{path}: `..` is not allowed")),
            name => parts.push(name),
        }
    }
    Ok(parts)
}

pub(crate) fn beneath(
    home: &Home,
    parts: &[&str],
    flags: OFlags,
    extra: ResolveFlags,
) -> Result<OwnedFd> {
    let joined = if parts.is_empty() { ".".to_string() } else { parts.join("/") };
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS | extra;
    rustix::fs::openat2(&home.fd, &joined, flags | OFlags::CLOEXEC, Mode::empty(), resolve)
        .map_err(|e| os_error(&format!("/{}", parts.join("/")), e))
}

/// A path's folder (opened `O_PATH` beneath the home) and its last component.
struct Target<'a> {
    dir: OwnedFd,
    name: &'a str,
    shown: String,
}

fn target<'a>(home: &Home, path: &'a str) -> Result<Target<'a>> {
    let parts = components(path)?;
    let Some((name, parent)) = parts.split_last() else {
        return fail(ErrorKind::Invalid, "this cannot be done to the home folder itself");
    };
    let dir = beneath(home, parent, OFlags::PATH | OFlags::DIRECTORY, ResolveFlags::empty())?;
    Ok(Target { dir, name, shown: format!("/{}", parts.join("/")) })
}

impl Target<'_> {
    fn stat(&self) -> Result<Stat> {
        rustix::fs::statat(&self.dir, self.name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| os_error(&self.shown, e))
    }

    fn err(&self, e: Errno) -> OpError {
        os_error(&self.shown, e)
    }
}

fn kind_of(stat: &Stat) -> FileType {
    FileType::from_raw_mode(stat.st_mode)
}

fn owned(home: &Home, stat: &Stat, shown: &str) -> Result<()> {
    if stat.st_uid == home.me.uid {
        Ok(())
    } else {
        fail(ErrorKind::Forbidden, format!("{shown}: not owned by the account"))
    }
}

/// Runs one request; writes the answer (and any content) to `out`.
pub fn execute(
    home: &Home,
    request: Request,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<()> {
    let result = match request {
        Request::List { path } => list(home, &path)?,
        Request::Read { path, offset, length, max_size } => {
            return read(home, &path, offset, length, max_size, out);
        }
        Request::Write { path, quota_bytes, max_size, text } => {
            write(home, &path, quota_bytes, max_size, text, input)?
        }
        Request::Mkdir { path } => mkdir(home, &path)?,
        Request::Delete { path } => delete(home, &path)?,
        Request::Rename { from, to } => rename(home, &from, &to)?,
        Request::Copy { from, to, quota_bytes } => copy(home, &from, &to, quota_bytes)?,
        Request::Chmod { path, mode } => chmod(home, &path, mode)?,
        Request::Usage => json!({ "bytes": usage(home)? }),
        Request::Extract { path, dest, quota_bytes, max_entries, max_bytes } => {
            let limits = crate::extract::Limits { max_entries, max_bytes };
            crate::extract::extract(home, &path, &dest, quota_bytes, limits)?
        }
        Request::RestoreTree { from, to, overwrite } => {
            let sel = crate::tree::Selection { from, to, overwrite, skip: Vec::new() };
            let report = crate::tree::unpack(&home.fd, input, sel, &crate::tree::Owners::Own)
                .map_err(|e| OpError::Failed(ErrorKind::Invalid, format!("restoring: {e}")))?;
            serde_json::to_value(report)
                .map_err(|e| OpError::Failed(ErrorKind::Internal, e.to_string()))?
        }
    };
    proto::write_line(out, &Response::Ok { result })
        .map_err(|e| OpError::Failed(ErrorKind::Internal, e.to_string()))
}

fn list(home: &Home, path: &str) -> Result<serde_json::Value> {
    let parts = components(path)?;
    let shown = format!("/{}", parts.join("/"));
    let dir = beneath(home, &parts, OFlags::RDONLY | OFlags::DIRECTORY, ResolveFlags::empty())?;
    let mut entries = Vec::new();
    for entry in rustix::fs::Dir::read_from(&dir).map_err(|e| os_error(&shown, e))? {
        let entry = entry.map_err(|e| os_error(&shown, e))?;
        let name = entry.file_name();
        if is_dot(name) {
            continue;
        }
        let Ok(stat) = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        let kind = kind_of(&stat);
        let target = (kind == FileType::Symlink)
            .then(|| rustix::fs::readlinkat(&dir, name, Vec::new()).ok())
            .flatten()
            .map(|t| t.to_string_lossy().into_owned());
        entries.push(Entry {
            name: name.to_string_lossy().into_owned(),
            kind: type_name(kind).into(),
            size: stat.st_size as u64,
            mode: format!("{:04o}", stat.st_mode & 0o7777),
            uid: stat.st_uid,
            mtime: stat.st_mtime,
            target,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(json!({ "path": shown, "entries": entries }))
}

fn type_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "file",
        FileType::Directory => "dir",
        FileType::Symlink => "symlink",
        _ => "other",
    }
}

fn is_dot(name: &CStr) -> bool {
    matches!(name.to_bytes(), b"." | b"..")
}

fn read(
    home: &Home,
    path: &str,
    offset: u64,
    length: Option<u64>,
    max_size: Option<u64>,
    out: &mut impl Write,
) -> Result<()> {
    let parts = components(path)?;
    let shown = format!("/{}", parts.join("/"));
    let flags = OFlags::RDONLY | OFlags::NONBLOCK;
    let fd = beneath(home, &parts, flags, ResolveFlags::empty())?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| os_error(&shown, e))?;
    if kind_of(&stat) != FileType::RegularFile {
        return fail(ErrorKind::Invalid, format!("{shown}: not a regular file"));
    }
    let size = stat.st_size as u64;
    if max_size.is_some_and(|max| size > max) {
        return fail(
            ErrorKind::Limit,
            format!("{shown}: larger than {} bytes", max_size.unwrap_or(0)),
        );
    }
    if offset > size || (offset == size && size > 0 && length != Some(0)) {
        return fail(ErrorKind::Invalid, format!("{shown}: the range starts past the end"));
    }
    let length = length.unwrap_or(size - offset).min(size - offset);
    let mut file = std::fs::File::from(fd);
    file.seek(SeekFrom::Start(offset)).map_err(|e| io_error(&shown, e))?;
    let header = ReadHeader { size, offset, length, mode: stat.st_mode & 0o7777 };
    let result = serde_json::to_value(header).unwrap_or_default();
    proto::write_line(out, &Response::Ok { result })
        .map_err(|e| OpError::Failed(ErrorKind::Internal, e.to_string()))?;
    let copied = io::copy(&mut file.take(length), out).map_err(|_| OpError::AfterHeader)?;
    out.flush().map_err(|_| OpError::AfterHeader)?;
    if copied == length { Ok(()) } else { Err(OpError::AfterHeader) }
}

/// A temporary name in the target's folder, unique to this process.
fn temp_name(n: u32) -> String {
    format!(".hs-fileop-{}-{n}.tmp", std::process::id())
}

fn write(
    home: &Home,
    path: &str,
    quota: Option<u64>,
    max_size: Option<u64>,
    text: bool,
    input: &mut impl BufRead,
) -> Result<serde_json::Value> {
    let t = target(home, path)?;
    let (mode, old_size) = match t.stat() {
        Ok(stat) => {
            match kind_of(&stat) {
                FileType::RegularFile => {}
                FileType::Symlink => {
                    return fail(ErrorKind::Forbidden, format!("{}: is a symbolic link", t.shown));
                }
                _ => return fail(ErrorKind::Invalid, format!("{}: not a regular file", t.shown)),
            }
            owned(home, &stat, &t.shown)?;
            (stat.st_mode & 0o777, stat.st_size as u64)
        }
        Err(OpError::Failed(ErrorKind::NotFound, _)) => (0o644, 0),
        Err(e) => return Err(e),
    };
    let used = match quota {
        Some(_) => usage(home)?.saturating_sub(old_size),
        None => 0,
    };

    let create = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
    let mut attempt = 0;
    let (tmp, fd) = loop {
        let tmp = temp_name(attempt);
        match rustix::fs::openat(&t.dir, &tmp, create | OFlags::CLOEXEC, Mode::from_raw_mode(0o600))
        {
            Ok(fd) => break (tmp, fd),
            Err(Errno::EXIST) if attempt < 16 => attempt += 1,
            Err(e) => return Err(t.err(e)),
        }
    };
    let mut file = std::fs::File::from(fd);
    let outcome =
        fill(&mut file, input, used, quota, max_size, text, &t.shown).and_then(|written| {
            rustix::fs::fchmod(&file, Mode::from_raw_mode(mode)).map_err(|e| t.err(e))?;
            file.sync_all().map_err(|e| io_error(&t.shown, e))?;
            rustix::fs::renameat(&t.dir, &tmp, &t.dir, t.name).map_err(|e| t.err(e))?;
            Ok(written)
        });
    match outcome {
        Ok(written) => {
            Ok(json!({ "path": t.shown, "size": written, "mode": format!("{mode:04o}") }))
        }
        Err(e) => {
            let _ = rustix::fs::unlinkat(&t.dir, &tmp, AtFlags::empty());
            Err(e)
        }
    }
}

/// Copies the framed content into `file`, enforcing the limits as it goes.
fn fill(
    file: &mut std::fs::File,
    input: &mut impl BufRead,
    used: u64,
    quota: Option<u64>,
    max_size: Option<u64>,
    text: bool,
    shown: &str,
) -> Result<u64> {
    let mut buf = Vec::new();
    let mut written: u64 = 0;
    loop {
        let more = proto::read_frame(input, &mut buf).map_err(|e| {
            OpError::Failed(ErrorKind::Invalid, format!("the upload broke off: {e}"))
        })?;
        if !more {
            return Ok(written);
        }
        written += buf.len() as u64;
        if max_size.is_some_and(|max| written > max) {
            let max = max_size.unwrap_or(0);
            return fail(ErrorKind::Limit, format!("{shown}: larger than {max} bytes"));
        }
        if quota.is_some_and(|q| used + written > q) {
            return fail(ErrorKind::Limit, "the account's disk quota would be exceeded");
        }
        if text && buf.contains(&0) {
            return fail(ErrorKind::Invalid, format!("{shown}: binary content (NUL bytes)"));
        }
        file.write_all(&buf).map_err(|e| io_error(shown, e))?;
    }
}

fn mkdir(home: &Home, path: &str) -> Result<serde_json::Value> {
    let t = target(home, path)?;
    rustix::fs::mkdirat(&t.dir, t.name, Mode::from_raw_mode(0o755)).map_err(|e| t.err(e))?;
    Ok(json!({ "path": t.shown }))
}

fn delete(home: &Home, path: &str) -> Result<serde_json::Value> {
    let t = target(home, path)?;
    let stat = t.stat()?;
    owned(home, &stat, &t.shown)?;
    if kind_of(&stat) == FileType::Directory {
        // First make sure everything inside is the account's, then remove it.
        walk(&t.dir, t.name, 0, &mut |_, _, stat| owned(home, stat, &t.shown))?;
        remove_tree(&t.dir, t.name, 0).map_err(|e| t.err(e))?;
    } else {
        rustix::fs::unlinkat(&t.dir, t.name, AtFlags::empty()).map_err(|e| t.err(e))?;
    }
    Ok(json!({ "deleted": t.shown }))
}

fn open_subdir(dir: impl AsFd, name: impl rustix::path::Arg) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(dir, name, flags, Mode::empty())
}

/// Calls `visit` for every entry below `parent/name` (not following symlinks).
fn walk(
    parent: &OwnedFd,
    name: &str,
    depth: usize,
    visit: &mut dyn FnMut(&OwnedFd, &CStr, &Stat) -> Result<()>,
) -> Result<()> {
    let dir = open_subdir(parent, name).map_err(|e| os_error(name, e))?;
    walk_fd(&dir, depth, visit)
}

fn walk_fd(
    dir: &OwnedFd,
    depth: usize,
    visit: &mut dyn FnMut(&OwnedFd, &CStr, &Stat) -> Result<()>,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return fail(ErrorKind::Limit, "folders nested too deeply");
    }
    for entry in rustix::fs::Dir::read_from(dir).map_err(|e| os_error("folder", e))? {
        let entry = entry.map_err(|e| os_error("folder", e))?;
        let name = entry.file_name();
        if is_dot(name) {
            continue;
        }
        let stat = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| os_error(&name.to_string_lossy(), e))?;
        visit(dir, name, &stat)?;
        if kind_of(&stat) == FileType::Directory {
            let sub = open_subdir(dir, name).map_err(|e| os_error(&name.to_string_lossy(), e))?;
            walk_fd(&sub, depth + 1, visit)?;
        }
    }
    Ok(())
}

fn remove_tree<N: rustix::path::Arg + Copy>(
    parent: impl AsFd,
    name: N,
    depth: usize,
) -> rustix::io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(Errno::LOOP);
    }
    let dir = open_subdir(&parent, name)?;
    loop {
        // Re-read after each pass: removing entries while iterating is unreliable.
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&dir)? {
            let entry = entry?;
            if !is_dot(entry.file_name()) {
                names.push(entry.file_name().to_owned());
            }
            if names.len() >= 1024 {
                break;
            }
        }
        if names.is_empty() {
            break;
        }
        for child in names {
            let stat = rustix::fs::statat(&dir, child.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)?;
            if kind_of(&stat) == FileType::Directory {
                remove_tree(&dir, child.as_c_str(), depth + 1)?;
            } else {
                rustix::fs::unlinkat(&dir, child.as_c_str(), AtFlags::empty())?;
            }
        }
    }
    rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)
}

fn rename(home: &Home, from: &str, to: &str) -> Result<serde_json::Value> {
    let src = target(home, from)?;
    let dst = target(home, to)?;
    owned(home, &src.stat()?, &src.shown)?;
    rustix::fs::renameat_with(&src.dir, src.name, &dst.dir, dst.name, RenameFlags::NOREPLACE)
        .map_err(|e| dst.err(e))?;
    Ok(json!({ "from": src.shown, "to": dst.shown }))
}

fn copy(home: &Home, from: &str, to: &str, quota: Option<u64>) -> Result<serde_json::Value> {
    let src = target(home, from)?;
    let dst = target(home, to)?;
    let stat = src.stat()?;
    if kind_of(&stat) == FileType::Symlink {
        return fail(ErrorKind::Forbidden, format!("{}: is a symbolic link", src.shown));
    }
    let mut needed = if kind_of(&stat) == FileType::RegularFile { stat.st_size as u64 } else { 0 };
    if kind_of(&stat) == FileType::Directory {
        walk(&src.dir, src.name, 0, &mut |_, _, s| {
            if kind_of(s) == FileType::RegularFile {
                needed += s.st_size as u64;
            }
            Ok(())
        })?;
    }
    if let Some(q) = quota
        && usage(home)? + needed > q
    {
        return fail(ErrorKind::Limit, "the account's disk quota would be exceeded");
    }
    let mut skipped = Vec::new();
    let mut copier = Copier { skipped: &mut skipped, created: None, made_top: false };
    let result = copier.entry(&src.dir, src.name, &stat, &dst.dir, dst.name, 0);
    if let Err(e) = result {
        // Leave nothing half-copied behind, and nothing that was there before.
        if copier.made_top {
            if kind_of(&stat) == FileType::Directory {
                let _ = remove_tree(&dst.dir, dst.name, 0);
            } else {
                let _ = rustix::fs::unlinkat(&dst.dir, dst.name, AtFlags::empty());
            }
        }
        return Err(match e {
            CopyError::At(name, errno) => os_error(&format!("{} ({name})", src.shown), errno),
            CopyError::Op(e) => e,
        });
    }
    Ok(json!({ "from": src.shown, "to": dst.shown, "skipped": skipped }))
}

enum CopyError {
    At(String, Errno),
    Op(OpError),
}

struct Copier<'a> {
    skipped: &'a mut Vec<String>,
    /// The top folder created, so a copy into itself skips it.
    created: Option<(u64, u64)>,
    /// The destination was created by this copy (so a failure may remove it).
    made_top: bool,
}

impl Copier<'_> {
    fn entry<N: rustix::path::Arg + Copy>(
        &mut self,
        src_dir: &OwnedFd,
        name: N,
        stat: &Stat,
        dst_dir: &OwnedFd,
        dst_name: N,
        depth: usize,
    ) -> std::result::Result<(), CopyError> {
        let shown = || name.to_string_lossy().into_owned();
        let at = |e: Errno| CopyError::At(shown(), e);
        if depth > MAX_DEPTH {
            return Err(CopyError::Op(OpError::Failed(
                ErrorKind::Limit,
                "folders nested too deeply".into(),
            )));
        }
        let perms = Mode::from_raw_mode(stat.st_mode & 0o777);
        match kind_of(stat) {
            FileType::RegularFile => {
                let ro = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
                let from = rustix::fs::openat(src_dir, name, ro, Mode::empty()).map_err(at)?;
                let check = rustix::fs::fstat(&from).map_err(at)?;
                if kind_of(&check) != FileType::RegularFile {
                    return Err(at(Errno::INVAL));
                }
                let wo = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW;
                let to = rustix::fs::openat(
                    dst_dir,
                    dst_name,
                    wo | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(at)?;
                if depth == 0 {
                    self.made_top = true;
                }
                let (mut from, mut to) = (std::fs::File::from(from), std::fs::File::from(to));
                io::copy(&mut from, &mut to)
                    .map_err(|e| at(Errno::from_io_error(&e).unwrap_or(Errno::IO)))?;
                rustix::fs::fchmod(&to, perms).map_err(at)?;
            }
            FileType::Directory => {
                rustix::fs::mkdirat(dst_dir, dst_name, Mode::from_raw_mode(0o700)).map_err(at)?;
                if depth == 0 {
                    self.made_top = true;
                }
                let to = open_subdir(dst_dir, dst_name).map_err(at)?;
                let to_stat = rustix::fs::fstat(&to).map_err(at)?;
                if depth == 0 {
                    self.created = Some((to_stat.st_dev, to_stat.st_ino));
                }
                let from = open_subdir(src_dir, name).map_err(at)?;
                for entry in rustix::fs::Dir::read_from(&from).map_err(at)? {
                    let entry = entry.map_err(at)?;
                    let child = entry.file_name();
                    if is_dot(child) {
                        continue;
                    }
                    let s =
                        rustix::fs::statat(&from, child, AtFlags::SYMLINK_NOFOLLOW).map_err(at)?;
                    if self.created == Some((s.st_dev, s.st_ino)) {
                        continue;
                    }
                    self.entry(&from, child, &s, &to, child, depth + 1)?;
                }
                rustix::fs::fchmod(&to, perms).map_err(at)?;
            }
            // Symlinks, devices, sockets, fifos: never followed, never copied.
            _ => self.skipped.push(shown()),
        }
        Ok(())
    }
}

fn chmod(home: &Home, path: &str, mode: u32) -> Result<serde_json::Value> {
    if mode & !0o777 != 0 {
        return fail(ErrorKind::Invalid, "setuid, setgid and sticky bits cannot be set");
    }
    let t = target(home, path)?;
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(&t.dir, t.name, flags, Mode::empty()).map_err(|e| t.err(e))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| t.err(e))?;
    if kind_of(&stat) == FileType::Symlink {
        return fail(ErrorKind::Forbidden, format!("{}: is a symbolic link", t.shown));
    }
    owned(home, &stat, &t.shown)?;
    // fchmod does not take an O_PATH descriptor; its /proc link names exactly the
    // inode opened above, whatever happens to the name meanwhile.
    let proc_path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    rustix::fs::chmod(OsStr::from_bytes(proc_path.as_bytes()), Mode::from_raw_mode(mode))
        .map_err(|e| t.err(e))?;
    Ok(json!({ "path": t.shown, "mode": format!("{mode:04o}") }))
}

/// Bytes in the home's regular files; folders the account cannot read are skipped.
pub fn usage(home: &Home) -> Result<u64> {
    let root = beneath(home, &[], OFlags::RDONLY | OFlags::DIRECTORY, ResolveFlags::empty())?;
    let mut total = 0u64;
    usage_fd(&root, 0, &mut total);
    Ok(total)
}

fn usage_fd(dir: &OwnedFd, depth: usize, total: &mut u64) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = rustix::fs::Dir::read_from(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if is_dot(name) {
            continue;
        }
        let Ok(stat) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else { continue };
        match kind_of(&stat) {
            FileType::RegularFile => *total += stat.st_size as u64,
            FileType::Directory => {
                if let Ok(sub) = open_subdir(dir, name) {
                    usage_fd(&sub, depth + 1, total);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_components() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("/", Some(&[])),
            ("", Some(&[])),
            ("/a/b", Some(&["a", "b"])),
            ("a//./b/", Some(&["a", "b"])),
            ("/etc/passwd", Some(&["etc", "passwd"])),
            ("../../etc/passwd", None),
            ("a/../b", None),
            ("a\0b", None),
        ];
        for (path, expected) in cases {
            let got = components(path).ok();
            assert_eq!(got.as_deref(), *expected, "{path:?}");
        }
    }
}
