//! Durable file primitives: atomic replacement, `.bak` archives, advisory locks.
//!
//! Every file the panel writes goes through [`write_atomic`]: a temporary file in the
//! same directory, `fsync`, `rename`, then an `fsync` of the directory. A reader sees
//! the old content or the new, never half of either, also across a crash.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes`, atomically and durably, with the given mode.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = parent_of(path)?;
    fs::create_dir_all(dir)?;

    let mut tmp = tempfile::Builder::new()
        .prefix(".hs-tmp-")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    // The umask may have narrowed the mode given at creation.
    tmp.as_file().set_permissions(fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;

    sync_dir(dir)
}

/// Replaces `path` like [`write_atomic`], first archiving the current content as
/// `path.bak`. Returns the previous content, for a caller that may roll back.
pub fn write_keeping_backup(path: &Path, bytes: &[u8], mode: u32) -> io::Result<Option<Vec<u8>>> {
    let previous = read_if_exists(path)?;
    if let Some(old) = &previous {
        write_atomic(&backup_path(path), old, mode)?;
    }
    write_atomic(path, bytes, mode)?;
    Ok(previous)
}

/// Removes `path`, archiving its content as `path.bak`. Returns the removed content.
pub fn remove_keeping_backup(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let previous = read_if_exists(path)?;
    if previous.is_some() {
        fs::rename(path, backup_path(path))?;
        sync_dir(parent_of(path)?)?;
    }
    Ok(previous)
}

/// Puts `path` back as it was: `Some(content)` rewrites it, `None` removes it.
pub fn restore(path: &Path, previous: Option<&[u8]>, mode: u32) -> io::Result<()> {
    match previous {
        Some(bytes) => write_atomic(path, bytes, mode),
        None => remove_if_exists(path),
    }
}

/// `foo.conf` → `foo.conf.bak`.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

pub fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent_of(path)?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates `path` only if nothing is there yet: the atomic way to claim a name.
/// Returns `Ok(false)` when another writer got there first.
pub fn create_exclusive(path: &Path, bytes: &[u8], mode: u32) -> io::Result<bool> {
    fs::create_dir_all(parent_of(path)?)?;
    let opened = OpenOptions::new().write(true).create_new(true).mode(mode).open(path);
    let mut file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    };
    file.write_all(bytes)?;
    file.sync_all()?;
    sync_dir(parent_of(path)?)?;
    Ok(true)
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent_of(path: &Path) -> io::Result<&Path> {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))
}

/// An exclusive advisory lock on a lock file, released on drop.
///
/// Locks are taken on dedicated `*.lock` files, never on the data they guard, so
/// the atomic rename of the data file cannot drop a lock held on the old inode.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    pub fn acquire(path: &Path) -> io::Result<FileLock> {
        fs::create_dir_all(parent_of(path)?)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        file.lock()?;
        Ok(FileLock { file })
    }

    /// Like [`FileLock::acquire`], but `None` instead of waiting when it is held.
    pub fn try_acquire(path: &Path) -> io::Result<Option<FileLock>> {
        fs::create_dir_all(parent_of(path)?)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

impl FileLock {
    /// The inode of the locked file, to check that its path still names it.
    pub fn inode(&self) -> io::Result<u64> {
        use std::os::unix::fs::MetadataExt;
        Ok(self.file.metadata()?.ino())
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock too; unlocking first is explicit.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backup_keeps_previous_and_restore_undoes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.conf");

        assert_eq!(write_keeping_backup(&path, b"one", 0o644).unwrap(), None);
        let old = write_keeping_backup(&path, b"two", 0o644).unwrap();
        assert_eq!(old.as_deref(), Some(&b"one"[..]));
        assert_eq!(fs::read(backup_path(&path)).unwrap(), b"one");

        restore(&path, old.as_deref(), 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        restore(&path, None, 0o644).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn exclusive_create_claims_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claims/a.test");
        assert!(create_exclusive(&path, b"alice", 0o600).unwrap());
        assert!(!create_exclusive(&path, b"bob", 0o600).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"alice");
    }

    #[test]
    fn mode_is_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_atomic(&path, b"x", 0o600).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
