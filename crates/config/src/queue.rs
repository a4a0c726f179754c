//! hs-taskd's queue on disk: the job file format, `enqueue`, progress, cancel
//! requests and schedules. Anyone may submit work (hs-srvd, the CLI, the modules)
//! through this module without depending on the runner.
//!
//! ```text
//! var/hspanel/queue/
//!   pending/{id}.json     waiting (a retry waits here too, with `not_before`)
//!   running/{id}.json     claimed; its runner holds control/{id}.lock
//!   running/{id}.progress percent + message, rewritten as the job advances
//!   done/{id}.json        the result: the job as it ran, outcome, message, output
//!   rejected/             files that failed validation; never run
//!   control/{id}.cancel   a cancel request; control/{id}.lock the job's lock
//!   schedules/{name}.json recurring work that hs-taskd enqueues when due
//! ```
//!
//! A job moves by `rename`, which is atomic: two runners renaming the same pending
//! file cannot both succeed. Every file is written with [`fsutil::write_atomic`].

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use hs_types::{CertName, DestinationName, JobId, Username};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StateError;
use crate::fsutil::{self, FileLock};
use crate::layout::Layout;
use crate::state::Role;

/// The format version of job, result and schedule files; readers refuse others.
pub const QUEUE_VERSION: u32 = 1;
/// Attempts a job gets unless it says otherwise (the first run plus four retries).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Largest job file accepted; anything bigger is rejected unread.
pub const MAX_JOB_FILE: u64 = 64 * 1024;
const MAX_REASON: usize = 200;
const MAX_ATTEMPTS_CAP: u32 = 20;

/// What a job does: one closed set. Adding a kind is a variant here and one
/// match arm in `hs_taskd::execute`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "params", rename_all = "snake_case", deny_unknown_fields)]
pub enum Task {
    /// Render every site map of the account and its PHP-FPM pool again and
    /// reload nginx and PHP-FPM (after a template change, or to repair files).
    RebuildWeb { user: Username },
    /// Write every DNS zone file of the account again from its state, with a
    /// new serial, and reload each zone.
    RebuildDns { user: Username },
    /// Test-only work (refused outside a sandbox): `steps` steps of `step_ms`.
    Probe(Probe),
    /// HS::SSL: order `name`'s certificate from the ACME CA (AutoSSL).
    Autossl { user: Username, name: CertName },
    /// HS::SSL: renew every ordered certificate that expires within
    /// `within_days` (1 to 365; the daily schedule says 30). Server-wide.
    SslRenewDue { within_days: u32 },
    /// HS::Backup: one backup of the account, full or incremental.
    Backup {
        user: Username,
        #[serde(default)]
        incremental: bool,
        #[serde(default)]
        destination: Option<DestinationName>,
    },
    /// HS::Backup: the account's scheduled run (backup, retention, verification).
    BackupScheduled { user: Username },
    /// HS::Backup: queue `backup_scheduled` for every account whose schedule is
    /// due. Server-wide; hs-taskd's hourly schedule.
    BackupDue,
}

/// Parameters of [`Task::Probe`], the sandbox's observable test job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// The account the job is about (for tenant isolation), if any.
    #[serde(default)]
    pub account: Option<Username>,
    pub steps: u32,
    pub step_ms: u64,
    /// The first `fail_times` attempts fail with a transient error.
    #[serde(default)]
    pub fail_times: u32,
}

impl Task {
    /// The kind's name as it appears in the file (`rebuild_web`).
    pub fn name(&self) -> &'static str {
        match self {
            Task::RebuildWeb { .. } => "rebuild_web",
            Task::RebuildDns { .. } => "rebuild_dns",
            Task::Probe(_) => "probe",
            Task::Autossl { .. } => "autossl",
            Task::SslRenewDue { .. } => "ssl_renew_due",
            Task::Backup { .. } => "backup",
            Task::BackupScheduled { .. } => "backup_scheduled",
            Task::BackupDue => "backup_due",
        }
    }

    /// The account this work is about: its owner, its reseller and the admin
    /// may see and cancel it. `None`: server-wide work, admins only.
    pub fn account(&self) -> Option<&Username> {
        match self {
            Task::RebuildWeb { user }
            | Task::RebuildDns { user }
            | Task::Autossl { user, .. }
            | Task::Backup { user, .. }
            | Task::BackupScheduled { user } => Some(user),
            Task::Probe(p) => p.account.as_ref(),
            Task::SslRenewDue { .. } | Task::BackupDue => None,
        }
    }

    fn check(&self) -> Result<(), String> {
        if let Task::Probe(p) = self
            && (p.steps > 1000 || p.step_ms > 60_000 || p.fail_times > MAX_ATTEMPTS_CAP)
        {
            return Err("probe parameters out of range".into());
        }
        if let Task::SslRenewDue { within_days } = self
            && !(1..=365).contains(within_days)
        {
            return Err("within_days must be 1 to 365".into());
        }
        Ok(())
    }
}

/// Who asked for a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    pub name: String,
    pub role: Role,
}

impl Requester {
    /// The daemon itself, for scheduled work.
    pub fn scheduler() -> Requester {
        Requester { name: "hs-taskd".into(), role: Role::Admin }
    }

    fn check(&self) -> Result<(), String> {
        let ok = !self.name.is_empty()
            && self.name.len() <= 32
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok { Ok(()) } else { Err(format!("invalid actor name {:?}", self.name)) }
    }
}

/// One job: what, who asked, why, when, and how its attempts went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub version: u32,
    pub id: JobId,
    pub task: Task,
    pub actor: Requester,
    /// A human-readable cause ("certificate expires in 29 days").
    pub reason: String,
    pub created: Timestamp,
    /// Attempts started so far (a claim counts one before the work begins).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// A retry waits in `pending/` until this time.
    #[serde(default)]
    pub not_before: Option<Timestamp>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// The schedule that enqueued it, if any.
    #[serde(default)]
    pub schedule: Option<JobId>,
}

fn default_max_attempts() -> u32 {
    DEFAULT_MAX_ATTEMPTS
}

impl Job {
    pub fn new(task: Task, actor: Requester, reason: &str) -> Result<Job, StateError> {
        Ok(Job {
            version: QUEUE_VERSION,
            id: new_id()?,
            task,
            actor,
            reason: reason.to_string(),
            created: Timestamp::now(),
            attempts: 0,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            not_before: None,
            last_error: None,
            schedule: None,
        })
    }

    /// The rules serde cannot express; every job read from disk passes them.
    pub fn check(&self) -> Result<(), String> {
        if self.version != QUEUE_VERSION {
            return Err(format!("unsupported version {}", self.version));
        }
        if self.reason.chars().count() > MAX_REASON || self.reason.chars().any(char::is_control) {
            return Err(format!("reason: at most {MAX_REASON} characters, one line"));
        }
        if self.max_attempts == 0 || self.max_attempts > MAX_ATTEMPTS_CAP {
            return Err(format!("max_attempts must be 1 to {MAX_ATTEMPTS_CAP}"));
        }
        if self.attempts > self.max_attempts {
            return Err("attempts exceed max_attempts".into());
        }
        self.actor.check()?;
        self.task.check()
    }

    /// Parses a job file named `{file_id}.json`: size, JSON, types, rules, and the
    /// id inside must be the file's.
    pub fn parse(bytes: &[u8], file_id: &str) -> Result<Job, String> {
        if bytes.len() as u64 > MAX_JOB_FILE {
            return Err("job file too large".into());
        }
        let job: Job = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        job.check()?;
        if job.id.as_str() != file_id {
            return Err(format!("id {} does not match the file name", job.id));
        }
        Ok(job)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, StateError> {
        serde_json::to_vec_pretty(self).map_err(|e| StateError::Encode(e.to_string()))
    }
}

/// A fresh id: UTC time to the second, then 48 random bits.
pub fn new_id() -> Result<JobId, StateError> {
    let time = Timestamp::now().strftime("%Y%m%dt%H%M%S").to_string();
    let mut random = [0u8; 6];
    if getrandom::fill(&mut random).is_err() {
        // Never expected; fall back on the clock's nanoseconds and the pid.
        let nanos = Timestamp::now().subsec_nanosecond().unsigned_abs();
        random[..4].copy_from_slice(&nanos.to_le_bytes());
        random[4..].copy_from_slice(&(std::process::id() as u16).to_le_bytes());
    }
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{time}-{hex}")
        .parse()
        .map_err(|e: hs_types::InvalidValue| StateError::Encode(e.to_string()))
}

// --- submitting ------------------------------------------------------------------

/// Submits work: writes `pending/{id}.json` and returns the job.
pub fn enqueue(
    layout: &Layout,
    task: Task,
    actor: Requester,
    reason: &str,
) -> Result<Job, StateError> {
    let job = Job::new(task, actor, reason)?;
    submit(layout, &job)?;
    Ok(job)
}

/// Writes a job built by the caller into `pending/`, after checking it.
pub fn submit(layout: &Layout, job: &Job) -> Result<(), StateError> {
    let path = layout.queue_pending().join(job_file(&job.id));
    job.check().map_err(|reason| StateError::corrupt(&path, reason))?;
    fsutil::write_atomic(&path, &job.to_bytes()?, 0o600).map_err(|e| StateError::io(&path, e))
}

pub fn job_file(id: &JobId) -> String {
    format!("{}.json", id.as_str())
}

/// The id of a queue file name `{id}.json`; `None` for anything else (temporary
/// files start with `.` and are skipped).
pub fn id_of_file(name: &str) -> Option<Result<JobId, String>> {
    let stem = name.strip_suffix(".json")?;
    if name.starts_with('.') {
        return None;
    }
    Some(stem.parse::<JobId>().map_err(|e| e.to_string()))
}

// --- errors and outcomes ---------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// May pass: retried with backoff while attempts remain.
    Transient,
    /// Will not pass by retrying.
    Permanent,
    /// The job saw a cancel request and stopped.
    Cancelled,
}

/// How a job's work failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    pub kind: FailureKind,
    pub message: String,
}

impl JobError {
    pub fn transient(message: impl Into<String>) -> JobError {
        JobError { kind: FailureKind::Transient, message: message.into() }
    }

    pub fn permanent(message: impl Into<String>) -> JobError {
        JobError { kind: FailureKind::Permanent, message: message.into() }
    }

    pub fn cancelled() -> JobError {
        JobError { kind: FailureKind::Cancelled, message: "cancelled".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    Cancelled,
}

/// `done/{id}.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobResult {
    pub version: u32,
    pub job: Job,
    pub outcome: Outcome,
    pub message: String,
    #[serde(default)]
    pub output: Value,
    pub finished: Timestamp,
}

impl JobResult {
    pub fn new(job: &Job, outcome: Outcome, message: &str, output: Value) -> JobResult {
        JobResult {
            version: QUEUE_VERSION,
            job: job.clone(),
            outcome,
            message: message.to_string(),
            output,
            finished: Timestamp::now(),
        }
    }
}

pub fn write_result(layout: &Layout, result: &JobResult) -> Result<(), StateError> {
    let path = layout.queue_done().join(job_file(&result.job.id));
    let bytes = serde_json::to_vec_pretty(result).map_err(|e| StateError::Encode(e.to_string()))?;
    fsutil::write_atomic(&path, &bytes, 0o600).map_err(|e| StateError::io(&path, e))
}

pub fn read_result(layout: &Layout, id: &JobId) -> Result<Option<JobResult>, StateError> {
    let path = layout.queue_done().join(job_file(id));
    let Some(bytes) = fsutil::read_if_exists(&path).map_err(|e| StateError::io(&path, e))? else {
        return Ok(None);
    };
    let result: JobResult =
        serde_json::from_slice(&bytes).map_err(|e| StateError::corrupt(&path, e.to_string()))?;
    if result.job.id != *id {
        return Err(StateError::corrupt(&path, "id does not match the file name".into()));
    }
    Ok(Some(result))
}

// --- progress and cancellation ---------------------------------------------------

/// Last reported progress of a running job (`running/{id}.progress`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressReport {
    pub percent: u8,
    pub message: String,
    pub updated: Timestamp,
    /// The runner's process id.
    pub pid: u32,
}

/// The handle a running job reports through. Each report is persisted for
/// hs-srvd's event stream and answers whether a cancel was requested.
#[derive(Debug, Clone)]
pub struct Progress {
    path: PathBuf,
    cancel: PathBuf,
}

impl Progress {
    pub fn new(layout: &Layout, id: &JobId) -> Progress {
        Progress { path: progress_file(layout, id), cancel: cancel_file(layout, id) }
    }

    /// Records `percent` (clamped to 100) and a one-line message. Fails with a
    /// cancellation when a cancel was requested: the job should stop there.
    pub fn report(&self, percent: u8, message: &str) -> Result<(), JobError> {
        let report = ProgressReport {
            percent: percent.min(100),
            message: message.chars().filter(|c| !c.is_control()).take(200).collect(),
            updated: Timestamp::now(),
            pid: std::process::id(),
        };
        if let Ok(bytes) = serde_json::to_vec(&report) {
            // Progress is advisory: a failed write must not fail the job.
            if let Err(e) = fsutil::write_atomic(&self.path, &bytes, 0o600) {
                tracing::warn!(path = %self.path.display(), "progress not written: {e}");
            }
        }
        self.check_cancel()
    }

    pub fn check_cancel(&self) -> Result<(), JobError> {
        if self.cancel.exists() { Err(JobError::cancelled()) } else { Ok(()) }
    }
}

pub fn progress_file(layout: &Layout, id: &JobId) -> PathBuf {
    layout.queue_running().join(format!("{}.progress", id.as_str()))
}

pub fn cancel_file(layout: &Layout, id: &JobId) -> PathBuf {
    layout.queue_control().join(format!("{}.cancel", id.as_str()))
}

pub fn read_progress(layout: &Layout, id: &JobId) -> Option<ProgressReport> {
    let bytes = fs::read(progress_file(layout, id)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

// --- the per-job lock ------------------------------------------------------------

/// The exclusive lock on one job (`control/{id}.lock`), held by whoever moves or
/// runs it. The lock file is removed when the job is finished; a holder checks
/// after locking that the path still names the inode it locked, so a lock on a
/// removed file never counts.
#[derive(Debug)]
pub struct JobLock {
    path: PathBuf,
    _lock: FileLock,
}

impl JobLock {
    pub fn try_acquire(layout: &Layout, id: &JobId) -> io::Result<Option<JobLock>> {
        let path = layout.queue_control().join(format!("{}.lock", id.as_str()));
        for _ in 0..3 {
            let Some(lock) = FileLock::try_acquire(&path)? else { return Ok(None) };
            let held = lock.inode()?;
            match fs::metadata(&path) {
                Ok(m) if m.ino() == held => return Ok(Some(JobLock { path, _lock: lock })),
                // Removed or replaced while we locked: try the current file.
                _ => continue,
            }
        }
        Ok(None)
    }

    /// Releases the lock and removes its file (the job is finished).
    pub fn finish(self) {
        let _ = fs::remove_file(&self.path);
    }
}

// --- reading the queue -----------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Cancelled)
    }
}

/// A job wherever it is in the queue, for status, list and the event stream.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub id: JobId,
    pub kind: &'static str,
    pub account: Option<Username>,
    pub state: JobState,
    pub percent: u8,
    pub message: String,
    pub job: Job,
    pub cancel_requested: bool,
    pub finished: Option<Timestamp>,
    pub output: Option<Value>,
}

/// The job `id` wherever it is: done, running or pending. Invalid files are `None`.
pub fn status(layout: &Layout, id: &JobId) -> Result<Option<JobStatus>, StateError> {
    // A job moves (pending → running → pending for a retry → done) while we look:
    // a look that missed it everywhere is repeated a few times.
    for _ in 0..5 {
        if let Some(st) = look(layout, id)? {
            return Ok(Some(st));
        }
    }
    Ok(None)
}

/// One look at every place a job can be, in the order it moves.
fn look(layout: &Layout, id: &JobId) -> Result<Option<JobStatus>, StateError> {
    if let Some(st) = from_result(layout, id)? {
        return Ok(Some(st));
    }
    for (dir, state) in
        [(layout.queue_running(), JobState::Running), (layout.queue_pending(), JobState::Pending)]
    {
        let Ok(bytes) = fs::read(dir.join(job_file(id))) else { continue };
        let Ok(job) = Job::parse(&bytes, id.as_str()) else { continue };
        let (percent, message) = match (state, read_progress(layout, id)) {
            (JobState::Running, Some(p)) => (p.percent, p.message),
            (JobState::Running, None) => (0, "started".to_string()),
            _ => match &job.last_error {
                Some(e) => (0, format!("waiting to retry: {e}")),
                None => (0, "waiting".to_string()),
            },
        };
        return Ok(Some(view(layout, job, state, percent, message)));
    }
    // It may have finished while we looked: the done file is written first.
    from_result(layout, id)
}

fn from_result(layout: &Layout, id: &JobId) -> Result<Option<JobStatus>, StateError> {
    let Some(result) = read_result(layout, id)? else { return Ok(None) };
    let state = match result.outcome {
        Outcome::Succeeded => JobState::Succeeded,
        Outcome::Failed => JobState::Failed,
        Outcome::Cancelled => JobState::Cancelled,
    };
    let percent = if state == JobState::Succeeded { 100 } else { 0 };
    let mut st = view(layout, result.job, state, percent, result.message);
    st.finished = Some(result.finished);
    st.output = Some(result.output);
    Ok(Some(st))
}

fn view(layout: &Layout, job: Job, state: JobState, percent: u8, message: String) -> JobStatus {
    JobStatus {
        id: job.id.clone(),
        kind: job.task.name(),
        account: job.task.account().cloned(),
        state,
        percent,
        message,
        cancel_requested: cancel_file(layout, &job.id).exists(),
        job,
        finished: None,
        output: None,
    }
}

/// Every job id in the queue's pending, running and done folders.
pub fn all_ids(layout: &Layout) -> Vec<JobId> {
    let mut ids = Vec::new();
    for dir in [layout.queue_pending(), layout.queue_running(), layout.queue_done()] {
        ids.extend(valid_ids(&dir));
    }
    ids.sort();
    ids.dedup();
    ids
}

/// The valid `{id}.json` names in a folder (others are skipped).
pub fn valid_ids(dir: &Path) -> Vec<JobId> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut ids: Vec<JobId> = entries
        .flatten()
        .filter_map(|e| id_of_file(&e.file_name().to_string_lossy())?.ok())
        .collect();
    ids.sort();
    ids
}

/// Asks for a job to stop: a pending job is finished as cancelled at once; a
/// running one sees the request at its next progress report. `Ok(false)` when
/// the job is already finished.
pub fn request_cancel(layout: &Layout, id: &JobId) -> Result<bool, StateError> {
    if read_result(layout, id)?.is_some() {
        return Ok(false);
    }
    let marker = cancel_file(layout, id);
    fsutil::write_atomic(&marker, b"cancel\n", 0o600).map_err(|e| StateError::io(&marker, e))?;
    if read_result(layout, id)?.is_some() {
        // It finished meanwhile (and its runner may have tidied before we wrote).
        let _ = fs::remove_file(&marker);
        return Ok(false);
    }

    let pending = layout.queue_pending().join(job_file(id));
    let lock = JobLock::try_acquire(layout, id).map_err(|e| StateError::io(&pending, e))?;
    if let Some(lock) = lock {
        if let Ok(bytes) = fs::read(&pending)
            && let Ok(job) = Job::parse(&bytes, id.as_str())
        {
            let result = JobResult::new(&job, Outcome::Cancelled, "cancelled", Value::Null);
            write_result(layout, &result)?;
            fsutil::remove_if_exists(&pending).map_err(|e| StateError::io(&pending, e))?;
            let _ = fs::remove_file(&marker);
        }
        lock.finish();
    }
    Ok(true)
}

// --- schedules -------------------------------------------------------------------

/// How often a schedule enqueues its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Every {
    /// Every `seconds` (at least 1) after the last run.
    Interval { seconds: u64 },
    /// Once a day at `hour:minute` UTC.
    Daily { hour: u8, minute: u8 },
}

/// `schedules/{name}.json`: recurring work hs-taskd enqueues when it is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub version: u32,
    /// The schedule's name (same rules as a job id), e.g. `ssl-renew`.
    pub name: JobId,
    pub every: Every,
    pub task: Task,
    pub reason: String,
    /// When it last enqueued its task.
    #[serde(default)]
    pub last_run: Option<Timestamp>,
}

impl Schedule {
    pub fn check(&self) -> Result<(), String> {
        if self.version != QUEUE_VERSION {
            return Err(format!("unsupported version {}", self.version));
        }
        match self.every {
            Every::Interval { seconds: 0 } => {
                return Err("interval must be at least 1 second".into());
            }
            Every::Daily { hour, minute } if hour > 23 || minute > 59 => {
                return Err("daily time must be 00:00 to 23:59".into());
            }
            _ => {}
        }
        if self.reason.chars().count() > MAX_REASON || self.reason.chars().any(char::is_control) {
            return Err(format!("reason: at most {MAX_REASON} characters, one line"));
        }
        self.task.check()
    }

    /// Is the task due at `now`? A schedule that never ran is due at once.
    pub fn is_due(&self, now: Timestamp) -> bool {
        let Some(last) = self.last_run else { return true };
        match self.every {
            Every::Interval { seconds } => {
                let secs = i64::try_from(seconds).unwrap_or(i64::MAX);
                now.duration_since(last) >= SignedDuration::from_secs(secs)
            }
            Every::Daily { hour, minute } => {
                let slot = i64::from(hour) * 3600 + i64::from(minute) * 60;
                let now_s = now.as_second();
                let today_slot = now_s - now_s.rem_euclid(86_400) + slot;
                let latest = if now_s >= today_slot { today_slot } else { today_slot - 86_400 };
                last.as_second() < latest
            }
        }
    }
}

fn schedule_file(layout: &Layout, name: &JobId) -> PathBuf {
    layout.queue_schedules().join(format!("{}.json", name.as_str()))
}

/// Makes sure schedule `name` exists with this timing and task; keeps its
/// `last_run` when it already exists. Safe to call at every start.
pub fn ensure_schedule(
    layout: &Layout,
    name: &JobId,
    every: Every,
    task: Task,
    reason: &str,
) -> Result<(), StateError> {
    let path = schedule_file(layout, name);
    let _lock = schedule_lock(layout, name)?;
    // A new schedule counts from now: its first run is one period (or the next
    // daily slot) away, not a burst of work at every first start.
    let last_run = match read_schedule(&path).ok().flatten() {
        Some(existing) => existing.last_run,
        None => Some(Timestamp::now()),
    };
    let schedule = Schedule {
        version: QUEUE_VERSION,
        name: name.clone(),
        every,
        task,
        reason: reason.to_string(),
        last_run,
    };
    schedule.check().map_err(|r| StateError::corrupt(&path, r))?;
    write_schedule(&path, &schedule)
}

/// Removes schedule `name`; nothing to do when it does not exist.
pub fn remove_schedule(layout: &Layout, name: &JobId) -> Result<(), StateError> {
    let path = schedule_file(layout, name);
    let _lock = schedule_lock(layout, name)?;
    fsutil::remove_if_exists(&path).map_err(|e| StateError::io(&path, e))
}

/// Every valid schedule; damaged files are logged and skipped.
pub fn schedules(layout: &Layout) -> Vec<Schedule> {
    let mut all = Vec::new();
    for name in valid_ids(&layout.queue_schedules()) {
        match read_schedule(&schedule_file(layout, &name)) {
            Ok(Some(s)) if s.name == name => all.push(s),
            Ok(_) => {}
            Err(e) => tracing::warn!("schedule skipped: {e}"),
        }
    }
    all
}

/// Enqueues schedule `name`'s task if it is due at `now`, under the schedule's
/// lock, so two runners enqueue it once. Returns the job enqueued.
pub fn run_if_due(
    layout: &Layout,
    name: &JobId,
    now: Timestamp,
) -> Result<Option<Job>, StateError> {
    let path = schedule_file(layout, name);
    let _lock = schedule_lock(layout, name)?;
    let Some(mut schedule) = read_schedule(&path)? else { return Ok(None) };
    if !schedule.is_due(now) {
        return Ok(None);
    }
    let mut job = Job::new(schedule.task.clone(), Requester::scheduler(), &schedule.reason)?;
    job.schedule = Some(name.clone());
    submit(layout, &job)?;
    schedule.last_run = Some(now);
    write_schedule(&path, &schedule)?;
    Ok(Some(job))
}

fn schedule_lock(layout: &Layout, name: &JobId) -> Result<FileLock, StateError> {
    let path = layout.queue_control().join(format!("schedule-{}.lock", name.as_str()));
    FileLock::acquire(&path).map_err(|e| StateError::io(&path, e))
}

fn read_schedule(path: &Path) -> Result<Option<Schedule>, StateError> {
    let Some(bytes) = fsutil::read_if_exists(path).map_err(|e| StateError::io(path, e))? else {
        return Ok(None);
    };
    let s: Schedule =
        serde_json::from_slice(&bytes).map_err(|e| StateError::corrupt(path, e.to_string()))?;
    s.check().map_err(|r| StateError::corrupt(path, r))?;
    Ok(Some(s))
}

fn write_schedule(path: &Path, schedule: &Schedule) -> Result<(), StateError> {
    let bytes =
        serde_json::to_vec_pretty(schedule).map_err(|e| StateError::Encode(e.to_string()))?;
    fsutil::write_atomic(path, &bytes, 0o600).map_err(|e| StateError::io(path, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"version":1,"id":"j1",
        "task":{"type":"rebuild_web","params":{"user":"alice"}},
        "actor":{"name":"admin","role":"admin"},
        "reason":"template changed","created":"2026-12-03T20:00:00Z"}"#;

    /// One case: a job file's text (GOOD with `from` replaced by `to`), and
    /// `Ok(())` or an error containing the text.
    fn check(from: &str, to: &str, expected: Result<(), &str>) {
        let text = GOOD.replace(from, to);
        match (Job::parse(text.as_bytes(), "j1"), expected) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(want)) => assert!(e.contains(want), "{to}: {e} lacks {want}"),
            (got, want) => panic!("{to}: got {got:?}, wanted {want:?}"),
        }
    }

    #[test]
    fn job_files_table() {
        check("", "", Ok(()));
        check(r#""id":"j1""#, r#""id":"j2""#, Err("does not match"));
        check(r#""id":"j1""#, r#""id":"../j1""#, Err("job id"));
        check(r#""version":1"#, r#""version":2"#, Err("unsupported version"));
        check("rebuild_web", "rm_rf", Err("unknown variant"));
        check(r#""user":"alice""#, r#""user":"alice;rm""#, Err("username"));
        check(r#""user":"alice""#, r#""user":"alice","x":1"#, Err("unknown field"));
        check(r#""role":"admin""#, r#""role":"root""#, Err("unknown variant"));
        check(r#""name":"admin""#, r#""name":"Admin\n""#, Err("invalid actor"));
        check("template changed", "line\\nbreak", Err("one line"));
        check(r#""reason""#, r#""evil":1,"reason""#, Err("unknown field"));
        check(r#""created""#, r#""max_attempts":0,"created""#, Err("max_attempts"));
        check(r#""created""#, r#""attempts":9,"max_attempts":3,"created""#, Err("exceed"));
        check(
            r#""type":"rebuild_web","params":{"user":"alice"}"#,
            r#""type":"probe","params":{"steps":5,"step_ms":99999999}"#,
            Err("out of range"),
        );
        check(
            r#""type":"rebuild_web","params":{"user":"alice"}"#,
            r#""type":"probe","params":{"steps":2,"step_ms":10,"account":"bob"}"#,
            Ok(()),
        );
        let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(70_000));
        assert!(Job::parse(huge.as_bytes(), "j1").unwrap_err().contains("too large"));
    }

    #[test]
    fn round_trip_and_ids() {
        let job = Job::new(
            Task::RebuildDns { user: "alice".parse().unwrap() },
            Requester { name: "admin".into(), role: Role::Admin },
            "because",
        )
        .unwrap();
        let bytes = job.to_bytes().unwrap();
        assert_eq!(Job::parse(&bytes, job.id.as_str()).unwrap(), job);
        assert_ne!(new_id().unwrap(), new_id().unwrap());
        assert!(id_of_file(".hs-tmp-x.json").is_none());
        assert!(id_of_file("a.progress").is_none());
        assert!(id_of_file("BAD.json").unwrap().is_err());
    }

    #[test]
    fn schedules_are_due_table() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let sched = |every, last: Option<&str>| Schedule {
            version: 1,
            name: "x".parse().unwrap(),
            every,
            task: Task::RebuildWeb { user: "alice".parse().unwrap() },
            reason: String::new(),
            last_run: last.map(t),
        };
        let daily = Every::Daily { hour: 3, minute: 30 };
        let hourly = Every::Interval { seconds: 3600 };
        let cases = [
            (hourly, None, "2026-12-03T10:00:00Z", true),
            (hourly, Some("2026-12-03T09:00:01Z"), "2026-12-03T10:00:00Z", false),
            (hourly, Some("2026-12-03T09:00:00Z"), "2026-12-03T10:00:00Z", true),
            (daily, Some("2026-12-03T03:30:00Z"), "2026-12-03T10:00:00Z", false),
            (daily, Some("2026-12-03T03:29:00Z"), "2026-12-03T10:00:00Z", true),
            (daily, Some("2026-12-02T03:30:00Z"), "2026-12-03T03:00:00Z", false),
            (daily, Some("2026-12-02T03:30:00Z"), "2026-12-03T03:31:00Z", true),
        ];
        for (every, last, now, due) in cases {
            assert_eq!(sched(every, last).is_due(t(now)), due, "{every:?} {last:?} {now}");
        }
    }

    #[test]
    fn schedule_enqueues_once_per_period() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::sandbox(dir.path());
        let name: JobId = "web-nightly".parse().unwrap();
        let task = Task::RebuildWeb { user: "alice".parse().unwrap() };
        let every = Every::Interval { seconds: 60 };
        ensure_schedule(&layout, &name, every, task.clone(), "nightly").unwrap();
        // New: its first run is one period away.
        assert!(run_if_due(&layout, &name, Timestamp::now()).unwrap().is_none());
        let now = Timestamp::now() + SignedDuration::from_secs(61);
        assert!(run_if_due(&layout, &name, now).unwrap().is_some());
        assert!(run_if_due(&layout, &name, now).unwrap().is_none());
        // Ensuring again keeps last_run.
        ensure_schedule(&layout, &name, every, task, "nightly").unwrap();
        assert!(run_if_due(&layout, &name, now).unwrap().is_none());
        assert_eq!(valid_ids(&layout.queue_pending()).len(), 1);
    }

    #[test]
    fn cancel_of_pending_job_finishes_it() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::sandbox(dir.path());
        let task = Task::RebuildWeb { user: "alice".parse().unwrap() };
        let job = enqueue(&layout, task, Requester::scheduler(), "test").unwrap();
        assert_eq!(status(&layout, &job.id).unwrap().unwrap().state, JobState::Pending);
        assert!(request_cancel(&layout, &job.id).unwrap());
        assert_eq!(status(&layout, &job.id).unwrap().unwrap().state, JobState::Cancelled);
        assert!(!request_cancel(&layout, &job.id).unwrap());
    }
}
