//! hs-taskd, the job queue's runner: claims jobs from `var/hspanel/queue/pending/`,
//! runs each under its exclusive lock, retries transient failures with backoff,
//! resumes jobs a dead runner left, and enqueues scheduled work when it is due.
//! The queue's format and the submitting side are `hs_config::queue`.
//!
//! Invariants:
//! - a job runs only while its runner holds `control/{id}.lock`, taken before the
//!   job leaves `pending/` and kept until its result is in `done/`: no job ever
//!   runs twice at once, whatever number of runners race for it;
//! - a job in `running/` whose lock is free was left by a dead runner and runs
//!   again; job kinds are idempotent, so a crash costs a rerun, never a double
//!   effect;
//! - `done/{id}.json` is written before the job leaves `running/`, so a crash
//!   between the two finds the result and only tidies up;
//! - a job file that fails validation is moved to `rejected/` and never run.

pub mod runner;

use hs_config::queue::{Job, JobError, Progress, Task};
use hs_modules::{Panel, task};
use serde_json::Value;

pub use runner::Runner;

/// Does one job's work. Adding a job kind: a [`Task`] variant in
/// `hs_config::queue` and one arm here calling its `hs_modules` function.
pub fn execute(panel: &Panel, job: &Job, progress: &Progress) -> Result<Value, JobError> {
    match &job.task {
        Task::RebuildWeb { user } => task::rebuild_web(panel, user, progress),
        Task::RebuildDns { user } => task::rebuild_dns(panel, user, progress),
        Task::Probe(params) => task::probe(panel, job, params, progress),
        Task::Autossl { user, name } => task::autossl(panel, job, user, name, progress),
        Task::SslRenewDue { within_days } => task::ssl_renew_due(panel, *within_days, progress),
        Task::Backup { user, incremental, destination } => {
            let request = hs_modules::backup::CreateRequest {
                incremental: *incremental,
                destination: destination.clone(),
            };
            task::backup(panel, job, user, request, progress)
        }
        Task::BackupScheduled { user } => task::backup_scheduled(panel, user, progress),
        Task::BackupDue => task::backup_due(panel, progress),
    }
}
