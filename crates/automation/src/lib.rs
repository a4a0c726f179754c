//! Layer 6, system automation: running programs, and taking a config change to a
//! running service safely.
//!
//! Invariants:
//! - programs run through [`exec::Cmd`] only: argv arrays, absolute paths, no shell,
//!   secrets on stdin;
//! - a config reaches a service only after the service's own check passed, and a
//!   failed check or reload leaves the previous files in place;
//! - changes arriving together are group-committed: one check, one reload.

pub mod exec;
pub mod pipeline;

pub use exec::{Cmd, ExecError};
pub use pipeline::{Applied, FileChange, Pipeline, PipelineError, ServiceDriver};
