//! The last reload of each managed service and its result, one small JSON file
//! per service under `var/hspanel/services/`, written by the pipeline after every
//! reload it makes (a group commit, or a scoped activation such as one zone's
//! `rndc reload`) and read by HS::Monitor's `services`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{Layout, fsutil};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadRecord {
    pub version: u32,
    pub service: String,
    pub time: jiff::Timestamp,
    /// `reload` (whole service) or `activate` (one part, e.g. a zone).
    pub action: String,
    pub ok: bool,
    /// Empty when it worked; else the service's own complaint (cut to 500 bytes).
    pub message: String,
    /// How long the reload took.
    pub ms: u64,
}

/// Only names the pipeline's drivers use: lowercase letters, digits and `-`.
fn path(layout: &Layout, service: &str) -> Option<PathBuf> {
    let ok = !service.is_empty()
        && service.len() <= 32
        && service.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then(|| layout.service_status_dir().join(format!("{service}.json")))
}

/// Records a reload. Best effort: a status file must never fail a change.
pub fn record(layout: &Layout, service: &str, action: &str, result: &Result<(), String>, ms: u64) {
    let Some(path) = path(layout, service) else { return };
    let mut message = result.as_ref().err().cloned().unwrap_or_default();
    if message.len() > 500 {
        let mut end = 500;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    let record = ReloadRecord {
        version: 1,
        service: service.to_string(),
        time: jiff::Timestamp::now(),
        action: action.to_string(),
        ok: result.is_ok(),
        message,
        ms,
    };
    let written = serde_json::to_vec_pretty(&record)
        .map_err(std::io::Error::other)
        .and_then(|text| fsutil::write_atomic(&path, &text, 0o644));
    if let Err(e) = written {
        tracing::warn!(service, "cannot record the reload: {e}");
    }
}

/// The last recorded reload of a service, if any.
pub fn read(layout: &Layout, service: &str) -> Option<ReloadRecord> {
    let bytes = std::fs::read(path(layout, service)?).ok()?;
    serde_json::from_slice::<ReloadRecord>(&bytes).ok().filter(|r| r.version == 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_odd_names_are_not_files() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::sandbox(dir.path());
        record(&layout, "nginx", "reload", &Ok(()), 12);
        record(&layout, "bind", "activate", &Err("x".repeat(900)), 3);
        record(&layout, "../etc", "reload", &Ok(()), 1);
        let r = read(&layout, "nginx").unwrap();
        assert!(r.ok && r.message.is_empty() && r.ms == 12);
        let r = read(&layout, "bind").unwrap();
        assert!(!r.ok && r.message.len() == 500);
        assert!(read(&layout, "../etc").is_none());
        assert_eq!(std::fs::read_dir(layout.service_status_dir()).unwrap().count(), 2);
    }
}
