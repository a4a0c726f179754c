//! Layer 5, the privilege boundary: `hs-fileop`, the spec's `wrap_fileop`.
//!
//! hs-srvd (root) starts this helper once per file operation with an account's
//! user name and home. Before it reads anything the caller sent, the helper
//! becomes that user for good (supplementary groups, gid, uid; no new
//! privileges) and checks that root cannot be regained. From then on the kernel
//! refuses whatever the account itself could not do.
//!
//! Every path the caller names is resolved beneath the home's descriptor with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`: `..`, absolute symlinks
//! and links leading out fail inside the kernel, at the moment of use, so a path
//! swapped for a symlink between a check and its use cannot escape either. The
//! last component of a path that is changed (deleted, renamed, chmodded,
//! replaced) is handled by name in its folder with `*at` calls that never follow
//! it, and folders are walked by descriptors opened with `O_NOFOLLOW`.
//!
//! Invariants: one operation per process; no thread is ever started (the
//! credential change is process-wide because the process has one thread);
//! entries the account does not own are never deleted, renamed or replaced.

pub mod extract;
pub mod ops;
pub mod proto;
pub mod tree;

use std::ffi::CString;
use std::io::{BufReader, Write};
use std::os::fd::OwnedFd;

use nix::unistd::{Gid, Uid, User};
use rustix::fs::{Mode, OFlags};

use crate::ops::{Home, OpError};
use crate::proto::{ErrorKind, Request, Response};

/// The identity the helper runs as.
#[derive(Debug, Clone, Copy)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
}

/// Becomes `name` for good: setgroups → setgid → setuid, then no new privileges.
/// Must run before anything else in `main`, while the process has one thread.
pub fn become_user(name: &str) -> Result<Identity, String> {
    let user = User::from_name(name)
        .map_err(|e| format!("looking up {name}: {e}"))?
        .ok_or_else(|| format!("no such user: {name}"))?;
    if user.uid.is_root() || user.gid.as_raw() == 0 {
        return Err(format!("{name} is a superuser; refusing to act as it"));
    }
    let cname = CString::new(name).map_err(|_| "bad user name".to_string())?;
    let groups = nix::unistd::getgrouplist(&cname, user.gid)
        .map_err(|e| format!("groups of {name}: {e}"))?;
    if groups.iter().any(|g| g.as_raw() == 0) {
        return Err(format!("{name} is in the root group; refusing to act as it"));
    }
    nix::unistd::setgroups(&groups).map_err(|e| format!("setgroups: {e}"))?;
    nix::unistd::setgid(user.gid).map_err(|e| format!("setgid: {e}"))?;
    nix::unistd::setuid(user.uid).map_err(|e| format!("setuid: {e}"))?;
    nix::sys::prctl::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    verify_dropped(user.uid, user.gid)?;
    Ok(Identity { uid: user.uid.as_raw(), gid: user.gid.as_raw() })
}

/// Real, effective and saved ids are the user's, no group is root's, and
/// asking for root back fails.
fn verify_dropped(uid: Uid, gid: Gid) -> Result<(), String> {
    let ids = nix::unistd::getresuid().map_err(|e| e.to_string())?;
    let gids = nix::unistd::getresgid().map_err(|e| e.to_string())?;
    let uids_ok = [ids.real, ids.effective, ids.saved].iter().all(|u| *u == uid);
    let gids_ok = [gids.real, gids.effective, gids.saved].iter().all(|g| *g == gid);
    let groups = nix::unistd::getgroups().map_err(|e| e.to_string())?;
    let no_root_group = groups.iter().all(|g| g.as_raw() != 0);
    let regained = nix::unistd::setuid(Uid::from_raw(0)).is_ok()
        || nix::unistd::setgid(Gid::from_raw(0)).is_ok();
    if uids_ok && gids_ok && no_root_group && !regained {
        Ok(())
    } else {
        Err("the privilege drop did not hold; refusing to continue".into())
    }
}

/// Opens the home (`O_PATH`, never through a symlink) and checks it is the user's.
pub fn open_home(path: &str, me: Identity) -> Result<OwnedFd, String> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::empty())
        .map_err(|e| format!("opening the home {path}: {e}"))?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| format!("stat of the home: {e}"))?;
    if stat.st_uid != me.uid {
        return Err(format!("the home {path} does not belong to the user"));
    }
    Ok(fd)
}

/// The whole helper: `hs-fileop USER HOME`, a request on stdin, the answer on
/// stdout. Returns the exit code.
pub fn run(args: &[String]) -> u8 {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let fail = |out: &mut dyn Write, kind, message: String| {
        let _ = proto::write_line(&mut &mut *out, &Response::Error { kind, message });
        1
    };
    let [user, home] = args else {
        return fail(&mut out, ErrorKind::Internal, "usage: hs-fileop USER HOME".into());
    };
    // First thing: drop privileges, before reading the request.
    let me = match become_user(user) {
        Ok(me) => me,
        Err(e) => return fail(&mut out, ErrorKind::Internal, e),
    };
    let home_fd = match open_home(home, me) {
        Ok(fd) => fd,
        Err(e) => return fail(&mut out, ErrorKind::Internal, e),
    };
    let mut input = BufReader::new(std::io::stdin().lock());
    let request: Request = match proto::read_line(&mut input) {
        Ok(r) => r,
        Err(e) => return fail(&mut out, ErrorKind::Invalid, format!("bad request: {e}")),
    };
    let home = Home { fd: home_fd, me };
    match ops::execute(&home, request, &mut input, &mut out) {
        Ok(()) => 0,
        Err(OpError::AfterHeader) => 1,
        Err(OpError::Failed(kind, message)) => fail(&mut out, kind, message),
    }
}
