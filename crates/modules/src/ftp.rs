//! HS::FTP: an account's FTP virtual users (create, delete, change password,
//! list), served by Pure-FTPd.
//!
//! A login is `{account}_{name}` ([`FtpLogin`]); it acts as the account's
//! own Linux user (uid/gid) and is chrooted into the account's home or a
//! folder in it, created (through the privilege helper, as the user) when
//! missing. The users live in `userdata/{user}/ftp.yaml` with SHA-512 crypt
//! hashes; the server's one puredb is rebuilt from every active account's
//! state after each change ([`rebuild`]), so a suspended account's users are
//! simply left out and come back on unsuspension, and a terminated account's
//! go with its state.

use std::path::Path;

use hs_config::ftp::{FtpTable, FtpUser, PasswdEntry, dir_fits, render_passwd};
use hs_config::state::Account;
use hs_config::{fsutil, locks, yaml};
use hs_services::ftp::PureFtpd;
use hs_types::{FilePath, FtpLogin, Password, Username};
use serde::Serialize;

use crate::account;
use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};

/// A hard cap per account, so the passwd file stays small.
pub const MAX_USERS: usize = 100;

/// An FTP user as the API shows it (never the hash).
#[derive(Debug, Clone, Serialize)]
pub struct FtpUserView {
    pub login: String,
    /// Home-relative, `/` for the home itself.
    pub folder: String,
    pub created: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FtpView {
    pub username: String,
    /// A suspended account's users are kept but cannot log in.
    pub suspended: bool,
    pub users: Vec<FtpUserView>,
}

pub fn list(panel: &Panel, actor: &Actor, user: &Username) -> Result<FtpView> {
    let account = account::load_managed(panel, actor, user)?;
    let table = panel.store.ftp_table(user)?;
    Ok(FtpView {
        username: user.to_string(),
        suspended: account.suspended.is_some(),
        users: table.users.iter().map(view).collect(),
    })
}

/// Creates `login` confined to `folder` (created if missing).
pub fn create(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    login: FtpLogin,
    folder: FilePath,
    password: Password,
    op_id: &str,
) -> Result<FtpUserView> {
    let event = serde_json::json!({ "username": user, "login": &login, "folder": &folder });
    crate::hooks::around(panel, actor, "addftp", event, || {
        create_now(panel, actor, user, login, folder, password, op_id)
    })
}

fn create_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    login: FtpLogin,
    folder: FilePath,
    password: Password,
    op_id: &str,
) -> Result<FtpUserView> {
    if !login.belongs_to(user) {
        return Err(ModuleError::Invalid(format!(
            "an FTP login of {user} must start with {user}_"
        )));
    }
    password.check_not_containing(login.as_str())?;
    let hash = PureFtpd::hash(&password).map_err(ModuleError::Service)?;
    let created = change(panel, actor, user, |account, table| {
        if table.users.iter().any(|u| u.login == login) {
            return Err(ModuleError::Conflict(format!("FTP login {login} exists")));
        }
        if table.users.len() >= MAX_USERS {
            return Err(ModuleError::LimitReached(format!(
                "an account has at most {MAX_USERS} FTP users"
            )));
        }
        let dir = panel.layout.home(user).join(folder.as_str().trim_start_matches('/'));
        if !dir_fits(&dir) {
            return Err(ModuleError::Invalid("the folder must not contain `:`".into()));
        }
        ensure_folder(panel, actor, account, &folder, op_id)?;
        let entry = FtpUser { login: login.clone(), folder, hash, created: jiff::Timestamp::now() };
        table.users.push(entry.clone());
        Ok(entry)
    })?;
    tracing::info!(user = %user, login = %login, op_id, "FTP user created");
    Ok(view(&created))
}

pub fn delete(panel: &Panel, actor: &Actor, user: &Username, login: &FtpLogin) -> Result<()> {
    let event = serde_json::json!({ "username": user, "login": login });
    crate::hooks::around(panel, actor, "delftp", event, || delete_now(panel, actor, user, login))
}

fn delete_now(panel: &Panel, actor: &Actor, user: &Username, login: &FtpLogin) -> Result<()> {
    change(panel, actor, user, |_, table| {
        let before = table.users.len();
        table.users.retain(|u| &u.login != login);
        if table.users.len() == before {
            return Err(missing(user, login));
        }
        Ok(())
    })?;
    tracing::info!(user = %user, login = %login, "FTP user deleted");
    Ok(())
}

pub fn change_password(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    login: &FtpLogin,
    password: Password,
) -> Result<()> {
    let event = serde_json::json!({ "username": user, "login": login });
    crate::hooks::around(panel, actor, "passwdftp", event, || {
        change_password_now(panel, actor, user, login, password)
    })
}

fn change_password_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    login: &FtpLogin,
    password: Password,
) -> Result<()> {
    password.check_not_containing(login.as_str())?;
    let hash = PureFtpd::hash(&password).map_err(ModuleError::Service)?;
    change(panel, actor, user, |_, table| {
        let entry = table
            .users
            .iter_mut()
            .find(|u| &u.login == login)
            .ok_or_else(|| missing(user, login))?;
        entry.hash = hash;
        Ok(())
    })?;
    tracing::info!(user = %user, login = %login, "FTP password changed");
    Ok(())
}

/// Rebuilds the puredb from every active account's state. Suspension,
/// unsuspension and termination call it after changing the account.
pub fn rebuild(panel: &Panel) -> Result<()> {
    let _lock = locks::service(&panel.layout, "pure-ftpd")?;
    let mut entries = Vec::new();
    for account in panel.store.accounts()? {
        if account.suspended.is_some() {
            continue;
        }
        let quota_bytes = panel
            .store
            .plan(&account.plan)?
            .and_then(|p| p.limits.disk_mb)
            .map(|mb| mb.saturating_mul(1024 * 1024));
        for u in panel.store.ftp_table(&account.username)?.users {
            let dir = panel
                .layout
                .home(&account.username)
                .join(u.folder.as_str().trim_start_matches('/'));
            entries.push(PasswdEntry {
                login: u.login,
                hash: u.hash,
                uid: account.uid,
                gid: account.gid,
                dir,
                quota_bytes,
            });
        }
    }
    PureFtpd::new(&panel.layout)
        .install(&render_passwd(&entries))
        .map_err(|e| ModuleError::Service(format!("pure-ftpd did not take the users: {e}")))
}

/// Termination: drops the account's FTP users, then rebuilds the puredb.
pub fn remove_account(panel: &Panel, user: &Username) -> Result<()> {
    fsutil::remove_if_exists(&panel.layout.ftp_file(user)).map_err(ModuleError::internal)?;
    rebuild(panel)
}

/// Read-modify-write under the account lock; the puredb is rebuilt and, if
/// pure-pw refuses, the state is put back.
fn change<T>(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    edit: impl FnOnce(&Account, &mut FtpTable) -> Result<T>,
) -> Result<T> {
    let _lock = locks::account(&panel.layout, user)?;
    let account = account::load_managed(panel, actor, user)?;
    let mut table = panel.store.ftp_table(user)?;
    let out = edit(&account, &mut table)?;

    let path = panel.layout.ftp_file(user);
    let text = yaml::to_string(&table)?;
    let previous = fsutil::write_keeping_backup(&path, text.as_bytes(), 0o600)
        .map_err(ModuleError::internal)?;
    if let Err(e) = rebuild(panel) {
        if let Err(undo) = fsutil::restore(&path, previous.as_deref(), 0o600) {
            tracing::error!(user = %user, "cannot restore {}: {undo}", path.display());
        }
        return Err(e);
    }
    Ok(out)
}

/// Creates the folder and its missing parents as the account's user, through
/// the privilege helper (which resolves them beneath the home).
fn ensure_folder(
    panel: &Panel,
    actor: &Actor,
    account: &Account,
    folder: &FilePath,
    op_id: &str,
) -> Result<()> {
    let home = panel.layout.home(&account.username);
    let mut sofar = String::new();
    for part in folder.as_str().split('/').filter(|p| !p.is_empty()) {
        sofar.push('/');
        sofar.push_str(part);
        if is_dir(&home.join(sofar.trim_start_matches('/'))) {
            continue;
        }
        let path: FilePath = sofar.parse()?;
        crate::fileman::mkdir(panel, actor, &account.username, &path, op_id)?;
    }
    Ok(())
}

/// A real folder (not a link to one).
fn is_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn missing(user: &Username, login: &FtpLogin) -> ModuleError {
    ModuleError::NotFound(format!("{user} has no FTP user {login}"))
}

fn view(u: &FtpUser) -> FtpUserView {
    FtpUserView {
        login: u.login.to_string(),
        folder: u.folder.to_string(),
        created: u.created.to_string(),
    }
}
