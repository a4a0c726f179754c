//! HS::Database: MariaDB databases, database users and their grants, for each
//! account.
//!
//! Names carry the account's prefix (`alice_shop`, `alice_app`); account names
//! have no `_`, so the prefix alone says whose a name is, and another account's
//! name looks exactly like a missing one. Each database user exists in MariaDB
//! once per host: this server (socket, 127.0.0.1, ::1) plus the remote addresses
//! set with [`set_remote_hosts`]; every change applies to all of them.
//!
//! State: MariaDB is the truth for what exists, the grants and the data. The
//! panel's record (`userdata/{user}/databases.yaml`) says what it created and the
//! remote hosts of each user; it is written after MariaDB accepted the change.
//! Teardown finds the account's databases and users by prefix in MariaDB itself,
//! so nothing is left behind even if the record and MariaDB ever disagree.
//!
//! FIXME: these operations are not in the intent journal. Most are one statement;
//! a process killed inside `set_remote_hosts` or between MariaDB and the record can
//! leave the record behind MariaDB (listing and teardown read MariaDB, so nothing
//! is lost or leaked, but the record's remote hosts may be stale until the next call).

use hs_config::databases::{DatabaseEntry, DbUserEntry};
use hs_config::locks;
use hs_config::state::Account;
use hs_services::mariadb::{Admin, DbError, MariaDb, code};
use hs_services::sql::{Host, NativeHash};
use hs_types::{DbHost, DbName, DbPrivilege, DbUser, Password, Username};
use serde::Serialize;

use crate::account;
use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};

/// Most remote hosts one database user may have.
pub const MAX_REMOTE_HOSTS: usize = 16;

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseView {
    pub name: String,
    pub size_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GrantView {
    pub db: String,
    /// `["ALL"]` when the user holds every privilege on the database.
    pub privileges: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DbUserView {
    pub name: String,
    pub remote_hosts: Vec<String>,
    pub grants: Vec<GrantView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabasesView {
    pub username: String,
    pub databases: Vec<DatabaseView>,
    pub users: Vec<DbUserView>,
}

impl From<DbError> for ModuleError {
    fn from(e: DbError) -> ModuleError {
        match e.code() {
            Some(code::DB_EXISTS | code::USER_OPERATION_FAILED) => {
                ModuleError::Conflict(e.to_string())
            }
            _ => match e {
                DbError::Unsafe(_) => ModuleError::Internal(e.to_string()),
                _ => ModuleError::Service(e.to_string()),
            },
        }
    }
}

fn connect(panel: &Panel) -> Result<Admin> {
    Ok(MariaDb::new(&panel.layout).connect()?)
}

/// The account, if the actor may manage it and it may change its databases now.
fn load_active(panel: &Panel, actor: &Actor, user: &Username) -> Result<Account> {
    let account = account::load_managed(panel, actor, user)?;
    if account.suspended.is_some() {
        return Err(ModuleError::Conflict(format!("account {user} is suspended")));
    }
    Ok(account)
}

fn not_found_db(user: &Username, name: &DbName) -> ModuleError {
    ModuleError::NotFound(format!("database {name} is not one of {user}'s"))
}

fn not_found_user(user: &Username, name: &DbUser) -> ModuleError {
    ModuleError::NotFound(format!("database user {name} is not one of {user}'s"))
}

fn check_prefix(user: &Username, owned: bool, what: &str) -> Result<()> {
    if owned {
        return Ok(());
    }
    Err(ModuleError::Invalid(format!("{what} of account {user} must start with {user}_")))
}

/// An existing database of `user` (by prefix, in MariaDB).
fn existing_db(admin: &mut Admin, user: &Username, name: &DbName) -> Result<()> {
    if name.is_owned_by(user) && admin.database_exists(name)? {
        return Ok(());
    }
    Err(not_found_db(user, name))
}

/// The hosts of an existing database user of `user`.
fn existing_user(admin: &mut Admin, user: &Username, name: &DbUser) -> Result<Vec<Host>> {
    if name.is_owned_by(user) {
        let hosts = admin.user_hosts(name)?;
        if !hosts.is_empty() {
            return Ok(hosts);
        }
    }
    Err(not_found_user(user, name))
}

pub fn create_db(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: DbName,
) -> Result<DatabaseView> {
    let event = serde_json::json!({ "username": user, "name": &name });
    crate::hooks::around(panel, actor, "createdb", event, || {
        create_db_now(panel, actor, user, name)
    })
}

fn create_db_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: DbName,
) -> Result<DatabaseView> {
    check_prefix(user, name.is_owned_by(user), "database names")?;
    let _lock = locks::account(&panel.layout, user)?;
    let account = load_active(panel, actor, user)?;
    let mut admin = connect(panel)?;

    let existing = admin.databases_with_prefix(user.as_str())?;
    if existing.iter().any(|(n, _)| n == &name) {
        return Err(ModuleError::Conflict(format!("database {name} exists")));
    }
    let limit = panel.store.plan(&account.plan)?.and_then(|p| p.limits.databases);
    if let Some(limit) = limit
        && existing.len() as u32 >= limit
    {
        let msg = format!("plan {} allows {limit} databases", account.plan);
        return Err(ModuleError::LimitReached(msg));
    }

    admin.create_database(&name)?;
    let mut record = panel.store.databases(user)?;
    record.databases.retain(|d| d.name != name);
    record.databases.push(DatabaseEntry { name: name.clone(), created: jiff::Timestamp::now() });
    if let Err(e) = panel.store.write_databases(&record) {
        let _ = admin.drop_database(&name);
        return Err(e.into());
    }
    tracing::info!(user = %user, db = %name, "database created");
    Ok(DatabaseView { name: name.into_string(), size_bytes: 0 })
}

/// Drops the database with its data, and every grant on it.
pub fn delete_db(panel: &Panel, actor: &Actor, user: &Username, name: &DbName) -> Result<()> {
    let event = serde_json::json!({ "username": user, "name": name });
    crate::hooks::around(panel, actor, "deletedb", event, || {
        delete_db_now(panel, actor, user, name)
    })
}

fn delete_db_now(panel: &Panel, actor: &Actor, user: &Username, name: &DbName) -> Result<()> {
    let _lock = locks::account(&panel.layout, user)?;
    load_active(panel, actor, user)?;
    let mut admin = connect(panel)?;
    existing_db(&mut admin, user, name)?;

    admin.drop_database(name)?;
    let mut record = panel.store.databases(user)?;
    record.databases.retain(|d| &d.name != name);
    panel.store.write_databases(&record)?;
    tracing::info!(user = %user, db = %name, "database dropped");
    Ok(())
}

pub fn create_user(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: DbUser,
    password: &Password,
) -> Result<DbUserView> {
    let event = serde_json::json!({ "username": user, "name": &name });
    crate::hooks::around(panel, actor, "createdbuser", event, || {
        create_user_now(panel, actor, user, name, password)
    })
}

fn create_user_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: DbUser,
    password: &Password,
) -> Result<DbUserView> {
    check_prefix(user, name.is_owned_by(user), "database user names")?;
    password.check_not_containing(name.as_str())?;
    let _lock = locks::account(&panel.layout, user)?;
    load_active(panel, actor, user)?;
    let mut admin = connect(panel)?;
    if !admin.user_hosts(&name)?.is_empty() {
        return Err(ModuleError::Conflict(format!("database user {name} exists")));
    }

    let hash = NativeHash::of(password);
    if let Err(e) = admin.create_user(&name, &Host::LOCAL, &hash, false) {
        // CREATE USER of several accounts may have made some before failing.
        let _ = admin.drop_user(&name, &Host::LOCAL);
        return Err(e.into());
    }
    let mut record = panel.store.databases(user)?;
    record.users.retain(|u| u.name != name);
    let entry = DbUserEntry {
        name: name.clone(),
        remote_hosts: Vec::new(),
        created: jiff::Timestamp::now(),
    };
    record.users.push(entry);
    if let Err(e) = panel.store.write_databases(&record) {
        let _ = admin.drop_user(&name, &Host::LOCAL);
        return Err(e.into());
    }
    tracing::info!(user = %user, db_user = %name, "database user created");
    Ok(DbUserView { name: name.into_string(), remote_hosts: Vec::new(), grants: Vec::new() })
}

pub fn delete_user(panel: &Panel, actor: &Actor, user: &Username, name: &DbUser) -> Result<()> {
    let event = serde_json::json!({ "username": user, "name": name });
    crate::hooks::around(panel, actor, "deletedbuser", event, || {
        delete_user_now(panel, actor, user, name)
    })
}

fn delete_user_now(panel: &Panel, actor: &Actor, user: &Username, name: &DbUser) -> Result<()> {
    let _lock = locks::account(&panel.layout, user)?;
    load_active(panel, actor, user)?;
    let mut admin = connect(panel)?;
    let hosts = existing_user(&mut admin, user, name)?;

    admin.kill_sessions(name)?;
    admin.drop_user(name, &hosts)?;
    let mut record = panel.store.databases(user)?;
    record.users.retain(|u| &u.name != name);
    panel.store.write_databases(&record)?;
    tracing::info!(user = %user, db_user = %name, "database user dropped");
    Ok(())
}

pub fn change_password(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DbUser,
    password: &Password,
) -> Result<()> {
    let event = serde_json::json!({ "username": user, "name": name });
    crate::hooks::around(panel, actor, "passwddbuser", event, || {
        change_password_now(panel, actor, user, name, password)
    })
}

fn change_password_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DbUser,
    password: &Password,
) -> Result<()> {
    password.check_not_containing(name.as_str())?;
    let _lock = locks::account(&panel.layout, user)?;
    load_active(panel, actor, user)?;
    let mut admin = connect(panel)?;
    let hosts = existing_user(&mut admin, user, name)?;
    admin.set_password(name, &hosts, &NativeHash::of(password))?;
    tracing::info!(user = %user, db_user = %name, "database password changed");
    Ok(())
}

/// Adds `privileges` (or ALL) on one of the account's databases to one of its users.
pub fn grant(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DbUser,
    db: &DbName,
    privileges: &[DbPrivilege],
) -> Result<DbUserView> {
    let event =
        serde_json::json!({ "username": user, "user": name, "db": db, "privileges": privileges });
    crate::hooks::around(panel, actor, "grantdb", event, || {
        grant_now(panel, actor, user, name, db, privileges)
    })
}

fn grant_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DbUser,
    db: &DbName,
    privileges: &[DbPrivilege],
) -> Result<DbUserView> {
    change_grant(panel, actor, user, name, db, privileges, true)
}

/// Takes `privileges` (or ALL) on one of the account's databases from one of its users.
pub fn revoke(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DbUser,
    db: &DbName,
    privileges: &[DbPrivilege],
) -> Result<DbUserView> {
    let event =
        serde_json::json!({ "username": user, "user": name, "db": db, "privileges": privileges });
    crate::hooks::around(panel, actor, "revokedb", event, || {
        revoke_now(panel, actor, user, name, db, privileges)
    })
}

fn revoke_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DbUser,
    db: &DbName,
    privileges: &[DbPrivilege],
) -> Result<DbUserView> {
    change_grant(panel, actor, user, name, db, privileges, false)
}

fn change_grant(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DbUser,
    db: &DbName,
    privileges: &[DbPrivilege],
    add: bool,
) -> Result<DbUserView> {
    if privileges.is_empty() {
        return Err(ModuleError::Invalid("privileges must list at least one, or ALL".into()));
    }
    let _lock = locks::account(&panel.layout, user)?;
    load_active(panel, actor, user)?;
    let mut admin = connect(panel)?;
    let hosts = existing_user(&mut admin, user, name)?;
    existing_db(&mut admin, user, db)?;

    if add {
        admin.grant(name, &hosts, db, privileges)?;
    } else {
        admin.revoke(name, &hosts, db, privileges)?;
    }
    tracing::info!(user = %user, db_user = %name, db = %db, add, "grants changed");
    let record = panel.store.databases(user)?;
    user_view(&mut admin, &record, name, &hosts)
}

fn user_view(
    admin: &mut Admin,
    record: &hs_config::databases::Databases,
    name: &DbUser,
    hosts: &[Host],
) -> Result<DbUserView> {
    let mut remote: Vec<String> = hosts
        .iter()
        .filter(|h| matches!(h, Host::Remote(_)))
        .map(|h| h.as_str().to_string())
        .collect();
    remote.sort();
    if remote.is_empty() {
        // Hosts the record knows but MariaDB lacks would show up here after a crash.
        if let Some(entry) = record.user(name) {
            remote = entry.remote_hosts.iter().map(|h| h.to_string()).collect();
        }
    }
    let grants = admin
        .grants(name, &Host::Localhost)?
        .into_iter()
        .map(|(db, privileges)| {
            let all = DbPrivilege::every().all(|p| privileges.contains(&p));
            let privileges = if all {
                vec!["ALL".to_string()]
            } else {
                privileges.iter().map(|p| p.to_string()).collect()
            };
            GrantView { db: db.into_string(), privileges }
        })
        .collect();
    Ok(DbUserView { name: name.to_string(), remote_hosts: remote, grants })
}

/// The account's databases with their size, and its users with their grants.
pub fn list(panel: &Panel, actor: &Actor, user: &Username) -> Result<DatabasesView> {
    account::load_managed(panel, actor, user)?;
    let record = panel.store.databases(user)?;
    let mut admin = connect(panel)?;

    let databases = admin
        .databases_with_prefix(user.as_str())?
        .into_iter()
        .map(|(name, size_bytes)| DatabaseView { name: name.into_string(), size_bytes })
        .collect();
    let mut users = Vec::new();
    for (name, hosts) in accounts_by_user(&mut admin, user)? {
        users.push(user_view(&mut admin, &record, &name, &hosts)?);
    }
    Ok(DatabasesView { username: user.to_string(), databases, users })
}

/// Replaces the remote addresses a database user may connect from. New accounts
/// get the user's password hash, lock state and grants; dropped ones go.
pub fn set_remote_hosts(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DbUser,
    hosts: Vec<DbHost>,
) -> Result<DbUserView> {
    let event = serde_json::json!({ "username": user, "name": name, "hosts": &hosts });
    crate::hooks::around(panel, actor, "setdbremotehosts", event, || {
        set_remote_hosts_now(panel, actor, user, name, hosts)
    })
}

fn set_remote_hosts_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DbUser,
    hosts: Vec<DbHost>,
) -> Result<DbUserView> {
    let mut wanted: Vec<DbHost> = hosts;
    wanted.sort();
    wanted.dedup();
    if wanted.len() > MAX_REMOTE_HOSTS {
        let msg = format!("a database user may have at most {MAX_REMOTE_HOSTS} remote hosts");
        return Err(ModuleError::Invalid(msg));
    }
    let wanted: Vec<Host> = wanted.into_iter().map(Host::Remote).collect();
    let _lock = locks::account(&panel.layout, user)?;
    load_active(panel, actor, user)?;
    let mut admin = connect(panel)?;
    let current = existing_user(&mut admin, user, name)?;

    let is_remote = |h: &&Host| matches!(h, Host::Remote(_));
    let removed: Vec<Host> =
        current.iter().filter(is_remote).filter(|h| !wanted.contains(h)).cloned().collect();
    let added: Vec<Host> = wanted.iter().filter(|h| !current.contains(h)).cloned().collect();

    if !added.is_empty() {
        let hash = admin.password_hash(name, &Host::Localhost)?.ok_or_else(|| {
            ModuleError::Internal(format!("{name} has no mysql_native_password hash to copy"))
        })?;
        let locked = admin.is_locked(name, &Host::Localhost)?;
        let grants = admin.grants(name, &Host::Localhost)?;
        let copied = (|| -> Result<()> {
            admin.create_user(name, &added, &hash, locked)?;
            for (db, privileges) in &grants {
                admin.grant(name, &added, db, privileges)?;
            }
            Ok(())
        })();
        if let Err(e) = copied {
            let _ = admin.drop_user(name, &added);
            return Err(e);
        }
    }
    admin.drop_user(name, &removed)?;

    let mut record = panel.store.databases(user)?;
    let remote_hosts: Vec<DbHost> = wanted
        .iter()
        .filter_map(|h| match h {
            Host::Remote(ip) => Some(ip.clone()),
            _ => None,
        })
        .collect();
    match record.users.iter_mut().find(|u| &u.name == name) {
        Some(entry) => entry.remote_hosts = remote_hosts,
        None => record.users.push(DbUserEntry {
            name: name.clone(),
            remote_hosts,
            created: jiff::Timestamp::now(),
        }),
    }
    panel.store.write_databases(&record)?;
    let hosts = admin.user_hosts(name)?;
    tracing::info!(user = %user, db_user = %name, "remote hosts set");
    user_view(&mut admin, &record, name, &hosts)
}

/// Refuses a plan whose `databases` limit the account's databases already exceed.
pub fn check_plan_fits(
    panel: &Panel,
    account: &Account,
    plan: &hs_config::state::Plan,
) -> Result<()> {
    let Some(limit) = plan.limits.databases else { return Ok(()) };
    let Some(mut admin) = maybe_connect(panel)? else { return Ok(()) };
    let used = admin.databases_with_prefix(account.username.as_str())?.len() as u32;
    if used > limit {
        let msg =
            format!("plan {} allows {limit} databases; {} has {used}", plan.name, account.username);
        return Err(ModuleError::LimitReached(msg));
    }
    Ok(())
}

/// The account's databases and their sizes (information_schema), for HS::Monitor's
/// usage. No MariaDB socket: none.
pub fn sizes(panel: &Panel, user: &Username) -> Result<Vec<(String, u64)>> {
    let Some(mut admin) = maybe_connect(panel)? else { return Ok(Vec::new()) };
    let list = admin.databases_with_prefix(user.as_str())?;
    Ok(list.into_iter().map(|(name, size)| (name.into_string(), size)).collect())
}

/// A server without MariaDB (no socket) has nothing of the account's to change.
fn maybe_connect(panel: &Panel) -> Result<Option<Admin>> {
    if !panel.layout.mysql_socket().exists() {
        tracing::warn!("no MariaDB socket; skipping the account's databases");
        return Ok(None);
    }
    connect(panel).map(Some)
}

/// Account termination: drops every database and database user with the
/// account's prefix, found in MariaDB itself. Idempotent.
pub fn drop_all(panel: &Panel, user: &Username) -> Result<()> {
    let Some(mut admin) = maybe_connect(panel)? else { return Ok(()) };
    for (name, _) in admin.databases_with_prefix(user.as_str())? {
        admin.drop_database(&name)?;
    }
    for (name, hosts) in accounts_by_user(&mut admin, user)? {
        admin.kill_sessions(&name)?;
        admin.drop_user(&name, &hosts)?;
    }
    panel.store.remove_databases(user)?;
    Ok(())
}

/// Account suspension: locks (or unlocks) every database user of the account
/// and ends their open sessions. Idempotent.
pub fn set_locked(panel: &Panel, user: &Username, locked: bool) -> Result<()> {
    let Some(mut admin) = maybe_connect(panel)? else { return Ok(()) };
    for (name, hosts) in accounts_by_user(&mut admin, user)? {
        admin.set_locked(&name, &hosts, locked)?;
    }
    Ok(())
}

fn accounts_by_user(admin: &mut Admin, user: &Username) -> Result<Vec<(DbUser, Vec<Host>)>> {
    let mut by_user: Vec<(DbUser, Vec<Host>)> = Vec::new();
    for (name, host) in admin.users_with_prefix(user.as_str())? {
        match by_user.last_mut() {
            Some((last, hosts)) if *last == name => hosts.push(host),
            _ => by_user.push((name, vec![host])),
        }
    }
    Ok(by_user)
}
