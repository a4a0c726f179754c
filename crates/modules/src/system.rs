//! Linux users and their home folders: the account's footprint on the machine.

use std::os::unix::fs::{PermissionsExt, chown};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use hs_automation::Cmd;
use hs_config::Layout;
use hs_types::Username;

use crate::error::{ModuleError, Result};

/// `useradd` and `userdel` lock `/etc/passwd`; two at once make one fail.
static PASSWD: Mutex<()> = Mutex::new(());

/// Exit status of `useradd`/`userdel` when the password files are locked.
const PASSWD_BUSY: i32 = 10;

pub fn system_user_exists(name: &str) -> bool {
    matches!(nix::unistd::User::from_name(name), Ok(Some(_)))
}

pub fn system_group_exists(name: &str) -> bool {
    matches!(nix::unistd::Group::from_name(name), Ok(Some(_)))
}

/// `(uid, gid)` of an existing user.
pub fn ids_of(name: &str) -> Option<(u32, u32)> {
    let user = nix::unistd::User::from_name(name).ok()??;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

pub fn gid_of_group(name: &str) -> Result<u32> {
    match nix::unistd::Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid.as_raw()),
        _ => Err(ModuleError::Internal(format!("group {name} does not exist"))),
    }
}

/// Creates the Linux user with its own group, no password and no login shell.
pub fn create_user(layout: &Layout, user: &Username) -> Result<(u32, u32)> {
    let home = layout.home(user);
    let cmd = || -> Result<Cmd> {
        Ok(Cmd::new("useradd")?
            .arg("--no-create-home")
            .arg("--home-dir")
            .arg(&home)
            .arg("--shell")
            .arg("/usr/sbin/nologin")
            .arg("--user-group")
            .arg(user.as_str()))
    };
    run_passwd_tool(cmd)?;
    ids_of(user.as_str())
        .ok_or_else(|| ModuleError::Internal(format!("user {user} missing after useradd")))
}

/// Removes the Linux user and its group; a user that is already gone is fine.
pub fn delete_user(user: &Username) -> Result<()> {
    if !system_user_exists(user.as_str()) {
        return Ok(());
    }
    run_passwd_tool(|| Ok(Cmd::new("userdel")?.arg(user.as_str())))
}

fn run_passwd_tool(cmd: impl Fn() -> Result<Cmd>) -> Result<()> {
    let _guard = PASSWD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for attempt in 0..20 {
        let out = cmd()?.run_unchecked()?;
        if out.status.success() {
            return Ok(());
        }
        if out.status.code() != Some(PASSWD_BUSY) || attempt == 19 {
            return Err(ModuleError::Internal(out.stderr.trim().to_string()));
        }
        // Another process (the CLI, an admin's shell) holds the lock: wait a little.
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// The home folder: `0711` so the web server can reach the sites inside, each site
/// folder `0750` with the web server's group, private `tmp` and `logs`.
pub fn create_home(
    layout: &Layout,
    user: &Username,
    uid: u32,
    gid: u32,
    web_gid: u32,
) -> Result<()> {
    let home = layout.home(user);
    make_dir(&home, 0o711, uid, gid)?;
    make_dir(&home.join("public_html"), 0o750, uid, web_gid)?;
    make_dir(&home.join("tmp"), 0o700, uid, gid)?;
    make_dir(&home.join("logs"), 0o700, uid, gid)?;
    write_welcome(&home.join("public_html"), uid, web_gid)
}

/// A site folder below the home (addon and subdomains).
pub fn create_site_dir(home: &Path, rel: &str, uid: u32, web_gid: u32) -> Result<()> {
    let dir = home.join(rel);
    if dir.exists() {
        return Ok(());
    }
    make_dir(&dir, 0o750, uid, web_gid)?;
    write_welcome(&dir, uid, web_gid)
}

fn make_dir(path: &Path, mode: u32, uid: u32, gid: u32) -> Result<()> {
    let fail = |e: std::io::Error| ModuleError::Internal(format!("{}: {e}", path.display()));
    match std::fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(fail(e)),
    }
    // Refuse to adopt a symlink someone planted where the folder should be.
    let meta = std::fs::symlink_metadata(path).map_err(fail)?;
    if !meta.is_dir() {
        return Err(ModuleError::Internal(format!("{} is not a folder", path.display())));
    }
    chown(path, Some(uid), Some(gid)).map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(fail)
}

fn write_welcome(dir: &Path, uid: u32, gid: u32) -> Result<()> {
    let page = dir.join("index.html");
    let text = "<!doctype html><title>Coming soon</title><h1>This site is ready</h1>\n";
    let fail = |e: std::io::Error| ModuleError::Internal(format!("{}: {e}", page.display()));
    std::fs::write(&page, text).map_err(fail)?;
    chown(&page, Some(uid), Some(gid)).map_err(fail)?;
    std::fs::set_permissions(&page, std::fs::Permissions::from_mode(0o644)).map_err(fail)
}

/// Removes a home folder, but only the one at the account's own path and only if it
/// belongs to `uid`: a terminate can never take anyone else's files with it.
pub fn remove_home(layout: &Layout, user: &Username, uid: Option<u32>) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let home = layout.home(user);
    let meta = match std::fs::symlink_metadata(&home) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ModuleError::Internal(format!("{}: {e}", home.display()))),
    };
    if !meta.is_dir() || uid.is_some_and(|uid| meta.uid() != uid) {
        let msg = format!("{} is not {user}'s home folder; left in place", home.display());
        return Err(ModuleError::Internal(msg));
    }
    // std's remove_dir_all does not follow symlinks inside the tree.
    std::fs::remove_dir_all(&home)
        .map_err(|e| ModuleError::Internal(format!("{}: {e}", home.display())))
}
