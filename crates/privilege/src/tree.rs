//! Whole trees into and out of tar streams, exactly: owners, modes, times,
//! symlinks and hardlinks (HS::Backup).
//!
//! [`pack`] walks a folder by descriptors (`O_NOFOLLOW` at every step, so a path
//! swapped for a symlink while it runs is not followed) and appends every entry
//! to a tar builder. A file that vanishes or changes while it is read is a
//! warning, never an error: its entry is skipped, or its bytes are cut or padded
//! to the size its header announced, so the archive stays well formed.
//!
//! [`unpack`] writes a tar stream beneath a destination descriptor. Every folder
//! is opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, every entry is
//! created `O_EXCL | O_NOFOLLOW` by name in its folder, symlinks are created but
//! never followed, hardlinks only to entries restored in the same run, and names
//! with `..` or a leading `/` are skipped. It runs in the helper as the account's
//! user (granular restores) or in the panel as root with an [`Owners`] map that
//! allows only the account's and the web server's ids (whole-account restores).

use std::collections::HashMap;
use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One entry of a tree as listed in a backup's manifest and compared by `verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    pub path: String,
    /// `d`, `f`, `l` (symlink).
    pub kind: char,
    pub mode: u32,
    pub owner: String,
    pub group: String,
    /// Seconds and nanoseconds, `1733250000.123456789`.
    pub mtime: String,
    pub size: u64,
    /// SHA-256 of a file's content, or a symlink's target.
    pub digest: String,
}

/// What [`pack`] did.
#[derive(Debug, Default, Serialize)]
pub struct PackReport {
    pub entries: u64,
    pub bytes: u64,
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub listing: Vec<ListEntry>,
}

const CONFINED: ResolveFlags =
    ResolveFlags::BENEATH.union(ResolveFlags::NO_SYMLINKS).union(ResolveFlags::NO_MAGICLINKS);

fn name_of_uid(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

fn name_of_gid(gid: u32) -> String {
    nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
        .ok()
        .flatten()
        .map(|g| g.name)
        .unwrap_or_else(|| gid.to_string())
}

struct Names(HashMap<(bool, u32), String>);

impl Names {
    fn get(&mut self, group: bool, id: u32) -> String {
        self.0
            .entry((group, id))
            .or_insert_with(|| if group { name_of_gid(id) } else { name_of_uid(id) })
            .clone()
    }
}

/// A reader that yields exactly `size` bytes: the file's, cut or padded with zeros.
struct Exact<R> {
    inner: R,
    left: u64,
    padded: bool,
    hash: Sha256,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = if self.padded {
            0
        } else {
            match self.inner.read(&mut buf[..want]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return self.read(buf),
                Err(_) => 0,
            }
        };
        let n = if n == 0 {
            self.padded = true;
            buf[..want].fill(0);
            want
        } else {
            n
        };
        self.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// Walks `src` and appends it under `prefix` (e.g. `home`) to `out`.
/// `progress` gets the bytes packed so far.
pub fn pack<W: Write>(
    out: &mut tar::Builder<W>,
    src: &std::path::Path,
    prefix: &str,
    progress: &mut dyn FnMut(u64),
) -> io::Result<PackReport> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let root = rustix::fs::open(src, flags, Mode::empty())?;
    let mut p = Packer {
        report: PackReport::default(),
        links: HashMap::new(),
        names: Names(HashMap::new()),
        progress,
    };
    let stat = rustix::fs::fstat(&root)?;
    if !prefix.is_empty() {
        p.dir_entry(out, prefix, "", &stat)?;
    }
    p.walk(out, &root, prefix, "", 0)?;
    Ok(p.report)
}

struct Packer<'a> {
    report: PackReport,
    /// (device, inode) of files with several links → the first name archived.
    links: HashMap<(u64, u64), String>,
    names: Names,
    progress: &'a mut dyn FnMut(u64),
}

impl Packer<'_> {
    fn header(&mut self, stat: &rustix::fs::Stat, kind: tar::EntryType) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(stat.st_mode & 0o7777);
        h.set_uid(u64::from(stat.st_uid));
        h.set_gid(u64::from(stat.st_gid));
        h.set_mtime(u64::try_from(stat.st_mtime).unwrap_or(0));
        let owner = self.names.get(false, stat.st_uid);
        let group = self.names.get(true, stat.st_gid);
        let _ = h.set_username(&owner);
        let _ = h.set_groupname(&group);
        h.set_size(0);
        h
    }

    fn list(&mut self, rel: &str, kind: char, stat: &rustix::fs::Stat, size: u64, digest: String) {
        let owner = self.names.get(false, stat.st_uid);
        let group = self.names.get(true, stat.st_gid);
        self.report.listing.push(ListEntry {
            path: rel.to_string(),
            kind,
            mode: stat.st_mode & 0o7777,
            owner,
            group,
            mtime: format!("{}.{:09}", stat.st_mtime, stat.st_mtime_nsec),
            size,
            digest,
        });
    }

    fn dir_entry<W: Write>(
        &mut self,
        out: &mut tar::Builder<W>,
        prefix: &str,
        rel: &str,
        stat: &rustix::fs::Stat,
    ) -> io::Result<()> {
        let mut h = self.header(stat, tar::EntryType::Directory);
        pax_time(out, stat)?;
        let name = join(prefix, rel);
        out.append_data(&mut h, format!("{name}/"), io::empty())?;
        self.list(rel, 'd', stat, 0, String::new());
        self.report.entries += 1;
        Ok(())
    }

    fn warn(&mut self, rel: &str, what: &str) {
        if self.report.warnings.len() < 1000 {
            self.report.warnings.push(format!("/{rel}: {what}"));
        }
    }

    fn walk<W: Write>(
        &mut self,
        out: &mut tar::Builder<W>,
        dir: &OwnedFd,
        prefix: &str,
        rel: &str,
        depth: usize,
    ) -> io::Result<()> {
        if depth > 256 {
            self.warn(rel, "folders nested too deep; skipped");
            return Ok(());
        }
        let mut names: Vec<CString> = Vec::new();
        for entry in rustix::fs::Dir::read_from(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_bytes() != b"." && name.to_bytes() != b".." {
                names.push(name.to_owned());
            }
        }
        names.sort();
        for name in names {
            let Ok(text) = name.to_str() else {
                self.warn(rel, "a name that is not UTF-8 was skipped");
                continue;
            };
            let child = if rel.is_empty() { text.to_string() } else { format!("{rel}/{text}") };
            let stat = match rustix::fs::statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(s) => s,
                Err(Errno::NOENT) => {
                    self.warn(&child, "vanished while the backup ran");
                    continue;
                }
                Err(e) => {
                    self.warn(&child, &format!("skipped: {e}"));
                    continue;
                }
            };
            match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => {
                    let flags =
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                    match rustix::fs::openat(dir, name.as_c_str(), flags, Mode::empty()) {
                        Ok(fd) => {
                            self.dir_entry(out, prefix, &child, &stat)?;
                            self.walk(out, &fd, prefix, &child, depth + 1)?;
                        }
                        Err(Errno::NOENT) => self.warn(&child, "vanished while the backup ran"),
                        Err(e) => self.warn(&child, &format!("skipped: {e}")),
                    }
                }
                FileType::Symlink => {
                    let target = match rustix::fs::readlinkat(dir, name.as_c_str(), Vec::new()) {
                        Ok(t) => t.to_string_lossy().into_owned(),
                        Err(_) => {
                            self.warn(&child, "vanished while the backup ran");
                            continue;
                        }
                    };
                    let mut h = self.header(&stat, tar::EntryType::Symlink);
                    pax_time(out, &stat)?;
                    out.append_link(&mut h, join(prefix, &child), &target)?;
                    self.list(&child, 'l', &stat, 0, target);
                    self.report.entries += 1;
                }
                FileType::RegularFile => self.file(out, dir, &name, prefix, &child, &stat)?,
                _ => self.warn(&child, "device, socket or pipe; skipped"),
            }
        }
        Ok(())
    }

    fn file<W: Write>(
        &mut self,
        out: &mut tar::Builder<W>,
        dir: &OwnedFd,
        name: &CString,
        prefix: &str,
        rel: &str,
        stat: &rustix::fs::Stat,
    ) -> io::Result<()> {
        let key = (stat.st_dev, stat.st_ino);
        if stat.st_nlink > 1
            && let Some(first) = self.links.get(&key).cloned()
        {
            let mut h = self.header(stat, tar::EntryType::Link);
            pax_time(out, stat)?;
            out.append_link(&mut h, join(prefix, rel), join(prefix, &first))?;
            let digest = self
                .report
                .listing
                .iter()
                .rev()
                .find(|e| e.path == first)
                .map(|e| e.digest.clone())
                .unwrap_or_default();
            let size = u64::try_from(stat.st_size).unwrap_or(0);
            self.list(rel, 'f', stat, size, digest);
            self.report.entries += 1;
            return Ok(());
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(dir, name.as_c_str(), flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                self.warn(rel, "vanished while the backup ran");
                return Ok(());
            }
            Err(e) => {
                self.warn(rel, &format!("skipped: {e}"));
                return Ok(());
            }
        };
        let now = rustix::fs::fstat(&fd)?;
        if now.st_ino != stat.st_ino
            || FileType::from_raw_mode(now.st_mode) != FileType::RegularFile
        {
            self.warn(rel, "replaced while the backup ran; skipped");
            return Ok(());
        }
        let size = u64::try_from(now.st_size).unwrap_or(0);
        let mut h = self.header(&now, tar::EntryType::Regular);
        h.set_size(size);
        pax_time(out, &now)?;
        let mut reader = Exact {
            inner: std::fs::File::from(fd),
            left: size,
            padded: false,
            hash: Sha256::new(),
        };
        out.append_data(&mut h, join(prefix, rel), &mut reader)?;
        let mut extra = [0u8; 1];
        let grew = matches!(reader.inner.read(&mut extra), Ok(n) if n > 0);
        if reader.padded || grew {
            self.warn(rel, "changed while the backup ran; its size at the start was kept");
        }
        let digest = hex::encode(reader.hash.finalize());
        if now.st_nlink > 1 {
            self.links.insert(key, rel.to_string());
        }
        self.list(rel, 'f', &now, size, digest);
        self.report.entries += 1;
        self.report.bytes += size;
        (self.progress)(self.report.bytes);
        Ok(())
    }
}

/// The exact modification time as a PAX record (GNU tar reads it too); the
/// header's field has whole seconds only.
fn pax_time<W: Write>(out: &mut tar::Builder<W>, stat: &rustix::fs::Stat) -> io::Result<()> {
    let value = format!("{}.{:09}", stat.st_mtime, stat.st_mtime_nsec);
    out.append_pax_extensions([("mtime", value.as_bytes())])
}

/// The PAX `mtime` of an entry, else the header's.
fn entry_time(entry: &mut tar::Entry<'_, impl Read>) -> Timespec {
    let header = i64::try_from(entry.header().mtime().unwrap_or(0)).unwrap_or(0);
    let mut t = Timespec { tv_sec: header, tv_nsec: 0 };
    if let Ok(Some(exts)) = entry.pax_extensions() {
        for ext in exts.flatten() {
            if ext.key() == Ok("mtime")
                && let Ok(v) = ext.value()
            {
                let (sec, frac) = v.split_once('.').unwrap_or((v, "0"));
                let frac: String = frac.chars().chain("000000000".chars()).take(9).collect();
                if let (Ok(sec), Ok(nsec)) = (sec.parse(), frac.parse()) {
                    t = Timespec { tv_sec: sec, tv_nsec: nsec };
                }
            }
        }
    }
    t
}

fn join(prefix: &str, rel: &str) -> String {
    match (prefix.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}/{rel}"),
    }
}

/// Lists a tree the way [`pack`] does, for `verify` and tests.
pub fn listing(src: &std::path::Path) -> io::Result<Vec<ListEntry>> {
    let mut sink = tar::Builder::new(io::sink());
    let report = pack(&mut sink, src, "x", &mut |_| {})?;
    Ok(report.listing)
}

/// How owners are set by [`unpack`].
#[derive(Debug, Clone)]
pub enum Owners {
    /// The process's own ids (the helper, running as the account's user).
    Own,
    /// Root only: the archive's owner and group names mapped to ids; a name
    /// not in the map gets `fallback`.
    Map { users: HashMap<String, u32>, groups: HashMap<String, u32>, fallback: (u32, u32) },
    /// Root only: the archive's owner and group names looked up on this system
    /// (root when unknown), for the panel's own folders (mail, certificates).
    System,
    /// Root only: the archive's numeric ids, for scratch copies (`verify`).
    Numeric,
}

/// Which entries [`unpack`] takes, and where they go.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The archive path taken (an entry equal to it or below it), e.g. `home`
    /// or `home/public_html/index.php`.
    pub from: String,
    /// Where it goes, relative to the destination (empty: the destination itself).
    pub to: String,
    /// Replace existing files and symlinks instead of skipping them.
    pub overwrite: bool,
    /// First components left out (e.g. `home` when reading the state).
    pub skip: Vec<String>,
}

/// What [`unpack`] did.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UnpackReport {
    pub entries: u64,
    pub bytes: u64,
    pub skipped: Vec<String>,
}

struct DirFix {
    parts: Vec<String>,
    mode: u32,
    mtime: Timespec,
    owner: Option<(u32, u32)>,
}

/// The entry's components, or why it is skipped.
fn parts_of(text: &str) -> Result<Vec<String>, &'static str> {
    if text.starts_with('/') {
        return Err("absolute path");
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("leads outside the folder (..)"),
            p if p.contains('\0') || p.len() > 255 => return Err("unusable name"),
            p => parts.push(p.to_string()),
        }
    }
    Ok(parts)
}

struct Unpacker<'a> {
    dest: &'a OwnedFd,
    owners: &'a Owners,
    sel: Selection,
    from: Vec<String>,
    to: Vec<String>,
    report: UnpackReport,
    dirs: Vec<DirFix>,
    /// Archive names restored → where they went (for hardlinks).
    placed: HashMap<String, Vec<String>>,
}

fn ts(t: Timespec) -> Timestamps {
    Timestamps { last_access: t, last_modification: t }
}

impl Unpacker<'_> {
    fn skip(&mut self, name: &str, why: &str) {
        if self.report.skipped.len() < 1000 {
            self.report.skipped.push(format!("{name}: {why}"));
        }
    }

    fn open_dir(&self, parts: &[String]) -> Result<OwnedFd, Errno> {
        let path = if parts.is_empty() { ".".to_string() } else { parts.join("/") };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::openat2(self.dest, &path, flags, Mode::empty(), CONFINED)
    }

    fn mkdirs(&self, parts: &[String]) -> Result<(), Errno> {
        for i in 1..=parts.len() {
            let parent = self.open_dir(&parts[..i - 1])?;
            match rustix::fs::mkdirat(&parent, &parts[i - 1], Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn owner_of(&self, h: &tar::Header) -> Option<(u32, u32)> {
        match self.owners {
            Owners::Own => None,
            Owners::Map { users, groups, fallback } => {
                let user = h.username().ok().flatten().unwrap_or_default();
                let group = h.groupname().ok().flatten().unwrap_or_default();
                let uid = users.get(user).copied().unwrap_or(fallback.0);
                let gid = groups.get(group).copied().unwrap_or(fallback.1);
                Some((uid, gid))
            }
            Owners::System => {
                let user = h.username().ok().flatten().unwrap_or_default();
                let group = h.groupname().ok().flatten().unwrap_or_default();
                let uid = nix::unistd::User::from_name(user).ok().flatten();
                let gid = nix::unistd::Group::from_name(group).ok().flatten();
                Some((uid.map_or(0, |u| u.uid.as_raw()), gid.map_or(0, |g| g.gid.as_raw())))
            }
            Owners::Numeric => {
                let uid = u32::try_from(h.uid().unwrap_or(0)).unwrap_or(0);
                let gid = u32::try_from(h.gid().unwrap_or(0)).unwrap_or(0);
                Some((uid, gid))
            }
        }
    }

    /// Maps an archive name to components below the destination.
    fn target(&self, name: &str) -> Result<Option<Vec<String>>, &'static str> {
        let parts = parts_of(name)?;
        if parts.len() < self.from.len() || parts[..self.from.len()] != self.from[..] {
            return Ok(None);
        }
        if parts.first().is_some_and(|p| self.sel.skip.contains(p)) {
            return Ok(None);
        }
        let mut out = self.to.clone();
        out.extend(parts[self.from.len()..].iter().cloned());
        Ok(Some(out))
    }

    /// Opens the parent of `parts` (creating folders) and hands back its name.
    fn parent(&self, parts: &[String]) -> Result<(OwnedFd, String), Errno> {
        let (name, folders) = parts.split_last().ok_or(Errno::INVAL)?;
        self.mkdirs(folders)?;
        Ok((self.open_dir(folders)?, name.clone()))
    }

    /// Makes room for a new entry: an existing non-folder is removed when
    /// overwriting, else the entry is skipped.
    fn clear(&mut self, parent: &OwnedFd, name: &str, shown: &str) -> bool {
        match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(_) => true,
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                self.skip(shown, "a folder is in the way");
                false
            }
            Ok(_) if self.sel.overwrite => {
                rustix::fs::unlinkat(parent, name, AtFlags::empty()).is_ok()
            }
            Ok(_) => {
                self.skip(shown, "exists already (not replaced)");
                false
            }
        }
    }

    fn entry(&mut self, entry: &mut tar::Entry<'_, impl Read>) -> io::Result<()> {
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let target = match self.target(&name) {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(()),
            Err(why) => {
                self.skip(&name, why);
                return Ok(());
            }
        };
        let h = entry.header().clone();
        let kind = h.entry_type();
        let mode = h.mode().unwrap_or(0o644) & 0o1777;
        let mtime = entry_time(entry);
        let owner = self.owner_of(&h);
        self.report.entries += 1;
        if kind.is_dir() {
            if self.mkdirs(&target).is_err() {
                self.skip(&name, "cannot create the folder here");
            } else {
                self.dirs.push(DirFix { parts: target, mode, mtime, owner });
            }
            return Ok(());
        }
        if target.is_empty() {
            self.skip(&name, "not a folder");
            return Ok(());
        }
        let (parent, leaf) = match self.parent(&target) {
            Ok(p) => p,
            Err(_) => {
                self.skip(&name, "its folder cannot be used (a file or a symlink is in the way)");
                return Ok(());
            }
        };
        if !self.clear(&parent, &leaf, &name) {
            return Ok(());
        }
        if kind.is_file() || kind == tar::EntryType::Continuous {
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd =
                match rustix::fs::openat(&parent, leaf.as_str(), flags, Mode::from_raw_mode(0o600))
                {
                    Ok(fd) => fd,
                    Err(e) => {
                        self.skip(&name, &format!("cannot be created: {e}"));
                        return Ok(());
                    }
                };
            let mut file = std::fs::File::from(fd);
            let n = io::copy(entry, &mut file)?;
            self.report.bytes += n;
            if let Some((uid, gid)) = owner {
                let _ = rustix::fs::fchown(
                    &file,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                );
            }
            let _ = rustix::fs::fchmod(&file, Mode::from_raw_mode(mode & 0o777));
            let _ = rustix::fs::futimens(&file, &ts(mtime));
        } else if kind.is_symlink() {
            let link = entry.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default();
            if rustix::fs::symlinkat(link.as_slice(), &parent, leaf.as_str()).is_err() {
                self.skip(&name, "the symlink cannot be created");
                return Ok(());
            }
            if let Some((uid, gid)) = owner {
                let _ = rustix::fs::chownat(
                    &parent,
                    leaf.as_str(),
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                    AtFlags::SYMLINK_NOFOLLOW,
                );
            }
            let _ = rustix::fs::utimensat(
                &parent,
                leaf.as_str(),
                &ts(mtime),
                AtFlags::SYMLINK_NOFOLLOW,
            );
        } else if kind.is_hard_link() {
            let link = entry.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default();
            let link = String::from_utf8_lossy(&link).into_owned();
            let Some(first) = parts_of(&link).ok().and_then(|p| self.placed.get(&p.join("/")))
            else {
                self.skip(&name, "hardlink to an entry not restored in this run");
                return Ok(());
            };
            let first = first.clone();
            let linked = self.parent(&first).and_then(|(from_dir, from_name)| {
                rustix::fs::linkat(
                    &from_dir,
                    from_name.as_str(),
                    &parent,
                    leaf.as_str(),
                    AtFlags::empty(),
                )
            });
            if linked.is_err() {
                self.skip(&name, "the hardlink cannot be created");
                return Ok(());
            }
        } else {
            self.skip(&name, "device or special file");
            return Ok(());
        }
        if let Ok(p) = parts_of(&name) {
            self.placed.insert(p.join("/"), target);
        }
        Ok(())
    }

    /// Folders' modes, owners and times last, deepest first (a read-only
    /// folder must not block its own content, and writing changes mtimes).
    fn fix_dirs(&mut self) {
        let mut dirs = std::mem::take(&mut self.dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.parts.len()));
        for d in dirs {
            let Ok(fd) = self.open_dir(&d.parts) else { continue };
            if let Some((uid, gid)) = d.owner {
                let _ = rustix::fs::fchown(
                    &fd,
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                );
            }
            let mode = match self.owners {
                Owners::Own => d.mode & 0o1777,
                _ => d.mode,
            };
            let _ = rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode));
            let _ = rustix::fs::futimens(&fd, &ts(d.mtime));
        }
    }
}

/// Writes the selected entries of the tar stream `reader` beneath `dest`.
pub fn unpack(
    dest: &OwnedFd,
    reader: impl Read,
    sel: Selection,
    owners: &Owners,
) -> io::Result<UnpackReport> {
    let bad = |_| io::Error::new(io::ErrorKind::InvalidInput, "a selection leads outside");
    let from = parts_of(&sel.from).map_err(bad)?;
    let to = parts_of(&sel.to).map_err(bad)?;
    let mut u = Unpacker {
        dest,
        owners,
        sel,
        from,
        to,
        report: UnpackReport::default(),
        dirs: Vec::new(),
        placed: HashMap::new(),
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        u.entry(&mut entry)?;
    }
    u.fix_dirs();
    Ok(u.report)
}

/// Opens `path` as a destination for [`unpack`] (a folder, not a symlink).
pub fn open_dest(path: &std::path::Path) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rustix::fs::open(path, flags, Mode::empty())?)
}

/// Lowers the calling thread's I/O priority to the idle class (ioprio_set);
/// returns the previous value for [`restore_io_priority`].
#[allow(unsafe_code)]
pub fn idle_io_priority() -> Option<i64> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IDLE: libc::c_long = 3 << 13;
    // SAFETY: ioprio_get/ioprio_set take plain integers; who = 0 is this thread.
    let old = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) };
    // SAFETY: as above.
    let set = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IDLE) };
    (old >= 0 && set == 0).then_some(old)
}

/// Puts back the I/O priority [`idle_io_priority`] replaced.
#[allow(unsafe_code)]
pub fn restore_io_priority(old: Option<i64>) {
    if let Some(old) = old {
        const IOPRIO_WHO_PROCESS: libc::c_long = 1;
        // SAFETY: plain integers, as above.
        unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, old) };
    }
}

/// Whether a file's or folder's contents are the same as the archive's listing
/// said; returns the differences (at most 50).
pub fn compare(expected: &[ListEntry], got: &[ListEntry]) -> Vec<String> {
    let mut diffs = Vec::new();
    let want: HashMap<&str, &ListEntry> = expected.iter().map(|e| (e.path.as_str(), e)).collect();
    let have: HashMap<&str, &ListEntry> = got.iter().map(|e| (e.path.as_str(), e)).collect();
    for (path, e) in &want {
        match have.get(path) {
            None => diffs.push(format!("/{path}: missing")),
            Some(g) if g != e => diffs.push(format!("/{path}: differs")),
            Some(_) => {}
        }
    }
    for path in have.keys() {
        if !want.contains_key(path) {
            diffs.push(format!("/{path}: not in the backup"));
        }
    }
    diffs.sort();
    diffs.truncate(50);
    diffs
}

/// Any `Write` can be counted for progress reports.
pub struct Counting<W> {
    pub inner: W,
    pub written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Used by callers that hold only `AsFd`.
pub fn fd_is_dir(fd: impl AsFd) -> bool {
    rustix::fs::fstat(fd).map(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory)
        == Ok(true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            ("home/a", Ok(&["home", "a"])),
            ("./home//a/", Ok(&["home", "a"])),
            ("home/../../etc", Err("outside")),
            ("/etc/passwd", Err("absolute")),
            ("", Ok(&[])),
        ];
        for (name, want) in cases {
            match (parts_of(name), want) {
                (Ok(p), Ok(w)) => assert_eq!(p, *w, "{name}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{name}: {e}"),
                (got, _) => unreachable!("{name}: {got:?}"),
            }
        }
    }

    #[test]
    fn pack_then_unpack_keeps_links_modes_and_times() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path();
        std::fs::create_dir(s.join("d")).unwrap();
        std::fs::write(s.join("d/a"), b"hello").unwrap();
        std::fs::hard_link(s.join("d/a"), s.join("b")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", s.join("out")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(s.join("d/a"), std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let report = pack(&mut b, s, "home", &mut |_| {}).unwrap();
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let bytes = b.into_inner().unwrap();

        let dst = tempfile::tempdir().unwrap();
        let fd = open_dest(dst.path()).unwrap();
        let sel =
            Selection { from: "home".into(), to: String::new(), overwrite: false, skip: vec![] };
        let r = unpack(&fd, bytes.as_slice(), sel, &Owners::Own).unwrap();
        assert!(r.skipped.is_empty(), "{:?}", r.skipped);
        let before = listing(s).unwrap();
        let after = listing(dst.path()).unwrap();
        assert_eq!(compare(&before, &after), Vec::<String>::new());
        use std::os::unix::fs::MetadataExt;
        let a = std::fs::metadata(dst.path().join("d/a")).unwrap();
        assert_eq!(a.nlink(), 2);
    }

    #[test]
    fn a_file_vanishing_during_the_walk_is_a_warning() {
        let src = tempfile::tempdir().unwrap();
        let s = src.path().to_path_buf();
        for name in ["a", "b", "c"] {
            std::fs::write(s.join(name), name.repeat(10)).unwrap();
        }
        let mut b = tar::Builder::new(Vec::new());
        // After `a` is packed, `b` is deleted: names are walked sorted.
        let mut hook = |_done: u64| {
            let _ = std::fs::remove_file(s.join("b"));
        };
        let report = pack(&mut b, &s, "home", &mut hook).unwrap();
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert!(report.warnings[0].contains("/b: vanished"), "{:?}", report.warnings);
        let bytes = b.into_inner().unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["home/", "home/a", "home/c"]);
    }

    #[test]
    fn a_file_that_shrinks_while_read_keeps_the_archive_whole() {
        let mut exact = Exact { inner: &b"abc"[..], left: 5, padded: false, hash: Sha256::new() };
        let mut out = Vec::new();
        exact.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc\0\0");
        assert!(exact.padded);
    }

    #[test]
    fn crafted_entries_stay_inside() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "home/esc", "/tmp").unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        // The tar crate refuses `..` in set_path; write the raw name.
        let name = b"home/esc/hs-escaped";
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let fd = open_dest(dst.path()).unwrap();
        let sel =
            Selection { from: "home".into(), to: String::new(), overwrite: true, skip: vec![] };
        let r = unpack(&fd, bytes.as_slice(), sel, &Owners::Own).unwrap();
        assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
        assert!(!std::path::Path::new("/tmp/hs-escaped").exists());
    }
}
