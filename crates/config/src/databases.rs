//! `userdata/{user}/databases.yaml`: what the panel created in MariaDB for one
//! account (HS::Database).
//!
//! MariaDB itself is the truth for what exists, its grants and its data; this
//! record says which databases and users the panel made, when, and from which
//! remote hosts each user may connect, so the host list survives and backups know
//! what to dump. Every name is parsed again on reading, and must carry the
//! account's prefix.

use hs_types::{DbHost, DbName, DbUser, Username};
use serde::{Deserialize, Serialize};

use crate::state::{STATE_VERSION, StateStore};
use crate::{StateError, fsutil, yaml};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Databases {
    pub version: u32,
    pub account: Username,
    #[serde(default)]
    pub databases: Vec<DatabaseEntry>,
    #[serde(default)]
    pub users: Vec<DbUserEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseEntry {
    pub name: DbName,
    pub created: jiff::Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbUserEntry {
    pub name: DbUser,
    /// Addresses it may connect from besides this server itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_hosts: Vec<DbHost>,
    pub created: jiff::Timestamp,
}

impl Databases {
    pub fn empty(account: &Username) -> Databases {
        Databases {
            version: STATE_VERSION,
            account: account.clone(),
            databases: Vec::new(),
            users: Vec::new(),
        }
    }

    pub fn has_database(&self, name: &DbName) -> bool {
        self.databases.iter().any(|d| &d.name == name)
    }

    pub fn user(&self, name: &DbUser) -> Option<&DbUserEntry> {
        self.users.iter().find(|u| &u.name == name)
    }
}

impl StateStore {
    /// The account's record; an empty one when it has none yet.
    pub fn databases(&self, user: &Username) -> Result<Databases, StateError> {
        let path = self.layout().databases_file(user);
        let Some(record) = yaml::read::<Databases>(&path)? else {
            return Ok(Databases::empty(user));
        };
        if record.version != STATE_VERSION {
            let reason = format!("unsupported version {}", record.version);
            return Err(StateError::corrupt(&path, reason));
        }
        let ours = &record.account == user
            && record.databases.iter().all(|d| d.name.is_owned_by(user))
            && record.users.iter().all(|u| u.name.is_owned_by(user));
        if !ours {
            return Err(StateError::corrupt(&path, "names another account's resources".into()));
        }
        Ok(record)
    }

    pub fn write_databases(&self, record: &Databases) -> Result<(), StateError> {
        yaml::write(&self.layout().databases_file(&record.account), record)
    }

    pub fn remove_databases(&self, user: &Username) -> Result<(), StateError> {
        let path = self.layout().databases_file(user);
        fsutil::remove_if_exists(&path).map_err(|e| StateError::io(&path, e))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Layout;

    #[test]
    fn round_trip_and_foreign_names_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(Layout::sandbox(dir.path()));
        let alice: Username = "alice".parse().unwrap();
        assert_eq!(store.databases(&alice).unwrap(), Databases::empty(&alice));

        let mut record = Databases::empty(&alice);
        let created = jiff::Timestamp::UNIX_EPOCH;
        record.databases.push(DatabaseEntry { name: "alice_shop".parse().unwrap(), created });
        let remote_hosts = vec!["203.0.113.7".parse().unwrap()];
        let name = "alice_app".parse().unwrap();
        record.users.push(DbUserEntry { name, remote_hosts, created });
        std::fs::create_dir_all(dir.path().join("var/hspanel/userdata/alice")).unwrap();
        store.write_databases(&record).unwrap();
        assert_eq!(store.databases(&alice).unwrap(), record);

        let path = store.layout().databases_file(&alice);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("alice_shop", "bob_shop")).unwrap();
        assert!(store.databases(&alice).is_err());
        std::fs::write(&path, text.replace("alice_shop", "alice_sh`op")).unwrap();
        assert!(store.databases(&alice).is_err());
    }
}
