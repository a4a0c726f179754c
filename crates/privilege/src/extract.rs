//! Archive extraction (zip, tar, tar.gz, tar.zst), run in the helper as the
//! account's user.
//!
//! The archive crates only parse; every entry is written here, beneath the
//! destination folder's descriptor with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`,
//! each file created `O_EXCL | O_NOFOLLOW`. Entries with an absolute path or a
//! `..`, symlinks, hardlinks, devices and other special files are skipped and
//! reported; an existing file is never overwritten. The bytes actually written
//! (not what the headers claim) and the entry count are bounded, and the disk
//! quota holds: past a limit the extraction stops and removes what it wrote.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use serde::Serialize;
use serde_json::json;

use crate::ops::{self, Home, OpError};
use crate::proto::ErrorKind;

/// Limits of one extraction.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: u64,
    /// Bytes written at most (the smaller of the request's and the quota's room).
    pub max_bytes: u64,
}

#[derive(Debug, Serialize)]
struct Skipped {
    name: String,
    reason: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    Tar,
    TarGz,
    TarZst,
}

fn format_of(name: &str) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let ends = |s: &str| lower.ends_with(s);
    if ends(".zip") {
        Some(Format::Zip)
    } else if ends(".tar.gz") || ends(".tgz") {
        Some(Format::TarGz)
    } else if ends(".tar.zst") || ends(".tzst") {
        Some(Format::TarZst)
    } else if ends(".tar") {
        Some(Format::Tar)
    } else {
        None
    }
}

struct Extractor {
    dest: OwnedFd,
    limits: Limits,
    entries: u64,
    bytes: u64,
    /// Every file and folder created, in order, for the undo.
    created: Vec<(Vec<String>, bool)>,
    skipped: Vec<Skipped>,
}

/// Why an extraction stopped.
enum Stop {
    Limit(&'static str),
    Failed(OpError),
}

impl From<OpError> for Stop {
    fn from(e: OpError) -> Stop {
        Stop::Failed(e)
    }
}

const CONFINED: ResolveFlags =
    ResolveFlags::BENEATH.union(ResolveFlags::NO_SYMLINKS).union(ResolveFlags::NO_MAGICLINKS);

impl Extractor {
    /// The entry's components, or why it is skipped.
    fn parts(name: &[u8]) -> Result<Vec<String>, &'static str> {
        let text = std::str::from_utf8(name).map_err(|_| "name is not UTF-8")?;
        if text.starts_with('/') || text.starts_with('\\') {
            return Err("absolute path");
        }
        let mut parts = Vec::new();
        for part in text.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err("leads outside the folder (..)"),
                p if p.contains('\0') || p.contains('\\') || p.len() > 255 => {
                    return Err("unusable name");
                }
                p => parts.push(p.to_string()),
            }
        }
        if parts.is_empty() { Err("empty name") } else { Ok(parts) }
    }

    fn skip(&mut self, name: &[u8], reason: &'static str) {
        if self.skipped.len() < 1000 {
            self.skipped.push(Skipped { name: String::from_utf8_lossy(name).into_owned(), reason });
        }
    }

    fn count(&mut self) -> Result<(), Stop> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(Stop::Limit("the archive has more entries than allowed"));
        }
        Ok(())
    }

    /// Opens the folder `parts` beneath the destination, never through a symlink.
    fn open_dir(&self, parts: &[String]) -> Result<OwnedFd, Errno> {
        let path = if parts.is_empty() { ".".to_string() } else { parts.join("/") };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::openat2(&self.dest, &path, flags, Mode::empty(), CONFINED)
    }

    /// `mkdir -p` beneath the destination; existing folders are fine.
    fn mkdirs(&mut self, parts: &[String]) -> Result<(), Errno> {
        for i in 1..=parts.len() {
            let parent = self.open_dir(&parts[..i - 1])?;
            match rustix::fs::mkdirat(&parent, &parts[i - 1], Mode::from_raw_mode(0o755)) {
                Ok(()) => self.created.push((parts[..i].to_vec(), true)),
                Err(Errno::EXIST) => {
                    let stat =
                        rustix::fs::statat(&parent, &parts[i - 1], AtFlags::SYMLINK_NOFOLLOW)?;
                    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
                        return Err(Errno::NOTDIR);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn dir(&mut self, name: &[u8]) -> Result<(), Stop> {
        self.count()?;
        match Self::parts(name) {
            Err(reason) => self.skip(name, reason),
            Ok(parts) => {
                if self.mkdirs(&parts).is_err() {
                    self.skip(name, "cannot create the folder here");
                }
            }
        }
        Ok(())
    }

    fn file(&mut self, name: &[u8], mode: u32, content: &mut dyn Read) -> Result<(), Stop> {
        self.count()?;
        let parts = match Self::parts(name) {
            Ok(parts) => parts,
            Err(reason) => {
                self.skip(name, reason);
                return Ok(());
            }
        };
        let (file_name, folders) = parts.split_last().ok_or(Stop::Limit("empty name"))?;
        let parent = match self.mkdirs(folders).and_then(|()| self.open_dir(folders)) {
            Ok(fd) => fd,
            Err(_) => {
                self.skip(name, "its folder cannot be used (a file or a symlink is in the way)");
                return Ok(());
            }
        };
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(&parent, file_name, flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => fd,
            Err(Errno::EXIST) => {
                self.skip(name, "exists already");
                return Ok(());
            }
            Err(_) => {
                self.skip(name, "cannot be created");
                return Ok(());
            }
        };
        self.created.push((parts.clone(), false));
        let mut file = std::fs::File::from(fd);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match content.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let msg = format!("the archive is damaged: {e}");
                    return Err(Stop::Failed(OpError::Failed(ErrorKind::Invalid, msg)));
                }
            };
            self.bytes += n as u64;
            if self.bytes > self.limits.max_bytes {
                return Err(Stop::Limit(
                    "the archive expands past the size allowed (or the quota)",
                ));
            }
            file.write_all(&buf[..n]).map_err(|e| {
                Stop::Failed(OpError::Failed(ErrorKind::Internal, format!("writing: {e}")))
            })?;
        }
        let perms = if mode & 0o777 == 0 { 0o644 } else { mode & 0o777 };
        let _ = rustix::fs::fchmod(&file, Mode::from_raw_mode(perms));
        Ok(())
    }

    /// Removes what this extraction created, newest first.
    fn undo(&mut self) {
        while let Some((parts, is_dir)) = self.created.pop() {
            let Some((name, folders)) = parts.split_last() else { continue };
            if let Ok(parent) = self.open_dir(folders) {
                let flags = if is_dir { AtFlags::REMOVEDIR } else { AtFlags::empty() };
                let _ = rustix::fs::unlinkat(&parent, name.as_str(), flags);
            }
        }
    }

    fn tar(&mut self, reader: impl Read) -> Result<(), Stop> {
        let mut archive = tar::Archive::new(reader);
        let damaged = |e: io::Error| {
            Stop::Failed(OpError::Failed(
                ErrorKind::Invalid,
                format!("the archive is damaged: {e}"),
            ))
        };
        for entry in archive.entries().map_err(damaged)? {
            let mut entry = entry.map_err(damaged)?;
            let name = entry.path_bytes().into_owned();
            let kind = entry.header().entry_type();
            let mode = entry.header().mode().unwrap_or(0o644);
            if kind.is_file() || kind == tar::EntryType::Continuous {
                self.file(&name, mode, &mut entry)?;
            } else if kind.is_dir() {
                self.dir(&name)?;
            } else {
                self.count()?;
                let reason = if kind.is_symlink() {
                    "symbolic link"
                } else if kind.is_hard_link() {
                    "hard link"
                } else {
                    "device or special file"
                };
                self.skip(&name, reason);
            }
        }
        Ok(())
    }

    fn zip(&mut self, file: std::fs::File) -> Result<(), Stop> {
        let damaged = |e: zip::result::ZipError| {
            Stop::Failed(OpError::Failed(
                ErrorKind::Invalid,
                format!("the archive is damaged: {e}"),
            ))
        };
        let mut archive = zip::ZipArchive::new(file).map_err(damaged)?;
        for i in 0..archive.len() {
            let mut entry = match archive.by_index(i) {
                Ok(entry) => entry,
                Err(_) => {
                    self.count()?;
                    self.skip(format!("#{i}").as_bytes(), "unsupported or damaged entry");
                    continue;
                }
            };
            let name = entry.name().map(|n| n.into_owned().into_bytes()).unwrap_or_default();
            if entry.enclosed_name().is_none() {
                self.count()?;
                self.skip(&name, "leads outside the folder");
            } else if entry.is_symlink() {
                self.count()?;
                self.skip(&name, "symbolic link");
            } else if entry.is_dir() {
                self.dir(&name)?;
            } else if entry.is_file() {
                let mode = entry.unix_mode().unwrap_or(0o644);
                self.file(&name, mode, &mut entry)?;
            } else {
                self.count()?;
                self.skip(&name, "device or special file");
            }
        }
        Ok(())
    }
}

/// Extracts the archive at `path` into the existing folder `dest`.
pub fn extract(
    home: &Home,
    path: &str,
    dest: &str,
    quota: Option<u64>,
    mut limits: Limits,
) -> Result<serde_json::Value, OpError> {
    let format = format_of(path).ok_or_else(|| {
        OpError::Failed(
            ErrorKind::Invalid,
            "not a known archive (.zip, .tar, .tar.gz, .tgz, .tar.zst)".into(),
        )
    })?;
    let parts = ops::components(path)?;
    let archive =
        ops::beneath(home, &parts, OFlags::RDONLY | OFlags::NONBLOCK, ResolveFlags::empty())?;
    let stat = rustix::fs::fstat(&archive).map_err(|e| ops::os_error(path, e))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(OpError::Failed(ErrorKind::Invalid, format!("{path}: not a regular file")));
    }
    let dest_parts = ops::components(dest)?;
    let dest_fd =
        ops::beneath(home, &dest_parts, OFlags::PATH | OFlags::DIRECTORY, ResolveFlags::empty())?;
    if let Some(q) = quota {
        let room = q.saturating_sub(ops::usage(home)?);
        limits.max_bytes = limits.max_bytes.min(room);
    }
    let mut x = Extractor {
        dest: dest_fd,
        limits,
        entries: 0,
        bytes: 0,
        created: Vec::new(),
        skipped: Vec::new(),
    };
    let file = std::fs::File::from(archive);
    let result = match format {
        Format::Zip => x.zip(file),
        Format::Tar => x.tar(io::BufReader::new(file)),
        Format::TarGz => x.tar(flate2::read::GzDecoder::new(io::BufReader::new(file))),
        Format::TarZst => match zstd::stream::read::Decoder::new(file) {
            Ok(decoder) => x.tar(decoder),
            Err(e) => Err(Stop::Failed(OpError::Failed(ErrorKind::Invalid, e.to_string()))),
        },
    };
    match result {
        Ok(()) => Ok(json!({
            "path": format!("/{}", parts.join("/")),
            "dest": format!("/{}", dest_parts.join("/")),
            "entries": x.entries,
            "bytes": x.bytes,
            "skipped": x.skipped,
        })),
        Err(stop) => {
            x.undo();
            Err(match stop {
                Stop::Limit(why) => {
                    OpError::Failed(ErrorKind::Limit, format!("{why}; nothing was kept"))
                }
                Stop::Failed(e) => e,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let cases: &[(&str, Result<&[&str], &str>)] = &[
            ("a/b.txt", Ok(&["a", "b.txt"])),
            ("./a//b/", Ok(&["a", "b"])),
            ("../evil", Err("leads outside")),
            ("a/../../evil", Err("leads outside")),
            ("/etc/passwd", Err("absolute")),
            ("\\evil", Err("absolute")),
            ("a\\..\\evil", Err("unusable")),
            ("", Err("empty")),
        ];
        for (name, expected) in cases {
            let got = Extractor::parts(name.as_bytes());
            match (got, expected) {
                (Ok(parts), Ok(want)) => assert_eq!(parts, *want, "{name}"),
                (Err(reason), Err(want)) => assert!(reason.contains(want), "{name}: {reason}"),
                (got, _) => panic!("{name}: {got:?}"),
            }
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_of("/a/site.ZIP"), Some(Format::Zip));
        assert_eq!(format_of("b.tar.gz"), Some(Format::TarGz));
        assert_eq!(format_of("b.tgz"), Some(Format::TarGz));
        assert_eq!(format_of("b.tar.zst"), Some(Format::TarZst));
        assert_eq!(format_of("b.tar"), Some(Format::Tar));
        assert_eq!(format_of("b.rar"), None);
    }
}
