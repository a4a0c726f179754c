//! Claiming, running, retrying and finishing jobs (see the crate's invariants).
//!
//! A job's life: `pending/{id}.json` → (lock, then `rename`) → `running/{id}.json`
//! → work → `done/{id}.json`, or back to `pending/` with `not_before` for a retry.

use std::fs;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hs_config::fsutil;
use hs_config::queue::{
    self, FailureKind, Job, JobError, JobLock, JobResult, MAX_JOB_FILE, Outcome, Progress,
};
use hs_modules::Panel;
use hs_types::JobId;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// An invalid file younger than this may still be being written by hand; it is
/// rejected only once it is older.
const YOUNG: Duration = Duration::from_secs(2);

/// One runner; a daemon shares it between its worker threads.
#[derive(Debug, Clone)]
pub struct Runner {
    pub panel: Panel,
    /// The first retry waits this long, each next one twice as long.
    pub retry_base: Duration,
}

impl Runner {
    pub fn new(panel: Panel, retry_base: Duration) -> Runner {
        Runner { panel, retry_base }
    }

    /// One pass of a worker: a job a dead runner left first, else the oldest
    /// pending job that is due. Returns whether it ran a job.
    pub fn work_once(&self) -> bool {
        if let Some((job, lock)) = self.take_orphan() {
            self.run(job, lock);
            return true;
        }
        if let Some((job, lock)) = self.claim() {
            self.run(job, lock);
            return true;
        }
        false
    }

    /// Enqueues every schedule's task that is due; returns how many.
    pub fn enqueue_due(&self) -> usize {
        let layout = &self.panel.layout;
        let now = Timestamp::now();
        let mut count = 0;
        for schedule in queue::schedules(layout) {
            if !schedule.is_due(now) {
                continue;
            }
            match queue::run_if_due(layout, &schedule.name, now) {
                Ok(Some(job)) => {
                    tracing::info!(schedule = %schedule.name, job = %job.id, "scheduled job queued");
                    count += 1;
                }
                Ok(None) => {}
                Err(e) => tracing::error!(schedule = %schedule.name, "schedule failed: {e}"),
            }
        }
        count
    }

    /// Removes results and rejected files older than `max_age`; returns how many.
    pub fn prune(&self, max_age: Duration) -> usize {
        let layout = &self.panel.layout;
        let mut removed = 0;
        for dir in [layout.queue_done(), layout.queue_rejected()] {
            let Ok(entries) = fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > max_age);
                if old && fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            tracing::info!(removed, "old job results pruned");
        }
        removed
    }

    fn running_file(&self, id: &JobId) -> PathBuf {
        self.panel.layout.queue_running().join(queue::job_file(id))
    }

    fn pending_file(&self, id: &JobId) -> PathBuf {
        self.panel.layout.queue_pending().join(queue::job_file(id))
    }

    /// A job in `running/` whose lock nobody holds: its runner died.
    fn take_orphan(&self) -> Option<(Job, JobLock)> {
        let layout = &self.panel.layout;
        for id in queue::valid_ids(&layout.queue_running()) {
            let Ok(Some(lock)) = JobLock::try_acquire(layout, &id) else { continue };
            let path = self.running_file(&id);
            let Ok(bytes) = fs::read(&path) else {
                // Finished or moved by its runner before we locked.
                lock.finish();
                continue;
            };
            if matches!(queue::read_result(layout, &id), Ok(Some(_))) {
                // Died after writing the result: only tidy up.
                self.tidy(&id);
                lock.finish();
                continue;
            }
            let job = match Job::parse(&bytes, id.as_str()) {
                Ok(job) => job,
                Err(reason) => {
                    reject(layout.queue_rejected().as_path(), &path, &reason);
                    lock.finish();
                    continue;
                }
            };
            if job.not_before.is_some_and(|t| t > Timestamp::now()) {
                // Died while putting a retry back: finish that move.
                if let Err(e) = fs::rename(&path, self.pending_file(&id)) {
                    tracing::error!(job = %id, "cannot requeue: {e}");
                }
                lock.finish();
                continue;
            }
            if job.attempts >= job.max_attempts {
                let msg = format!("interrupted; gave up after {} attempts", job.attempts);
                self.finish(&job, Outcome::Failed, &msg, Value::Null, lock);
                continue;
            }
            tracing::warn!(job = %id, attempts = job.attempts, "resuming a job left by a dead runner");
            return Some((job, lock));
        }
        None
    }

    /// The oldest due job in `pending/`, locked and moved to `running/`.
    fn claim(&self) -> Option<(Job, JobLock)> {
        let layout = &self.panel.layout;
        let dir = layout.queue_pending();
        let mut names: Vec<String> = fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        let now = Timestamp::now();
        for name in names {
            let path = dir.join(&name);
            let job = match read_job_file(&path, &name) {
                Ok(Some(job)) => job,
                Ok(None) => continue,
                Err(reason) => {
                    if !is_young(&path) {
                        reject(&layout.queue_rejected(), &path, &reason);
                    }
                    continue;
                }
            };
            if job.not_before.is_some_and(|t| t > now) {
                continue;
            }
            let Ok(Some(lock)) = JobLock::try_acquire(layout, &job.id) else { continue };
            let running = self.running_file(&job.id);
            if fs::create_dir_all(layout.queue_running()).is_err()
                || fs::rename(&path, &running).is_err()
            {
                // Gone meanwhile (run by another, or cancelled).
                lock.finish();
                continue;
            }
            // Read again: the file we locked may be newer than the one we parsed.
            match read_job_file(&running, &name) {
                Ok(Some(job)) => return Some((job, lock)),
                Ok(None) => lock.finish(),
                Err(reason) => {
                    reject(&layout.queue_rejected(), &running, &reason);
                    lock.finish();
                }
            }
        }
        None
    }

    /// Runs a claimed job to its end: result, retry or failure.
    fn run(&self, mut job: Job, lock: JobLock) {
        let layout = &self.panel.layout;
        let path = self.running_file(&job.id);
        job.attempts += 1;
        job.not_before = None;
        if let Err(e) = write_job(&path, &job) {
            // The lock is released; the job stays in running/ and is resumed.
            tracing::error!(job = %job.id, "cannot record the attempt: {e}");
            return;
        }
        let progress = Progress::new(layout, &job.id);
        if progress.check_cancel().is_err() {
            self.finish(&job, Outcome::Cancelled, "cancelled before it started", Value::Null, lock);
            return;
        }
        let _ = progress.report(0, "started");
        tracing::info!(job = %job.id, kind = job.task.name(), attempt = job.attempts,
            actor = %job.actor.name, reason = %job.reason, "job started");

        let work = || crate::execute(&self.panel, &job, &progress);
        let result = catch_unwind(AssertUnwindSafe(work))
            .unwrap_or_else(|_| Err(JobError::permanent("the job crashed (panic)")));
        match result {
            Ok(output) => self.finish(&job, Outcome::Succeeded, "done", output, lock),
            Err(e) if e.kind == FailureKind::Cancelled => {
                self.finish(&job, Outcome::Cancelled, "cancelled", Value::Null, lock);
            }
            Err(e)
                if e.kind == FailureKind::Transient
                    && job.attempts < job.max_attempts
                    && progress.check_cancel().is_ok() =>
            {
                self.retry(job, &e.message, lock);
            }
            Err(e) => self.finish(&job, Outcome::Failed, &e.message, Value::Null, lock),
        }
    }

    /// Puts a job that failed transiently back into `pending/` with a wait.
    fn retry(&self, mut job: Job, error: &str, lock: JobLock) {
        let wait = backoff(self.retry_base, job.attempts);
        let wait_signed = SignedDuration::try_from(wait).unwrap_or(SignedDuration::from_secs(3600));
        job.last_error = Some(error.chars().take(500).collect());
        job.not_before = Timestamp::now().checked_add(wait_signed).ok();
        tracing::warn!(job = %job.id, attempt = job.attempts, wait_ms = wait.as_millis() as u64,
            "job failed, will retry: {error}");
        let running = self.running_file(&job.id);
        let moved = write_job(&running, &job)
            .and_then(|()| fs::rename(&running, self.pending_file(&job.id)));
        if let Err(e) = moved {
            // Left in running/ with not_before set: the next orphan scan requeues it.
            tracing::error!(job = %job.id, "cannot requeue: {e}");
        }
        let _ = fs::remove_file(queue::progress_file(&self.panel.layout, &job.id));
        lock.finish();
    }

    /// Writes the result, then removes the job from `running/`; the lock last.
    fn finish(&self, job: &Job, outcome: Outcome, message: &str, output: Value, lock: JobLock) {
        let result = JobResult::new(job, outcome, message, output);
        if let Err(e) = queue::write_result(&self.panel.layout, &result) {
            // Left in running/: resumed (and, being idempotent, redone) later.
            tracing::error!(job = %job.id, "cannot write the result: {e}");
            return;
        }
        self.tidy(&job.id);
        lock.finish();
        tracing::info!(job = %job.id, kind = job.task.name(), ?outcome, message, "job finished");
    }

    fn tidy(&self, id: &JobId) {
        let layout = &self.panel.layout;
        let _ = fsutil::remove_if_exists(&self.running_file(id));
        let _ = fs::remove_file(queue::progress_file(layout, id));
        let _ = fs::remove_file(queue::cancel_file(layout, id));
    }
}

/// The wait before attempt `attempts + 1`: base, 2×base, 4×base, … up to
/// [`MAX_BACKOFF`].
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 1u32.checked_shl(attempts.saturating_sub(1).min(20)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(MAX_BACKOFF).min(MAX_BACKOFF)
}

/// A file in `pending/`: `Ok(None)` when it vanished, `Err` when it must not run.
fn read_job_file(path: &Path, name: &str) -> Result<Option<Job>, String> {
    let id = match queue::id_of_file(name) {
        Some(Ok(id)) => id,
        Some(Err(e)) => return Err(e),
        None => return Err("not a job file name ({id}.json)".into()),
    };
    // Only regular files, never followed links or FIFOs, and never large ones.
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.file_type().is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_JOB_FILE {
        return Err("job file too large".into());
    }
    match fs::read(path) {
        Ok(bytes) => Job::parse(&bytes, id.as_str()).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn write_job(path: &Path, job: &Job) -> io::Result<()> {
    let bytes = job.to_bytes().map_err(io::Error::other)?;
    fsutil::write_atomic(path, &bytes, 0o600)
}

fn is_young(path: &Path) -> bool {
    let modified = fs::symlink_metadata(path).and_then(|m| m.modified());
    match modified.map(|t| SystemTime::now().duration_since(t)) {
        Ok(Ok(age)) => age < YOUNG,
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

/// Moves a file that must never run to `rejected/`, with the reason beside it
/// (written first, so whoever sees the file sees why).
fn reject(rejected: &Path, path: &Path, reason: &str) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if fs::create_dir_all(rejected).is_err() {
        return;
    }
    let note = rejected.join(format!("{name}.reason"));
    let _ = fsutil::write_atomic(&note, format!("{reason}\n").as_bytes(), 0o600);
    match fs::rename(path, rejected.join(&name)) {
        Ok(()) => tracing::warn!(file = %name, "job file rejected: {reason}"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::error!(file = %name, "cannot move a rejected job file: {e}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_secs(2);
        let cases = [(0, 2), (1, 2), (2, 4), (3, 8), (6, 64), (12, 3600), (40, 3600)];
        for (attempts, secs) in cases {
            assert_eq!(backoff(base, attempts), Duration::from_secs(secs), "{attempts}");
        }
    }
}
