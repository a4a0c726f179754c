//! Layer 3, the business modules: one Rust module per `HS::*` module of the spec.
//!
//! Invariants:
//! - every entry point takes validated types and an [`context::Actor`], and checks
//!   that the actor may touch the resource before reading anything else of it;
//!   another tenant's resource looks exactly like a missing one;
//! - state is written before the services are changed, under the intent journal,
//!   so a failure or a crash is undone (or finished) as a whole;
//! - no HTTP here: the API gateway maps [`error::ModuleError`] to responses.

pub mod account;
pub mod backup;
pub mod context;
pub mod cron;
pub mod database;
pub mod dns;
pub mod domain;
pub mod error;
pub mod fileman;
pub mod ftp;
pub mod hooks;
pub mod mail;
pub mod monitor;
pub mod plan;
pub mod plugins;
pub mod ssl;
pub mod system;
pub mod task;
pub mod web;

pub use context::{Actor, Panel};
pub use error::{ModuleError, Result};
