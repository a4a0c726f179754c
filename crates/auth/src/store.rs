//! Small file helpers shared by sessions, tokens and administrators: JSON records written
//! through `hs_config::fsutil` (atomic or exclusive, fsync, mode 0600), random ids, and
//! the listing of a record directory.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hs_config::fsutil;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::AuthError;

/// Mode of every file this crate writes.
pub(crate) const MODE: u32 = 0o600;

/// `n` random bytes from the operating system, as lowercase hex.
pub(crate) fn random_hex(n: usize) -> Result<String, AuthError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::Storage(format!("no randomness from the system: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Whether `s` is exactly `len` lowercase hex digits (safe as a file name).
pub(crate) fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Reads and parses a JSON record; `Ok(None)` if the file does not exist.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, AuthError> {
    let Some(bytes) = fsutil::read_if_exists(path).map_err(|e| AuthError::io(path, &e))? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| AuthError::corrupt(path, e))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, AuthError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| AuthError::Storage(format!("cannot encode a record: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Replaces `path` with the JSON of `value`, atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), AuthError> {
    let bytes = encode(value)?;
    fsutil::write_atomic(path, &bytes, MODE).map_err(|e| AuthError::io(path, &e))
}

/// Creates `path` holding the JSON of `value`; `Ok(false)` if it already exists.
pub(crate) fn create_json<T: Serialize>(path: &Path, value: &T) -> Result<bool, AuthError> {
    let bytes = encode(value)?;
    fsutil::create_exclusive(path, &bytes, MODE).map_err(|e| AuthError::io(path, &e))
}

pub(crate) fn remove(path: &Path) -> Result<(), AuthError> {
    fsutil::remove_if_exists(path).map_err(|e| AuthError::io(path, &e))
}

/// The records of `dir` named `{id}.json` with `id` made of `id_len` hex digits, as
/// `(id, path)`. Anything else (temporary files, backups) is skipped. A missing
/// directory has no records.
pub(crate) fn list_records(dir: &Path, id_len: usize) -> Result<Vec<(String, PathBuf)>, AuthError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuthError::io(dir, &e)),
    };
    let mut records = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| AuthError::io(dir, &e))?;
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        if is_hex(id, id_len) {
            records.push((id.to_owned(), entry.path()));
        }
    }
    Ok(records)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn hex_check() {
        for (s, len, want) in [
            ("0123456789abcdef", 16, true),
            ("0123456789ABCDEF", 16, false),
            ("0123456789abcde", 16, false),
            ("../../etc/passwd", 16, false),
            ("", 0, true),
        ] {
            assert_eq!(is_hex(s, len), want, "{s:?}");
        }
        let id = random_hex(16).unwrap();
        assert!(is_hex(&id, 32));
        assert_ne!(id, random_hex(16).unwrap());
    }

    #[test]
    fn records_roundtrip_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r/0123456789abcdef.json");
        assert!(create_json(&path, &vec![1, 2]).unwrap());
        assert!(!create_json(&path, &vec![3]).unwrap());
        assert_eq!(read_json::<Vec<i32>>(&path).unwrap(), Some(vec![1, 2]));
        fs::write(dir.path().join("r/junk.json"), "x").unwrap();
        fs::write(dir.path().join("r/.hs-tmp-abc"), "x").unwrap();
        let listed = list_records(&dir.path().join("r"), 16).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0, "0123456789abcdef");
        assert!(list_records(&dir.path().join("none"), 16).unwrap().is_empty());

        write_json(&path, &vec![7]).unwrap();
        assert_eq!(read_json::<Vec<i32>>(&path).unwrap(), Some(vec![7]));
        fs::write(&path, "{").unwrap();
        assert!(matches!(read_json::<Vec<i32>>(&path), Err(AuthError::Storage(_))));
        remove(&path).unwrap();
        assert_eq!(read_json::<Vec<i32>>(&path).unwrap(), None);
    }
}
