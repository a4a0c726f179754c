//! The one audited place where a name becomes MariaDB SQL text.
//!
//! Database names, user names and hosts cannot be bound parameters, so they are
//! spliced, but only here, only from validated types ([`DbName`], [`DbUser`],
//! [`Host`]), and only after a second check of every character against the same
//! narrow alphabet: lowercase letters, digits, `_` (names); digits, hex letters,
//! `.`, `:` and the word `localhost` (hosts). Nothing else can reach SQL text, so
//! no escaping rule of MariaDB (backslashes, `NO_BACKSLASH_ESCAPES`, charsets)
//! matters. In `GRANT ... ON db.*` a `_` is a wildcard, so it is escaped there.
//!
//! Passwords never reach SQL text. MariaDB 10.11 refuses a `?` placeholder in
//! `CREATE USER ... IDENTIFIED BY ?`, `PASSWORD(?)` and `SET PASSWORD` (verified:
//! syntax error 1064 at prepare time), so the panel computes the
//! `mysql_native_password` hash itself and sends `IDENTIFIED BY PASSWORD '*HEX'`:
//! only `*` and 40 uppercase hex digits are ever spliced.

use hs_types::{DbHost, DbName, DbPrivilege, DbUser, Password};
use sha1::{Digest, Sha1};

/// The host part of a MariaDB account the panel creates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Host {
    /// Connections through the unix socket.
    Localhost,
    /// TCP from this server over IPv4 (`skip-name-resolve` keeps it apart).
    Loopback4,
    /// TCP from this server over IPv6.
    Loopback6,
    /// One remote address chosen by the account holder.
    Remote(DbHost),
}

impl Host {
    /// The hosts every database user has: this server, by socket and by TCP.
    pub const LOCAL: [Host; 3] = [Host::Localhost, Host::Loopback4, Host::Loopback6];

    pub fn as_str(&self) -> &str {
        match self {
            Host::Localhost => "localhost",
            Host::Loopback4 => "127.0.0.1",
            Host::Loopback6 => "::1",
            Host::Remote(ip) => ip.as_str(),
        }
    }

    /// The host as MariaDB reports it back, if it is one the panel makes.
    pub fn from_reported(text: &str) -> Option<Host> {
        match text {
            "localhost" => Some(Host::Localhost),
            "127.0.0.1" => Some(Host::Loopback4),
            "::1" => Some(Host::Loopback6),
            other => other.parse().ok().map(Host::Remote),
        }
    }
}

/// A name that fails the second check: a bug upstream, never spliced.
#[derive(Debug, thiserror::Error)]
#[error("refusing to put {0} into SQL")]
pub struct Unsafe(&'static str);

fn name_is_plain(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn host_is_plain(text: &str) -> bool {
    text == "localhost"
        || (!text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit() || b"abcdef.:".contains(&b)))
}

/// What is being quoted, and in which position of a statement.
#[derive(Debug, Clone, Copy)]
pub enum Ident<'a> {
    /// A database as an object: `` `alice_shop` ``.
    Database(&'a DbName),
    /// A database in a grant: `` `alice\_shop`.* ``, where `_` would be a wildcard.
    GrantTarget(&'a DbName),
    /// An account: `'alice_app'@'127.0.0.1'`.
    Account(&'a DbUser, &'a Host),
}

/// THE quoting function. Every identifier in every statement the panel sends
/// goes through here.
pub fn quote(ident: Ident<'_>) -> Result<String, Unsafe> {
    match ident {
        Ident::Database(db) => {
            if !name_is_plain(db.as_str()) {
                return Err(Unsafe("a database name"));
            }
            Ok(format!("`{}`", db.as_str()))
        }
        Ident::GrantTarget(db) => {
            if !name_is_plain(db.as_str()) {
                return Err(Unsafe("a database name"));
            }
            Ok(format!("`{}`.*", db.as_str().replace('_', "\\_")))
        }
        Ident::Account(user, host) => {
            if !name_is_plain(user.as_str()) {
                return Err(Unsafe("a user name"));
            }
            if !host_is_plain(host.as_str()) {
                return Err(Unsafe("a host"));
            }
            Ok(format!("'{}'@'{}'", user.as_str(), host.as_str()))
        }
    }
}

/// A list of accounts of one user, `'u'@'h1', 'u'@'h2'`.
pub fn accounts(user: &DbUser, hosts: &[Host]) -> Result<String, Unsafe> {
    let quoted: Result<Vec<String>, Unsafe> =
        hosts.iter().map(|h| quote(Ident::Account(user, h))).collect();
    Ok(quoted?.join(", "))
}

/// The privileges of a GRANT or REVOKE, from the closed keyword list.
pub fn privileges(list: &[DbPrivilege]) -> String {
    if list.contains(&DbPrivilege::All) {
        return DbPrivilege::All.keyword().to_string();
    }
    let words: Vec<&str> = list.iter().map(|p| p.keyword()).collect();
    words.join(", ")
}

/// A `mysql_native_password` hash: `*` and 40 uppercase hex digits. The only
/// password-derived text that ever reaches SQL.
#[derive(Clone, PartialEq, Eq)]
pub struct NativeHash(String);

impl std::fmt::Debug for NativeHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NativeHash(<redacted>)")
    }
}

impl NativeHash {
    /// `'*' + upper(hex(sha1(sha1(password))))`, over the password's UTF-8 bytes
    /// (what the `mariadb` client sends), equal to MariaDB's `PASSWORD()`.
    pub fn of(password: &Password) -> NativeHash {
        let inner = Sha1::digest(password.expose().as_bytes());
        let outer = Sha1::digest(inner);
        let hex: String = outer.iter().map(|b| format!("{b:02X}")).collect();
        NativeHash(format!("*{hex}"))
    }

    /// A hash read back from MariaDB, checked before it is ever spliced again.
    pub fn parse(text: &str) -> Option<NativeHash> {
        let hex = text.strip_prefix('*')?;
        let ok = hex.len() == 40
            && hex.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
        ok.then(|| NativeHash(text.to_string()))
    }

    /// The hash itself, for a backup of the account (HS::Backup).
    pub fn as_text(&self) -> &str {
        &self.0
    }

    /// `IDENTIFIED BY PASSWORD '*HEX'`.
    pub fn clause(&self) -> String {
        format!("IDENTIFIED BY PASSWORD '{}'", self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn quoting_table() {
        let db: DbName = "alice_my_shop".parse().unwrap();
        let user: DbUser = "alice_app".parse().unwrap();
        let remote = Host::Remote("2001:db8::7".parse().unwrap());
        let cases = [
            (Ident::Database(&db), "`alice_my_shop`"),
            (Ident::GrantTarget(&db), "`alice\\_my\\_shop`.*"),
            (Ident::Account(&user, &Host::Localhost), "'alice_app'@'localhost'"),
            (Ident::Account(&user, &Host::Loopback4), "'alice_app'@'127.0.0.1'"),
            (Ident::Account(&user, &Host::Loopback6), "'alice_app'@'::1'"),
            (Ident::Account(&user, &remote), "'alice_app'@'2001:db8::7'"),
        ];
        for (ident, want) in cases {
            assert_eq!(quote(ident).unwrap(), want);
        }
        assert_eq!(
            accounts(&user, &Host::LOCAL).unwrap(),
            "'alice_app'@'localhost', 'alice_app'@'127.0.0.1', 'alice_app'@'::1'"
        );
    }

    #[test]
    fn the_second_check_refuses_what_the_types_refuse() {
        for bad in ["a`b", "a'b", "a\\b", "a%b", "a b", "A", "ä", "", "a;b", "a\"b"] {
            assert!(!name_is_plain(bad), "{bad:?}");
        }
        for bad in ["%", "1.2.3.%", "a'b", "x.example", "::1'", ""] {
            assert!(!host_is_plain(bad), "{bad:?}");
        }
        assert!(host_is_plain("fe80::1") && host_is_plain("10.0.0.1"));
    }

    #[test]
    fn privilege_lists() {
        use DbPrivilege as P;
        assert_eq!(privileges(&[P::Select]), "SELECT");
        assert_eq!(privileges(&[P::Select, P::LockTables]), "SELECT, LOCK TABLES");
        assert_eq!(privileges(&[P::Select, P::All]), "ALL PRIVILEGES");
    }

    #[test]
    fn native_hash_matches_mariadb_password_function() {
        // Expected values printed by MariaDB 10.11's own `SELECT PASSWORD('...')`.
        let cases = [
            ("Tr0ub4dor&3", "*9891EB673803707448795EFFAB876462FD714285"),
            ("Ab1'\"`\\%é; DROP DATABASE x; --", "*40EF946AFB04E645D21DE73E550B8507170A4D42"),
        ];
        for (pw, want) in cases {
            let hash = NativeHash::of(&pw.parse().unwrap());
            assert_eq!(hash.clause(), format!("IDENTIFIED BY PASSWORD '{want}'"), "{pw}");
            assert_eq!(NativeHash::parse(want), Some(hash));
        }
        assert!(NativeHash::parse("*588b5369032fab7cad0b0ad24e1953e2e25d4493").is_none());
        assert!(NativeHash::parse("*588B5369032FAB7CAD0B0AD24E1953E2E25D449'").is_none());
        assert!(NativeHash::parse("").is_none());
        let hash = NativeHash::of(&"Tr0ub4dor&3".parse().unwrap());
        assert_eq!(format!("{hash:?}"), "NativeHash(<redacted>)");
    }
}
