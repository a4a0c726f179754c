//! The intent journal: how a change of several steps completes or is undone as a
//! whole, also when the process dies half-way.
//!
//! Before touching anything an operation writes `journal/{op_id}.yaml` naming what
//! it is about to do. Before each step it appends the step's name. When it is done
//! it deletes the entry. At start-up every entry left behind belongs to an
//! operation that died: its owner undoes the recorded steps, newest first. Undo
//! steps are idempotent, so a step recorded but never run is undone harmlessly.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::{StateError, fsutil, yaml};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    pub version: u32,
    pub op_id: String,
    /// What kind of operation, e.g. `account.create`; its owner knows how to undo it.
    pub operation: String,
    /// The validated input the operation was started with, as plain strings.
    pub subject: Vec<String>,
    /// Steps started, oldest first.
    pub steps: Vec<String>,
    pub started: jiff::Timestamp,
}

/// An open journal entry. Dropping it without [`Journal::finish`] leaves the entry
/// on disk, which is exactly what a crash does.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    entry: JournalEntry,
}

impl Journal {
    pub fn begin(
        layout: &Layout,
        op_id: &str,
        operation: &str,
        subject: Vec<String>,
    ) -> Result<Journal, StateError> {
        let entry = JournalEntry {
            version: 1,
            op_id: op_id.to_string(),
            operation: operation.to_string(),
            subject,
            steps: Vec::new(),
            started: jiff::Timestamp::now(),
        };
        let path = layout.journal().join(format!("{}.yaml", safe_file_stem(op_id)));
        let journal = Journal { path, entry };
        journal.save()?;
        Ok(journal)
    }

    /// Records that `step` is about to run. Written durably before the step starts.
    pub fn step(&mut self, step: &str) -> Result<(), StateError> {
        self.entry.steps.push(step.to_string());
        self.save()
    }

    pub fn entry(&self) -> &JournalEntry {
        &self.entry
    }

    /// The operation completed (or was fully undone): forget it.
    pub fn finish(self) -> Result<(), StateError> {
        fsutil::remove_if_exists(&self.path).map_err(|e| StateError::io(&self.path, e))
    }

    fn save(&self) -> Result<(), StateError> {
        let text = yaml::to_string(&self.entry)?;
        fsutil::write_atomic(&self.path, text.as_bytes(), 0o600)
            .map_err(|e| StateError::io(&self.path, e))
    }
}

/// Entries left by operations that did not finish, oldest first.
pub fn leftovers(layout: &Layout) -> Result<Vec<(PathBuf, JournalEntry)>, StateError> {
    let dir = layout.journal();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StateError::io(&dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| StateError::io(&dir, e))?.path();
        if path.extension().is_some_and(|ext| ext == "yaml")
            && let Some(record) = yaml::read::<JournalEntry>(&path)?
        {
            found.push((path, record));
        }
    }
    found.sort_by_key(|a| a.1.started);
    Ok(found)
}

pub fn forget(path: &std::path::Path) -> Result<(), StateError> {
    fsutil::remove_if_exists(path).map_err(|e| StateError::io(path, e))
}

fn safe_file_stem(op_id: &str) -> String {
    op_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect()
}
