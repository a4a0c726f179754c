//! Layer 7, the services: how each real daemon is checked, reloaded and, in the
//! sandbox, started as a private instance.
//!
//! Invariants:
//! - a driver knows one service's commands and nothing about accounts or domains;
//! - a reload returns only once the service serves the new config;
//! - private instances listen on loopback only and keep every file under the
//!   sandbox root.

pub mod bind;
pub mod cron;
pub mod daemon;
pub mod ftp;
pub mod mail;
pub mod mariadb;
pub mod nginx;
pub mod php_fpm;
pub mod proc;
pub mod restic;
pub mod sandbox;
pub mod sql;
pub mod tls;

use std::sync::Arc;

use hs_automation::{Pipeline, ServiceDriver};
use hs_config::{Layout, PanelConfig};

/// The pipeline with a driver for every service this server runs.
pub fn pipeline(layout: &Layout, config: &PanelConfig) -> Pipeline {
    let drivers: Vec<Arc<dyn ServiceDriver>> = vec![
        Arc::new(nginx::Nginx::new(layout)),
        Arc::new(php_fpm::PhpFpm::new(layout, &config.php.version)),
        Arc::new(bind::Bind::new(layout)),
        Arc::new(cron::Cron::new(layout)),
        Arc::new(mariadb::MariaDb::new(layout)),
        Arc::new(mail::Postfix::new(layout)),
        Arc::new(mail::Dovecot::new(layout)),
        Arc::new(mail::OpenDkim::new(layout)),
    ];
    Pipeline::new(layout.clone(), drivers)
}
