//! Layer 4, the configuration engine: the desired state on disk and the pure
//! renderers that turn it into service configs.
//!
//! Invariants:
//! - every write is atomic (temporary file, fsync, rename) and keeps a `.bak`;
//! - every value read back from disk is parsed into its validated type again;
//! - renderers do no I/O and cannot panic: typed view in, text out;
//! - nothing here runs a program or talks to a service (that is layer 6).

pub mod cron;
pub mod databases;
pub mod fsutil;
pub mod ftp;
pub mod journal;
pub mod layout;
pub mod locks;
pub mod mail;
pub mod mail_conf;
pub mod panel;
pub mod plugin;
pub mod queue;
pub mod render;
pub mod service_status;
pub mod state;
pub mod templates;
pub mod yaml;
pub mod zone;
pub mod zonefile;

use std::path::{Path, PathBuf};

pub use layout::{Layout, LayoutKind};
pub use panel::PanelConfig;
pub use state::StateStore;
pub use templates::Templates;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot encode state: {0}")]
    Encode(String),
}

impl StateError {
    pub fn io(path: &Path, source: std::io::Error) -> StateError {
        StateError::Io { path: path.to_path_buf(), source }
    }

    pub fn corrupt(path: &Path, reason: String) -> StateError {
        StateError::Corrupt { path: path.to_path_buf(), reason }
    }
}
