//! [`AdminStore`]: the panel's administrator accounts (not Linux users), kept in
//! `<auth_dir>/admins.json` as a map from name to `{password_hash, created}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hs_config::fsutil::FileLock;
use serde::{Deserialize, Serialize};

use crate::store;
use crate::{AuthError, now};

/// Longest administrator name.
const MAX_NAME_LEN: usize = 32;

#[derive(Serialize, Deserialize)]
struct AdminRecord {
    /// Argon2id PHC string.
    password_hash: String,
    /// Unix seconds.
    created: i64,
}

/// The administrator accounts. Reads the file on every call, so several processes see one
/// another's changes; writes are serialized by a lock file and replace the file atomically.
#[derive(Debug, Clone)]
pub struct AdminStore {
    path: PathBuf,
    lock: PathBuf,
}

/// Checks an administrator name: 1 to 32 characters, a lowercase ASCII letter followed by
/// lowercase letters, digits, `_` and `-`.
fn check_name(name: &str) -> Result<(), AuthError> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
    let rest_ok =
        bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if first_ok && rest_ok && name.len() <= MAX_NAME_LEN {
        Ok(())
    } else {
        Err(AuthError::Invalid(format!(
            "invalid administrator name: use 1 to {MAX_NAME_LEN} characters, a lowercase \
             letter followed by lowercase letters, digits, '_' or '-'"
        )))
    }
}

impl AdminStore {
    pub fn open(auth_dir: &Path) -> AdminStore {
        AdminStore { path: auth_dir.join("admins.json"), lock: auth_dir.join("admins.lock") }
    }

    fn load(&self) -> Result<BTreeMap<String, AdminRecord>, AuthError> {
        Ok(store::read_json(&self.path)?.unwrap_or_default())
    }

    /// The stored password hash of administrator `name`; `None` if there is no such
    /// administrator (including for names that could never be valid).
    pub fn get_hash(&self, name: &str) -> Result<Option<String>, AuthError> {
        if check_name(name).is_err() {
            return Ok(None);
        }
        Ok(self.load()?.remove(name).map(|r| r.password_hash))
    }

    /// Creates administrator `name`, or sets a new password for it.
    pub fn set(&self, name: &str, password: &hs_types::Password) -> Result<(), AuthError> {
        check_name(name)?;
        // Hashing takes a while; do it before taking the lock.
        let hash = crate::hash_password(password)?;
        let _lock = FileLock::acquire(&self.lock).map_err(|e| AuthError::io(&self.lock, &e))?;
        let mut admins = self.load()?;
        let created = admins.get(name).map_or_else(now, |r| r.created);
        admins.insert(name.to_owned(), AdminRecord { password_hash: hash, created });
        store::write_json(&self.path, &admins)?;
        tracing::info!(admin = name, "administrator password set");
        Ok(())
    }

    /// Removes administrator `name`. Returns whether it existed.
    pub fn remove(&self, name: &str) -> Result<bool, AuthError> {
        let _lock = FileLock::acquire(&self.lock).map_err(|e| AuthError::io(&self.lock, &e))?;
        let mut admins = self.load()?;
        if admins.remove(name).is_none() {
            return Ok(false);
        }
        store::write_json(&self.path, &admins)?;
        tracing::info!(admin = name, "administrator removed");
        Ok(true)
    }

    /// The administrators' names, sorted.
    pub fn names(&self) -> Result<Vec<String>, AuthError> {
        Ok(self.load()?.into_keys().collect())
    }

    /// Whether any administrator exists. Fails closed: if the file exists but cannot be
    /// read, this says `true`, so a damaged file never reopens a first-run setup.
    pub fn exists(&self) -> bool {
        match self.load() {
            Ok(admins) => !admins.is_empty(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the administrators");
                true
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn names() {
        for (name, ok) in [
            ("admin", true),
            ("a", true),
            ("ops-team_2", true),
            (&"a".repeat(32), true),
            (&"a".repeat(33), false),
            ("", false),
            ("Admin", false),
            ("1admin", false),
            ("_admin", false),
            ("ad min", false),
            ("ad.min", false),
            ("../x", false),
            ("adminé", false),
        ] {
            assert_eq!(check_name(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn set_get_exists() {
        let dir = tempfile::tempdir().unwrap();
        let admins = AdminStore::open(dir.path());
        assert!(!admins.exists());
        assert_eq!(admins.get_hash("root").unwrap(), None);

        let pw: hs_types::Password = "Tr0ub4dor&3".parse().unwrap();
        admins.set("root", &pw).unwrap();
        assert!(admins.exists());
        let hash = admins.get_hash("root").unwrap().unwrap();
        assert!(crate::verify_password(&hash, "Tr0ub4dor&3"));
        assert_eq!(admins.get_hash("other").unwrap(), None);
        assert_eq!(admins.get_hash("../root").unwrap(), None);
        assert!(matches!(admins.set("Root", &pw), Err(AuthError::Invalid(_))));
        assert_eq!(admins.names().unwrap(), vec!["root".to_owned()]);

        let file = dir.path().join("admins.json");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!std::fs::read_to_string(&file).unwrap().contains("Tr0ub4dor"));

        assert!(admins.remove("root").unwrap());
        assert!(!admins.remove("root").unwrap());
        assert!(!admins.exists());

        // A damaged file fails closed.
        std::fs::write(&file, "{not json").unwrap();
        assert!(admins.exists());
        assert!(matches!(admins.get_hash("root"), Err(AuthError::Storage(_))));
    }
}
