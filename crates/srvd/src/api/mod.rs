//! The handlers, one file per module; each file ends with its rows of the registry.

pub mod account;
pub mod auth;
pub mod backup;
pub mod cron;
pub mod database;
pub mod dns;
pub mod domain;
pub mod fileman;
pub mod ftp;
pub mod mail;
pub mod monitor;
pub mod plan;
pub mod plugin;
pub mod ssl;
pub mod task;
