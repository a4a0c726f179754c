//! The service pipeline: render → write (keeping `.bak`) → check with the service's
//! own tool → reload → or, on any failure, put the previous files back.
//!
//! Invariant: whenever a service's config lock is free, the files on disk passed the
//! service's check. So a reload, whoever triggers it, only ever loads checked files,
//! and a bad config never reaches a running service.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use hs_config::{Layout, fsutil, locks};

use crate::reload::Reloader;

/// How the pipeline talks to one service. Implemented per service in layer 7.
pub trait ServiceDriver: Send + Sync {
    /// A short stable name: `nginx`, `php-fpm`, `bind`, ...
    fn name(&self) -> &'static str;
    /// Checks the config on disk with the service's own tool.
    fn check(&self) -> Result<(), String>;
    /// Makes the running service load the config on disk, and waits until it has.
    fn reload(&self) -> Result<(), String>;
}

/// One file a change writes (`Some`) or removes (`None`).
#[derive(Debug, Clone)]
pub struct FileChange {
    pub path: PathBuf,
    pub content: Option<String>,
    pub mode: u32,
}

impl FileChange {
    pub fn write(path: PathBuf, content: String) -> FileChange {
        FileChange { path, content: Some(content), mode: 0o644 }
    }

    pub fn remove(path: PathBuf) -> FileChange {
        FileChange { path, content: None, mode: 0o644 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("no driver for service {0}")]
    UnknownService(String),
    #[error("{service} refused the new configuration: {reason}")]
    CheckFailed { service: String, reason: String },
    #[error("{service} did not reload: {reason}")]
    ReloadFailed { service: String, reason: String },
    #[error("cannot write {service} configuration: {reason}")]
    Write { service: String, reason: String },
}

/// What a change replaced: enough to put it back.
#[derive(Debug, Clone)]
pub struct Applied {
    pub service: &'static str,
    previous: Vec<(PathBuf, Option<Vec<u8>>, u32)>,
}

struct Service {
    driver: Arc<dyn ServiceDriver>,
    reloader: Reloader,
}

/// The set of services the panel drives, each with its driver and reloader.
#[derive(Clone)]
pub struct Pipeline {
    layout: Layout,
    services: Arc<BTreeMap<&'static str, Service>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.services.keys()).finish()
    }
}

impl Pipeline {
    pub fn new(layout: Layout, drivers: Vec<Arc<dyn ServiceDriver>>) -> Pipeline {
        let mut services = BTreeMap::new();
        for driver in drivers {
            let for_reload = Arc::clone(&driver);
            let reloader = Reloader::spawn(driver.name(), Box::new(move || for_reload.reload()));
            services.insert(driver.name(), Service { driver, reloader });
        }
        Pipeline { layout, services: Arc::new(services) }
    }

    /// Writes `changes`, checks, reloads. On failure every file is as it was and
    /// the running service never saw the rejected config.
    pub fn apply(&self, service: &str, changes: &[FileChange]) -> Result<Applied, PipelineError> {
        let (name, svc) = self.service(service)?;
        let applied = self.write_and_check(name, svc, changes)?;

        if let Err(reason) = svc.reloader.reload() {
            // The files passed the check, yet the service did not take them: put the
            // old ones back so the next reload brings back what ran before.
            self.restore_locked(name, &applied);
            return Err(PipelineError::ReloadFailed { service: name.to_string(), reason });
        }
        Ok(applied)
    }

    /// Like [`Pipeline::apply`] for a change that concerns one part of a service
    /// (one DNS zone): `check` replaces the driver's whole-service check and runs
    /// under the service lock; `activate` (e.g. `rndc reload ZONE`) replaces the
    /// merged whole-service reload. On any failure the previous files are back.
    pub fn apply_scoped(
        &self,
        service: &str,
        changes: &[FileChange],
        check: &dyn Fn() -> Result<(), String>,
        activate: &dyn Fn() -> Result<(), String>,
    ) -> Result<Applied, PipelineError> {
        let (name, _) = self.service(service)?;
        let applied = self.write_and_check_with(name, changes, check)?;
        if let Err(reason) = activate() {
            self.restore_locked(name, &applied);
            return Err(PipelineError::ReloadFailed { service: name.to_string(), reason });
        }
        Ok(applied)
    }

    /// Asks for a (merged) whole-service reload without a check: for callers
    /// whose [`Pipeline::apply_scoped`] check already covered their change.
    pub fn request_reload(&self, service: &str) -> Result<(), PipelineError> {
        let (name, svc) = self.service(service)?;
        svc.reloader
            .reload()
            .map_err(|reason| PipelineError::ReloadFailed { service: name.to_string(), reason })
    }

    /// Puts back what an earlier [`Pipeline::apply`] replaced, checks and reloads.
    pub fn revert(&self, applied: &Applied) -> Result<(), PipelineError> {
        let (name, svc) = self.service(applied.service)?;
        self.restore_locked(name, applied);
        svc.reloader
            .reload()
            .map_err(|reason| PipelineError::ReloadFailed { service: name.to_string(), reason })
    }

    /// Checks and reloads a service without changing files (after start-up repairs).
    pub fn reload(&self, service: &str) -> Result<(), PipelineError> {
        let (name, svc) = self.service(service)?;
        svc.driver
            .check()
            .map_err(|reason| PipelineError::CheckFailed { service: name.to_string(), reason })?;
        svc.reloader
            .reload()
            .map_err(|reason| PipelineError::ReloadFailed { service: name.to_string(), reason })
    }

    pub fn has(&self, service: &str) -> bool {
        self.services.contains_key(service)
    }

    fn service(&self, service: &str) -> Result<(&'static str, &Service), PipelineError> {
        self.services
            .get_key_value(service)
            .map(|(name, svc)| (*name, svc))
            .ok_or_else(|| PipelineError::UnknownService(service.to_string()))
    }

    fn write_and_check(
        &self,
        name: &'static str,
        svc: &Service,
        changes: &[FileChange],
    ) -> Result<Applied, PipelineError> {
        self.write_and_check_with(name, changes, &|| svc.driver.check())
    }

    fn write_and_check_with(
        &self,
        name: &'static str,
        changes: &[FileChange],
        check: &dyn Fn() -> Result<(), String>,
    ) -> Result<Applied, PipelineError> {
        let write_err = |reason: String| PipelineError::Write { service: name.to_string(), reason };
        let _lock = locks::service(&self.layout, name).map_err(|e| write_err(e.to_string()))?;

        let mut applied = Applied { service: name, previous: Vec::new() };
        for change in changes {
            let result = match &change.content {
                Some(text) => {
                    fsutil::write_keeping_backup(&change.path, text.as_bytes(), change.mode)
                }
                None => fsutil::remove_keeping_backup(&change.path),
            };
            match result {
                Ok(previous) => applied.previous.push((change.path.clone(), previous, change.mode)),
                Err(e) => {
                    restore(&applied);
                    return Err(write_err(format!("{}: {e}", change.path.display())));
                }
            }
        }

        if let Err(reason) = check() {
            restore(&applied);
            tracing::warn!(service = name, "config check failed, previous files restored");
            return Err(PipelineError::CheckFailed { service: name.to_string(), reason });
        }
        Ok(applied)
    }

    fn restore_locked(&self, name: &'static str, applied: &Applied) {
        match locks::service(&self.layout, name) {
            Ok(_lock) => restore(applied),
            Err(e) => tracing::error!(service = name, "cannot lock to restore: {e}"),
        }
    }
}

/// Puts files back newest first. Best effort: a failure here is logged, since the
/// caller is already reporting the error that led here.
fn restore(applied: &Applied) {
    for (path, previous, mode) in applied.previous.iter().rev() {
        if let Err(e) = fsutil::restore(path, previous.as_deref(), *mode) {
            tracing::error!(path = %path.display(), "cannot restore: {e}");
        }
    }
}
