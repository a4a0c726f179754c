//! End-to-end tests: every test boots a real sandbox (private nginx, PHP-FPM and
//! hs-srvd) and checks outcomes a customer would see: pages served, logins refused,
//! files untouched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod auth;
mod backup;
mod cron;
mod databases;
mod dns;
mod fileman;
mod ftp;
mod isolation;
mod mail;
mod monitor;
mod monitor_logs;
mod plugins;
mod resilience;
mod ssl;
mod taskd;
mod ui;
mod ui_monitor;
mod validation;
