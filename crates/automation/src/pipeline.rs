//! The service pipeline: render → write (keeping `.bak`) → check with the service's
//! own tool → reload → or, on any failure, put the previous files back.
//!
//! Changes are group-committed. Each service has one committer thread; callers queue
//! their file changes and wait. The committer takes everything queued, writes it,
//! runs the service's check once and reloads once for the whole group. If the group
//! fails the check, it is undone and each change is tried alone, so one bad change
//! fails only its own caller. Twenty account creations arriving together thus cost a
//! handful of checks and reloads, not twenty of each.
//!
//! An operation of several steps may announce early that it will change a service
//! ([`Pipeline::intent`]); the committer then waits a little longer for it, so that
//! operations started together also commit together.
//!
//! Invariant: whenever a service's config lock is free, the files on disk passed the
//! service's check. So a reload, whoever triggers it, only ever loads checked files,
//! and a bad config never reaches a running service.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hs_config::{Layout, fsutil, locks, service_status};

/// How long the committer waits for more changes once one arrived.
const GATHER: Duration = Duration::from_millis(60);
/// How long it keeps waiting while callers have announced changes still to come.
const GATHER_ANNOUNCED: Duration = Duration::from_millis(1500);

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

#[derive(Debug, Clone, thiserror::Error)]
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

impl Applied {
    /// The changes that put every replaced file back as it was.
    fn undo_changes(&self) -> Vec<FileChange> {
        self.previous
            .iter()
            .rev()
            .map(|(path, old, mode)| FileChange {
                path: path.clone(),
                content: old.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()),
                mode: *mode,
            })
            .collect()
    }
}

/// A caller's queued change and the slot its outcome is delivered to.
struct Ticket {
    changes: Vec<FileChange>,
    outcome: Mutex<Option<Result<Applied, PipelineError>>>,
    ready: Condvar,
}

impl Ticket {
    fn deliver(&self, result: Result<Applied, PipelineError>) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        self.ready.notify_all();
    }

    fn wait(&self) -> Result<Applied, PipelineError> {
        let mut slot = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(result) = slot.take() {
                return result;
            }
            slot = self.ready.wait(slot).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

struct Service {
    name: &'static str,
    driver: Arc<dyn ServiceDriver>,
    queue: Mutex<Queue>,
    arrived: Condvar,
}

#[derive(Default)]
struct Queue {
    tickets: Vec<Arc<Ticket>>,
    /// Changes announced by [`Intent`]s and not yet queued.
    announced: usize,
}

/// A promise to change a service soon; see [`Pipeline::intent`]. Consumed by
/// [`Intent::apply`]; dropping it unused withdraws it.
pub struct Intent {
    service: Option<Arc<Service>>,
}

impl std::fmt::Debug for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Intent")
    }
}

impl Intent {
    pub fn apply(mut self, changes: &[FileChange]) -> Result<Applied, PipelineError> {
        match self.service.take() {
            Some(service) => enqueue(&service, changes, true),
            None => Err(PipelineError::UnknownService("(withdrawn)".into())),
        }
    }
}

impl Drop for Intent {
    fn drop(&mut self) {
        if let Some(service) = self.service.take() {
            let mut queue = service.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.announced = queue.announced.saturating_sub(1);
            service.arrived.notify_all();
        }
    }
}

/// The set of services the panel drives, each with its driver and committer.
#[derive(Clone)]
pub struct Pipeline {
    layout: Layout,
    services: Arc<BTreeMap<&'static str, Arc<Service>>>,
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
            let service = Arc::new(Service {
                name: driver.name(),
                driver,
                queue: Mutex::new(Queue::default()),
                arrived: Condvar::new(),
            });
            let worker = Arc::clone(&service);
            let worker_layout = layout.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("commit-{}", service.name))
                .spawn(move || commit_loop(&worker_layout, &worker));
            if let Err(e) = spawned {
                tracing::error!(service = service.name, "cannot start the committer: {e}");
            }
            services.insert(service.name, service);
        }
        Pipeline { layout, services: Arc::new(services) }
    }

    /// Writes `changes`, checks, reloads. On failure every file is as it was and
    /// the running service never saw the rejected config.
    pub fn apply(&self, service: &str, changes: &[FileChange]) -> Result<Applied, PipelineError> {
        enqueue(self.service(service)?, changes, false)
    }

    /// Announces a change to `service` that this caller will make soon.
    pub fn intent(&self, service: &str) -> Result<Intent, PipelineError> {
        let service = Arc::clone(self.service(service)?);
        service.queue.lock().unwrap_or_else(PoisonError::into_inner).announced += 1;
        Ok(Intent { service: Some(service) })
    }

    /// Like [`Pipeline::apply`] for a change that concerns one part of a service
    /// (one DNS zone), outside the group commit: `check` replaces the driver's
    /// whole-service check and runs under the service lock; `activate` (e.g.
    /// `rndc reload ZONE`) replaces the whole-service reload. On any failure the
    /// previous files are back.
    pub fn apply_scoped(
        &self,
        service: &str,
        changes: &[FileChange],
        check: &dyn Fn() -> Result<(), String>,
        activate: &dyn Fn() -> Result<(), String>,
    ) -> Result<Applied, PipelineError> {
        let service = self.service(service)?;
        let name = service.name;
        let lock =
            locks::service(&self.layout, name).map_err(|e| write_error(name, e.to_string()))?;
        let applied = write(name, changes)?;
        if let Err(reason) = check() {
            restore(&applied);
            tracing::warn!(service = name, "config check failed, previous files restored");
            return Err(PipelineError::CheckFailed { service: name.into(), reason });
        }
        drop(lock);

        let started = Instant::now();
        let activated = activate();
        let ms = started.elapsed().as_millis() as u64;
        service_status::record(&self.layout, name, "activate", &activated, ms);
        if let Err(reason) = activated {
            if let Ok(_lock) = locks::service(&self.layout, name) {
                restore(&applied);
            }
            return Err(PipelineError::ReloadFailed { service: name.into(), reason });
        }
        Ok(applied)
    }

    /// A whole-service check and reload, group-committed with other changes: for
    /// callers whose [`Pipeline::apply_scoped`] changed what the service loads.
    pub fn request_reload(&self, service: &str) -> Result<(), PipelineError> {
        self.reload(service)
    }

    /// Puts back what an earlier [`Pipeline::apply`] replaced, checks and reloads.
    pub fn revert(&self, applied: &Applied) -> Result<(), PipelineError> {
        self.apply(applied.service, &applied.undo_changes()).map(|_| ())
    }

    /// Checks and reloads a service without changing files.
    pub fn reload(&self, service: &str) -> Result<(), PipelineError> {
        self.apply(service, &[]).map(|_| ())
    }

    pub fn has(&self, service: &str) -> bool {
        self.services.contains_key(service)
    }

    fn service(&self, service: &str) -> Result<&Arc<Service>, PipelineError> {
        self.services.get(service).ok_or_else(|| PipelineError::UnknownService(service.into()))
    }
}

fn enqueue(
    service: &Service,
    changes: &[FileChange],
    announced: bool,
) -> Result<Applied, PipelineError> {
    let ticket = Arc::new(Ticket {
        changes: changes.to_vec(),
        outcome: Mutex::new(None),
        ready: Condvar::new(),
    });
    {
        let mut queue = service.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.tickets.push(Arc::clone(&ticket));
        if announced {
            queue.announced = queue.announced.saturating_sub(1);
        }
    }
    service.arrived.notify_all();
    ticket.wait()
}

fn commit_loop(layout: &Layout, service: &Service) {
    loop {
        let group = gather(service);
        let started = Instant::now();
        let outcomes = commit(layout, service, &group);
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(service = service.name, changes = group.len(), ms, "committed");
        for (ticket, outcome) in group.iter().zip(outcomes) {
            ticket.deliver(outcome);
        }
    }
}

/// Waits for a first change, then briefly for company (longer while announced
/// changes are on their way), and takes the whole queue.
fn gather(service: &Service) -> Vec<Arc<Ticket>> {
    let mut queue = service.queue.lock().unwrap_or_else(PoisonError::into_inner);
    while queue.tickets.is_empty() {
        queue = service.arrived.wait(queue).unwrap_or_else(PoisonError::into_inner);
    }
    let first = Instant::now();
    loop {
        let now = Instant::now();
        let until = if queue.announced > 0 { first + GATHER_ANNOUNCED } else { first + GATHER };
        if now >= until {
            break;
        }
        queue = service
            .arrived
            .wait_timeout(queue, until - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    std::mem::take(&mut queue.tickets)
}

/// Writes, checks and reloads a group; one outcome per ticket, in order.
fn commit(
    layout: &Layout,
    service: &Service,
    group: &[Arc<Ticket>],
) -> Vec<Result<Applied, PipelineError>> {
    let name = service.name;
    let fail_all = |e: PipelineError| group.iter().map(|_| Err(e.clone())).collect();
    let lock = match locks::service(layout, name) {
        Ok(lock) => lock,
        Err(e) => return fail_all(write_error(name, e.to_string())),
    };

    // The whole group at once; in the common case this is the only round.
    let mut outcomes: Vec<Result<Applied, PipelineError>> =
        group.iter().map(|t| write(name, &t.changes)).collect();
    if let Err(reason) = service.driver.check() {
        restore_all(&outcomes);
        if group.len() == 1 {
            tracing::warn!(service = name, "config check failed, previous files restored");
            return vec![Err(PipelineError::CheckFailed { service: name.into(), reason })];
        }
        // Someone's change is bad: find out whose, one change at a time.
        outcomes = group.iter().map(|t| write_and_check(name, service, &t.changes)).collect();
    }
    drop(lock);

    if outcomes.iter().all(Result::is_err) {
        return outcomes;
    }
    let started = Instant::now();
    let reloaded = service.driver.reload();
    let ms = started.elapsed().as_millis() as u64;
    service_status::record(layout, name, "reload", &reloaded, ms);
    if let Err(reason) = reloaded {
        // The files passed the check, yet the service did not take them: put the old
        // ones back so the next reload brings back what ran before.
        if let Ok(_lock) = locks::service(layout, name) {
            restore_all(&outcomes);
        }
        return fail_all(PipelineError::ReloadFailed { service: name.into(), reason });
    }
    outcomes
}

fn write_error(service: &str, reason: String) -> PipelineError {
    PipelineError::Write { service: service.to_string(), reason }
}

/// Writes one caller's changes; on a write error, its own earlier files go back.
fn write(service: &'static str, changes: &[FileChange]) -> Result<Applied, PipelineError> {
    let mut applied = Applied { service, previous: Vec::new() };
    for change in changes {
        let result = match &change.content {
            Some(text) => fsutil::write_keeping_backup(&change.path, text.as_bytes(), change.mode),
            None => fsutil::remove_keeping_backup(&change.path),
        };
        match result {
            Ok(previous) => applied.previous.push((change.path.clone(), previous, change.mode)),
            Err(e) => {
                restore(&applied);
                return Err(write_error(service, format!("{}: {e}", change.path.display())));
            }
        }
    }
    Ok(applied)
}

fn write_and_check(
    name: &'static str,
    service: &Service,
    changes: &[FileChange],
) -> Result<Applied, PipelineError> {
    let applied = write(name, changes)?;
    if let Err(reason) = service.driver.check() {
        restore(&applied);
        tracing::warn!(service = name, "config check failed, previous files restored");
        return Err(PipelineError::CheckFailed { service: name.into(), reason });
    }
    Ok(applied)
}

fn restore_all(outcomes: &[Result<Applied, PipelineError>]) {
    for applied in outcomes.iter().rev().flatten() {
        restore(applied);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A service whose config is "valid" unless a file contains `bad`.
    struct Fake {
        dir: PathBuf,
        checks: AtomicUsize,
        reloads: AtomicUsize,
    }

    impl ServiceDriver for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }

        fn check(&self) -> Result<(), String> {
            self.checks.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            for entry in std::fs::read_dir(&self.dir).unwrap() {
                let path = entry.unwrap().path();
                if std::fs::read_to_string(&path).unwrap_or_default().contains("bad") {
                    return Err(format!("{} is bad", path.display()));
                }
            }
            Ok(())
        }

        fn reload(&self) -> Result<(), String> {
            self.reloads.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn setup() -> (tempfile::TempDir, Arc<Fake>, Pipeline) {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("conf");
        std::fs::create_dir_all(&dir).unwrap();
        let fake =
            Arc::new(Fake { dir, checks: AtomicUsize::new(0), reloads: AtomicUsize::new(0) });
        let pipeline = Pipeline::new(Layout::sandbox(root.path()), vec![fake.clone()]);
        (root, fake, pipeline)
    }

    #[test]
    fn concurrent_changes_share_checks_and_reloads() {
        let (_root, fake, pipeline) = setup();
        std::thread::scope(|scope| {
            for i in 0..20 {
                let (pipeline, dir) = (&pipeline, fake.dir.clone());
                scope.spawn(move || {
                    let change = FileChange::write(dir.join(format!("{i}.conf")), "ok".into());
                    pipeline.apply("fake", &[change]).unwrap();
                });
            }
        });
        let reloads = fake.reloads.load(Ordering::SeqCst);
        assert!((1..=3).contains(&reloads), "{reloads} reloads for 20 changes");
        assert_eq!(std::fs::read_dir(&fake.dir).unwrap().count(), 20);
    }

    #[test]
    fn one_bad_change_fails_alone() {
        let (_root, fake, pipeline) = setup();
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..6)
                .map(|i| {
                    let (pipeline, dir) = (&pipeline, fake.dir.clone());
                    scope.spawn(move || {
                        let text = if i == 3 { "bad" } else { "ok" };
                        let change = FileChange::write(dir.join(format!("{i}.conf")), text.into());
                        pipeline.apply("fake", &[change]).is_ok()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results, vec![true, true, true, false, true, true]);
        assert!(!fake.dir.join("3.conf").exists());
        assert!(fake.check().is_ok());
    }

    #[test]
    fn revert_puts_back_the_previous_content() {
        let (_root, fake, pipeline) = setup();
        let path = fake.dir.join("a.conf");
        pipeline.apply("fake", &[FileChange::write(path.clone(), "one".into())]).unwrap();
        let applied =
            pipeline.apply("fake", &[FileChange::write(path.clone(), "two".into())]).unwrap();
        pipeline.revert(&applied).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
    }
}
