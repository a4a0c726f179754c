//! The handlers, one file per module; each file ends with its rows of the registry.

pub mod account;
pub mod auth;
pub mod database;
pub mod domain;
pub mod plan;
