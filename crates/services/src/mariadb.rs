//! MariaDB: the panel administers it as root over its unix socket (unix_socket
//! authentication: the panel runs as OS root, so no root password exists).
//!
//! [`Admin`] knows statements, not accounts: which names belong to whom is the
//! business module's concern. Every identifier is quoted by [`crate::sql::quote`];
//! values in queries are bound parameters of prepared statements.

use std::path::PathBuf;
use std::time::Duration;

use hs_automation::{Cmd, ServiceDriver};
use hs_config::Layout;
use hs_types::{DbName, DbPrivilege, DbUser};
use mysql::prelude::Queryable;

use crate::sql::{self, Host, Ident, NativeHash};

/// MariaDB error codes the business module tells apart.
pub mod code {
    /// `CREATE DATABASE` of a database that exists.
    pub const DB_EXISTS: u16 = 1007;
    /// `CREATE USER`/`DROP USER`/`ALTER USER` failed for one of the accounts.
    pub const USER_OPERATION_FAILED: u16 = 1396;
    /// `REVOKE` of a grant that does not exist.
    pub const NO_SUCH_GRANT: u16 = 1141;
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot reach MariaDB at {socket}: {reason}")]
    Connect { socket: String, reason: String },
    #[error("MariaDB refused the statement ({code}): {message}")]
    Server { code: u16, message: String },
    #[error("MariaDB: {0}")]
    Other(String),
    #[error(transparent)]
    Unsafe(#[from] sql::Unsafe),
}

impl DbError {
    pub fn code(&self) -> Option<u16> {
        match self {
            DbError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<mysql::Error> for DbError {
    fn from(e: mysql::Error) -> DbError {
        match e {
            mysql::Error::MySqlError(e) => DbError::Server { code: e.code, message: e.message },
            other => DbError::Other(other.to_string()),
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;

#[derive(Debug, Clone)]
pub struct MariaDb {
    pub socket: PathBuf,
}

impl MariaDb {
    pub fn new(layout: &Layout) -> MariaDb {
        MariaDb { socket: layout.mysql_socket() }
    }

    /// A root session over the socket, for one operation.
    pub fn connect(&self) -> DbResult<Admin> {
        let fail =
            |reason: String| DbError::Connect { socket: self.socket.display().to_string(), reason };
        let socket = self.socket.to_str().ok_or_else(|| fail("path is not UTF-8".into()))?;
        let opts = mysql::OptsBuilder::new()
            .socket(Some(socket))
            .user(Some("root"))
            .prefer_socket(true)
            .tcp_connect_timeout(Some(Duration::from_secs(5)))
            .read_timeout(Some(Duration::from_secs(60)))
            .write_timeout(Some(Duration::from_secs(60)));
        let conn = mysql::Conn::new(opts).map_err(|e| fail(e.to_string()))?;
        Ok(Admin { conn })
    }
}

impl ServiceDriver for MariaDb {
    fn name(&self) -> &'static str {
        "mariadb"
    }

    /// The panel writes no MariaDB config; the check is that it answers.
    fn check(&self) -> Result<(), String> {
        let socket = format!("--socket={}", self.socket.display());
        let cmd = Cmd::new("mariadb-admin").map_err(|e| e.to_string())?;
        cmd.arg("--no-defaults")
            .arg(socket)
            .arg("ping")
            .run()
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Account changes take effect at once; a reload re-reads the grant tables.
    fn reload(&self) -> Result<(), String> {
        let mut admin = self.connect().map_err(|e| e.to_string())?;
        admin.run("FLUSH PRIVILEGES").map_err(|e| e.to_string())
    }
}

/// One root session.
pub struct Admin {
    conn: mysql::Conn,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Admin")
    }
}

/// `alice\_%`: a LIKE pattern for every name with `prefix` and `_`.
fn prefix_pattern(prefix: &str) -> String {
    let escaped: String = prefix
        .chars()
        .flat_map(|c| match c {
            '_' | '%' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("{escaped}\\_%")
}

impl Admin {
    /// Runs one statement built from quoted identifiers and keywords only.
    fn run(&mut self, statement: &str) -> DbResult<()> {
        tracing::debug!(statement, "mariadb");
        self.conn.query_drop(statement).map_err(DbError::from)
    }

    pub fn database_exists(&mut self, db: &DbName) -> DbResult<bool> {
        let query = "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";
        let n: Option<u64> = self.conn.exec_first(query, (db.as_str(),))?;
        Ok(n.unwrap_or(0) > 0)
    }

    /// Databases whose name starts with `prefix_`, with their size in bytes.
    pub fn databases_with_prefix(&mut self, prefix: &str) -> DbResult<Vec<(DbName, u64)>> {
        let query = "SELECT s.SCHEMA_NAME, \
                     CAST(COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0) AS UNSIGNED) \
                     FROM information_schema.SCHEMATA s \
                     LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME \
                     WHERE s.SCHEMA_NAME LIKE ? GROUP BY s.SCHEMA_NAME ORDER BY s.SCHEMA_NAME";
        let rows: Vec<(String, u64)> = self.conn.exec(query, (prefix_pattern(prefix),))?;
        // A name the panel could not have made is not reported as one of ours.
        Ok(rows.into_iter().filter_map(|(n, size)| Some((n.parse().ok()?, size))).collect())
    }

    pub fn create_database(&mut self, db: &DbName) -> DbResult<()> {
        let name = sql::quote(Ident::Database(db))?;
        self.run(&format!(
            "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
    }

    /// Drops the database and every grant that names it.
    pub fn drop_database(&mut self, db: &DbName) -> DbResult<()> {
        let name = sql::quote(Ident::Database(db))?;
        self.run(&format!("DROP DATABASE IF EXISTS {name}"))?;
        // Grants outlive a dropped database in MariaDB: a new database of the same
        // name would inherit them. The stored form escapes `_`.
        let stored = db.as_str().replace('_', "\\_");
        for (user, host) in self.grantees_of(&stored)? {
            let target = sql::quote(Ident::GrantTarget(db))?;
            let account = sql::quote(Ident::Account(&user, &host))?;
            self.revoke_quiet(&format!("REVOKE ALL PRIVILEGES ON {target} FROM {account}"))?;
        }
        Ok(())
    }

    fn grantees_of(&mut self, stored_db: &str) -> DbResult<Vec<(DbUser, Host)>> {
        let rows: Vec<(String, String)> =
            self.conn.exec("SELECT User, Host FROM mysql.db WHERE Db = ?", (stored_db,))?;
        Ok(rows
            .into_iter()
            .filter_map(|(u, h)| Some((u.parse().ok()?, Host::from_reported(&h)?)))
            .collect())
    }

    fn revoke_quiet(&mut self, statement: &str) -> DbResult<()> {
        match self.run(statement) {
            Err(e) if e.code() == Some(code::NO_SUCH_GRANT) => Ok(()),
            other => other,
        }
    }

    /// Accounts (user and host) whose user name starts with `prefix_`.
    pub fn users_with_prefix(&mut self, prefix: &str) -> DbResult<Vec<(DbUser, Host)>> {
        let query = "SELECT User, Host FROM mysql.user WHERE User LIKE ? ORDER BY User, Host";
        let rows: Vec<(String, String)> = self.conn.exec(query, (prefix_pattern(prefix),))?;
        Ok(rows
            .into_iter()
            .filter_map(|(u, h)| Some((u.parse().ok()?, Host::from_reported(&h)?)))
            .collect())
    }

    /// The hosts `user` exists for.
    pub fn user_hosts(&mut self, user: &DbUser) -> DbResult<Vec<Host>> {
        let query = "SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host";
        let rows: Vec<String> = self.conn.exec(query, (user.as_str(),))?;
        Ok(rows.iter().filter_map(|h| Host::from_reported(h)).collect())
    }

    pub fn create_user(
        &mut self,
        user: &DbUser,
        hosts: &[Host],
        hash: &NativeHash,
        locked: bool,
    ) -> DbResult<()> {
        let mut specs = Vec::new();
        for host in hosts {
            specs.push(format!("{} {}", sql::quote(Ident::Account(user, host))?, hash.clause()));
        }
        let lock = if locked { " ACCOUNT LOCK" } else { "" };
        self.run(&format!("CREATE USER {}{lock}", specs.join(", ")))
    }

    pub fn drop_user(&mut self, user: &DbUser, hosts: &[Host]) -> DbResult<()> {
        if hosts.is_empty() {
            return Ok(());
        }
        self.run(&format!("DROP USER IF EXISTS {}", sql::accounts(user, hosts)?))
    }

    pub fn set_password(
        &mut self,
        user: &DbUser,
        hosts: &[Host],
        hash: &NativeHash,
    ) -> DbResult<()> {
        for host in hosts {
            let account = sql::quote(Ident::Account(user, host))?;
            self.run(&format!("ALTER USER {account} {}", hash.clause()))?;
        }
        Ok(())
    }

    /// The stored native hash of one account, checked before it is reused.
    pub fn password_hash(&mut self, user: &DbUser, host: &Host) -> DbResult<Option<NativeHash>> {
        let query = "SELECT authentication_string FROM mysql.user WHERE User = ? AND Host = ?";
        let hash: Option<String> = self.conn.exec_first(query, (user.as_str(), host.as_str()))?;
        Ok(hash.as_deref().and_then(NativeHash::parse))
    }

    pub fn is_locked(&mut self, user: &DbUser, host: &Host) -> DbResult<bool> {
        // MariaDB 10.4+ keeps the flag in global_priv's JSON (`1` when locked).
        let query = "SELECT COALESCE(JSON_VALUE(Priv, '$.account_locked'), '0') \
                     FROM mysql.global_priv WHERE User = ? AND Host = ?";
        let flag: Option<String> = self.conn.exec_first(query, (user.as_str(), host.as_str()))?;
        Ok(matches!(flag.as_deref(), Some("1" | "true")))
    }

    pub fn grant(
        &mut self,
        user: &DbUser,
        hosts: &[Host],
        db: &DbName,
        privileges: &[DbPrivilege],
    ) -> DbResult<()> {
        let target = sql::quote(Ident::GrantTarget(db))?;
        let what = sql::privileges(privileges);
        self.run(&format!("GRANT {what} ON {target} TO {}", sql::accounts(user, hosts)?))
    }

    /// Revokes from each account; a grant that is not there is no error.
    pub fn revoke(
        &mut self,
        user: &DbUser,
        hosts: &[Host],
        db: &DbName,
        privileges: &[DbPrivilege],
    ) -> DbResult<()> {
        let target = sql::quote(Ident::GrantTarget(db))?;
        let what = sql::privileges(privileges);
        for host in hosts {
            let account = sql::quote(Ident::Account(user, host))?;
            self.revoke_quiet(&format!("REVOKE {what} ON {target} FROM {account}"))?;
        }
        Ok(())
    }

    /// The database-level grants of one account: each database with its privileges.
    pub fn grants(
        &mut self,
        user: &DbUser,
        host: &Host,
    ) -> DbResult<Vec<(DbName, Vec<DbPrivilege>)>> {
        let grantee = sql::quote(Ident::Account(user, host))?;
        let query = "SELECT TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES \
                     WHERE GRANTEE = ? ORDER BY TABLE_SCHEMA, PRIVILEGE_TYPE";
        let rows: Vec<(String, String)> = self.conn.exec(query, (grantee,))?;
        let mut grants: Vec<(DbName, Vec<DbPrivilege>)> = Vec::new();
        for (schema, privilege) in rows {
            let Ok(db) = schema.replace("\\_", "_").parse::<DbName>() else { continue };
            let Some(privilege) = DbPrivilege::from_keyword(&privilege) else { continue };
            match grants.last_mut() {
                Some((last, list)) if *last == db => list.push(privilege),
                _ => grants.push((db, vec![privilege])),
            }
        }
        Ok(grants)
    }

    /// Locks or unlocks every given account, and ends the sessions of a locked user.
    pub fn set_locked(&mut self, user: &DbUser, hosts: &[Host], locked: bool) -> DbResult<()> {
        if hosts.is_empty() {
            return Ok(());
        }
        let lock = if locked { "ACCOUNT LOCK" } else { "ACCOUNT UNLOCK" };
        self.run(&format!("ALTER USER {} {lock}", sql::accounts(user, hosts)?))?;
        if locked {
            self.kill_sessions(user)?;
        }
        Ok(())
    }

    /// Ends every open connection of `user`.
    pub fn kill_sessions(&mut self, user: &DbUser) -> DbResult<()> {
        let query = "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?";
        let ids: Vec<u64> = self.conn.exec(query, (user.as_str(),))?;
        for id in ids {
            // The session may have ended meanwhile (1094: unknown thread id).
            match self.run(&format!("KILL CONNECTION {id}")) {
                Err(e) if e.code() == Some(1094) => {}
                other => other?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_patterns_escape_wildcards() {
        assert_eq!(prefix_pattern("alice"), "alice\\_%");
        assert_eq!(prefix_pattern("a_b%"), "a\\_b\\%\\_%");
    }
}
