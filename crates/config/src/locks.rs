//! Named locks shared by every process of the panel (hs-srvd, the CLI, hs-taskd).
//!
//! Order, to stay free of deadlocks: the accounts lock, then one account's lock,
//! then a service's config lock. Nobody takes them the other way round.

use hs_types::Username;

use crate::StateError;
use crate::fsutil::FileLock;
use crate::layout::Layout;

/// Serialises changes to one account's state.
pub fn account(layout: &Layout, user: &Username) -> Result<FileLock, StateError> {
    let path = layout.locks().join(format!("account-{}.lock", user.as_str()));
    FileLock::acquire(&path).map_err(|e| StateError::io(&path, e))
}

/// Serialises creating and removing accounts (name and count checks).
pub fn accounts(layout: &Layout) -> Result<FileLock, StateError> {
    let path = layout.locks().join("accounts.lock");
    FileLock::acquire(&path).map_err(|e| StateError::io(&path, e))
}

/// Serialises write-and-check of one service's config files.
pub fn service(layout: &Layout, service: &str) -> Result<FileLock, StateError> {
    let path = layout.locks().join(format!("service-{service}.lock"));
    FileLock::acquire(&path).map_err(|e| StateError::io(&path, e))
}

/// Serialises one panel-wide file that is not a service's (`hspanel.yaml`, the
/// monitor's alerts). Taken alone, never while holding another lock.
pub fn named(layout: &Layout, name: &'static str) -> Result<FileLock, StateError> {
    let path = layout.locks().join(format!("{name}.lock"));
    FileLock::acquire(&path).map_err(|e| StateError::io(&path, e))
}
