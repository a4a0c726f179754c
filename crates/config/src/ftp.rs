//! HS::FTP's desired state and the Pure-FTPd passwd file rendered from it.
//!
//! `userdata/{user}/ftp.yaml` lists an account's FTP virtual users: login,
//! folder (home-relative) and password as a SHA-512 crypt hash. The server's
//! one `pureftpd.passwd` is rendered from every active account's list by
//! [`render_passwd`], a pure function, and `pure-pw mkdb` turns it into the
//! puredb that pure-ftpd reads at each login. A suspended account's users are
//! left out, and come back from this state when it is unsuspended.

use std::path::PathBuf;

use hs_types::{FilePath, FtpLogin, InvalidValue, Username};
use serde::{Deserialize, Serialize};

use crate::state::{STATE_VERSION, StateStore};
use crate::{StateError, yaml};

/// A crypt(3) hash as `openssl passwd -6` writes it: `$6$salt$hash`, only
/// `[A-Za-z0-9./$]`, so it can never break a passwd line.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CryptHash(String);

impl CryptHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CryptHash {
    type Error = InvalidValue;
    fn try_from(text: String) -> Result<Self, InvalidValue> {
        text.parse()
    }
}

impl std::str::FromStr for CryptHash {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || "./$".contains(c);
        if !text.starts_with("$6$") || text.len() > 200 || !text.chars().all(ok_char) {
            return Err(InvalidValue::new("password hash", "is not a SHA-512 crypt hash"));
        }
        Ok(CryptHash(text.to_owned()))
    }
}

impl From<CryptHash> for String {
    fn from(hash: CryptHash) -> String {
        hash.0
    }
}

/// One FTP virtual user of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtpUser {
    pub login: FtpLogin,
    /// The folder the user is confined to, relative to the account's home.
    pub folder: FilePath,
    pub hash: CryptHash,
    pub created: jiff::Timestamp,
}

/// An account's FTP users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtpTable {
    pub version: u32,
    pub username: Username,
    pub users: Vec<FtpUser>,
}

impl FtpTable {
    pub fn empty(user: &Username) -> FtpTable {
        FtpTable { version: STATE_VERSION, username: user.clone(), users: Vec::new() }
    }
}

impl StateStore {
    /// The account's FTP users; an empty table when it has never had one.
    pub fn ftp_table(&self, user: &Username) -> Result<FtpTable, StateError> {
        let path = self.layout().ftp_file(user);
        let Some(table) = yaml::read::<FtpTable>(&path)? else {
            return Ok(FtpTable::empty(user));
        };
        if table.version != STATE_VERSION {
            let reason = format!("unsupported version {}", table.version);
            return Err(StateError::corrupt(&path, reason));
        }
        if &table.username != user || table.users.iter().any(|u| !u.login.belongs_to(user)) {
            return Err(StateError::corrupt(&path, "record does not match its folder".into()));
        }
        Ok(table)
    }
}

/// One line of `pureftpd.passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub login: FtpLogin,
    pub hash: CryptHash,
    pub uid: u32,
    pub gid: u32,
    /// Absolute; pure-ftpd chroots the user into it (the `/./` suffix).
    pub dir: PathBuf,
    /// Pure-FTPd's per-user size quota in bytes, if any.
    pub quota_bytes: Option<u64>,
}

/// The passwd file, in pure-pw's format (18 `:`-separated fields). Every value
/// is a validated type or a number; a folder with `:` or a line break is
/// refused by the caller ([`dir_fits`]).
pub fn render_passwd(entries: &[PasswdEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        let quota = e.quota_bytes.map(|q| q.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "{}:{}:{}:{}::{}/./:::::::{quota}:::::\n",
            e.login,
            e.hash.as_str(),
            e.uid,
            e.gid,
            e.dir.display()
        ));
    }
    out
}

/// Whether a folder can be written into the passwd file as it is.
pub fn dir_fits(dir: &std::path::Path) -> bool {
    dir.to_str().is_some_and(|s| !s.contains(':') && !s.chars().any(char::is_control))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn hashes() {
        let cases: &[(&str, bool)] = &[
            ("$6$abc$DEF./x", true),
            ("$argon2id$v=19", false),
            ("$6$a:b", false),
            ("$6$a\nb", false),
            ("plain", false),
        ];
        for (text, ok) in cases {
            assert_eq!(text.parse::<CryptHash>().is_ok(), *ok, "{text:?}");
        }
    }

    #[test]
    fn passwd_line() {
        let entry = PasswdEntry {
            login: "alice_web".parse().unwrap(),
            hash: "$6$s$h".parse().unwrap(),
            uid: 1001,
            gid: 1002,
            dir: PathBuf::from("/home/alice/public_html"),
            quota_bytes: Some(5_242_880),
        };
        assert_eq!(
            render_passwd(std::slice::from_ref(&entry)),
            "alice_web:$6$s$h:1001:1002::/home/alice/public_html/./:::::::5242880:::::\n"
        );
        let none = PasswdEntry { quota_bytes: None, ..entry };
        assert!(render_passwd(&[none]).ends_with("/./::::::::::::\n"));
        assert!(!dir_fits(std::path::Path::new("/home/a:b")));
    }
}
