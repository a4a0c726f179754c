//! The one door to YAML. Every state file is read and written here, so the YAML
//! library can be swapped in one place.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StateError;
use crate::fsutil;

pub fn to_string<T: Serialize>(value: &T) -> Result<String, StateError> {
    serde_saphyr::to_string(value).map_err(|e| StateError::Encode(e.to_string()))
}

pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}

/// Reads and validates a state file; `Ok(None)` when it does not exist.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StateError> {
    let Some(bytes) = fsutil::read_if_exists(path).map_err(|e| StateError::io(path, e))? else {
        return Ok(None);
    };
    let text =
        String::from_utf8(bytes).map_err(|_| StateError::corrupt(path, "not UTF-8".to_string()))?;
    from_str(&text).map(Some).map_err(|reason| StateError::corrupt(path, reason))
}

/// Writes a state file atomically, keeping the previous version as `.bak`.
pub fn write<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    let text = to_string(value)?;
    fsutil::write_keeping_backup(path, text.as_bytes(), 0o600)
        .map(|_| ())
        .map_err(|e| StateError::io(path, e))
}
