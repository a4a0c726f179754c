//! HS::Task: the jobs of hs-taskd's queue as tenants see them, and the work of
//! each job kind.
//!
//! Who sees a job: the administrator every job; a reseller the jobs about its
//! customers' accounts and those it asked for; an account holder the jobs about
//! its own account. Any other job looks like a missing one (404).
//!
//! The job functions (`rebuild_web`, `rebuild_dns`, `probe`, `autossl`, ...) are
//! what hs-taskd calls for each [`Task`] kind: each takes the [`Progress`]
//! handle, reports through it, and must be idempotent: a job interrupted by a
//! crash runs again from the start. A cancel request stops the rebuilds, the
//! probe and `backup_due` at their next report; the SSL and backup kinds that
//! call a module, once started, run to their end.

use std::io::Write;
use std::time::Duration;

use hs_config::fsutil::FileLock;
use hs_config::queue::{self, Job, JobError, JobState, JobStatus, Probe, Progress, Task};
use hs_config::state::{Owner, Role};
use hs_config::{Layout, locks};
use hs_types::{JobId, Username};
use serde_json::{Value, json};

use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};
use crate::web;

/// At most this many jobs are listed, newest first.
pub const LIST_LIMIT: usize = 200;

/// May `actor` see (and cancel) `job`?
pub fn visible(panel: &Panel, actor: &Actor, job: &Job) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::User => job.task.account().is_some_and(|a| a.as_str() == actor.name),
        Role::Reseller => {
            let asked = job.actor.role == Role::Reseller && job.actor.name == actor.name;
            let customer = job.task.account().is_some_and(|user| {
                matches!(panel.store.account(user), Ok(Some(account))
                    if matches!(&account.owner, Owner::Reseller(r) if r.as_str() == actor.name))
            });
            asked || customer
        }
    }
}

/// One job's status, if the actor may see it.
pub fn status(panel: &Panel, actor: &Actor, id: &JobId) -> Result<JobStatus> {
    match queue::status(&panel.layout, id)? {
        Some(st) if visible(panel, actor, &st.job) => Ok(st),
        _ => Err(ModuleError::NotFound(format!("job {id} does not exist"))),
    }
}

/// The jobs the actor may see, newest first, at most [`LIST_LIMIT`].
pub fn list(panel: &Panel, actor: &Actor, state: Option<JobState>) -> Result<Vec<JobStatus>> {
    let mut ids = queue::all_ids(&panel.layout);
    ids.reverse();
    let mut out = Vec::new();
    for id in ids {
        let Some(st) = queue::status(&panel.layout, &id)? else { continue };
        if state.is_some_and(|s| s != st.state) || !visible(panel, actor, &st.job) {
            continue;
        }
        out.push(st);
        if out.len() == LIST_LIMIT {
            break;
        }
    }
    out.sort_by_key(|st| std::cmp::Reverse(st.job.created));
    Ok(out)
}

/// Cancels a job the actor may see: a pending one at once, a running one at its
/// next progress report. A finished job is a conflict.
pub fn cancel(panel: &Panel, actor: &Actor, id: &JobId) -> Result<JobStatus> {
    status(panel, actor, id)?;
    if !queue::request_cancel(&panel.layout, id)? {
        return Err(ModuleError::Conflict(format!("job {id} has already finished")));
    }
    tracing::info!(target: "audit", job = %id, actor = %actor.name, "job cancel requested");
    status(panel, actor, id)
}

/// Submits `task` on behalf of `actor`, who must manage the account it is about.
pub fn submit(panel: &Panel, actor: &Actor, task: Task, reason: &str) -> Result<Job> {
    if reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(ModuleError::Invalid("reason: one line of at most 200 characters".into()));
    }
    match task.account() {
        Some(user) => {
            crate::account::load_managed(panel, actor, user)?;
        }
        None if actor.role != Role::Admin => {
            return Err(ModuleError::Forbidden("only the administrator may submit this".into()));
        }
        None => {}
    }
    if matches!(task, Task::Probe(_)) && !panel.layout.is_sandbox() {
        return Err(ModuleError::Invalid("probe jobs exist in a sandbox only".into()));
    }
    let requester = queue::Requester { name: actor.name.clone(), role: actor.role };
    let job = queue::enqueue(&panel.layout, task, requester, reason)?;
    tracing::info!(target: "audit", job = %job.id, kind = job.task.name(), actor = %actor.name,
        "job submitted");
    Ok(job)
}

// --- the job kinds' work --------------------------------------------------------

/// A module failure as a job failure: a service that refused may accept later
/// (transient); anything the caller got wrong will not pass by retrying.
impl From<ModuleError> for JobError {
    fn from(e: ModuleError) -> JobError {
        match e {
            ModuleError::Service(m) | ModuleError::Internal(m) => JobError::transient(m),
            other => JobError::permanent(other.to_string()),
        }
    }
}

fn state_err(e: hs_config::StateError) -> JobError {
    JobError::transient(e.to_string())
}

/// `rebuild_web`: every site map of the account and its PHP-FPM pool, rendered
/// again and applied through the pipeline (nginx and PHP-FPM reload).
pub fn rebuild_web(
    panel: &Panel,
    user: &Username,
    progress: &Progress,
) -> std::result::Result<Value, JobError> {
    progress.report(5, "reading the account")?;
    let _lock = locks::account(&panel.layout, user).map_err(state_err)?;
    let account = panel
        .store
        .account(user)
        .map_err(state_err)?
        .ok_or_else(|| JobError::permanent(format!("account {user} does not exist")))?;
    let domains = panel.store.domains(user).map_err(state_err)?;
    let templates = panel.templates()?;

    progress.report(20, &format!("rendering {} site maps", domains.len()))?;
    let names: Vec<_> = domains.iter().map(|d| d.domain.clone()).collect();
    let changes = web::site_changes(panel, &templates, &account, &domains, &names)?;
    progress.report(40, "reloading nginx")?;
    web::apply_nginx(panel, &changes)?;

    progress.report(70, "reloading PHP-FPM")?;
    let pool = web::pool_change(panel, &templates, &account)?;
    web::apply_php(panel, &[pool])?;
    progress.report(100, "done")?;
    Ok(json!({ "site_maps": names.len(), "pool": true }))
}

/// `rebuild_dns`: every zone of the account written again from its state, with a
/// new serial, each reloaded alone.
pub fn rebuild_dns(
    panel: &Panel,
    user: &Username,
    progress: &Progress,
) -> std::result::Result<Value, JobError> {
    progress.report(5, "reading the account")?;
    let _lock = locks::account(&panel.layout, user).map_err(state_err)?;
    if panel.store.account(user).map_err(state_err)?.is_none() {
        return Err(JobError::permanent(format!("account {user} does not exist")));
    }
    let domains = panel.store.domains(user).map_err(state_err)?;
    let total = domains.len().max(1);
    let mut zones = Vec::new();
    for (i, d) in domains.iter().enumerate() {
        let percent = (10 + 90 * i / total) as u8;
        progress.report(percent, &format!("zone {}", d.domain))?;
        if crate::dns::rewrite_zone(panel, user, &d.domain)? {
            zones.push(d.domain.as_str().to_string());
        }
    }
    progress.report(100, "done")?;
    Ok(json!({ "zones": zones }))
}

/// `probe` (sandbox only): the test job. Each start appends a line to
/// `queue/probe/{id}.starts`; the first `fail_times` attempts fail transiently;
/// then `steps` steps of `step_ms`, and the effect: the job id appended to
/// `queue/probe/effects.log` unless it is there already (idempotent).
pub fn probe(
    panel: &Panel,
    job: &Job,
    params: &Probe,
    progress: &Progress,
) -> std::result::Result<Value, JobError> {
    let layout = &panel.layout;
    if !layout.is_sandbox() {
        return Err(JobError::permanent("probe jobs run in a sandbox only"));
    }
    let dir = probe_dir(layout);
    let io = |e: std::io::Error| JobError::transient(e.to_string());
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut starts = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{}.starts", job.id)))
        .map_err(io)?;
    writeln!(starts, "{} attempt {}", std::process::id(), job.attempts).map_err(io)?;

    if job.attempts <= params.fail_times {
        return Err(JobError::transient(format!("planned failure {}", job.attempts)));
    }
    let steps = params.steps.max(1);
    for step in 0..steps {
        let percent = (step * 100 / steps) as u8;
        progress.report(percent, &format!("step {} of {steps}", step + 1))?;
        std::thread::sleep(Duration::from_millis(params.step_ms));
    }

    let _lock = FileLock::acquire(&dir.join("effects.lock")).map_err(io)?;
    let log = dir.join("effects.log");
    let done = std::fs::read_to_string(&log).unwrap_or_default();
    let applied = done.lines().any(|l| l == job.id.as_str());
    if !applied {
        let mut file =
            std::fs::OpenOptions::new().create(true).append(true).open(&log).map_err(io)?;
        writeln!(file, "{}", job.id).map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    progress.report(100, "done")?;
    Ok(json!({ "steps": steps, "already_applied": applied }))
}

pub fn probe_dir(layout: &Layout) -> std::path::PathBuf {
    layout.queue().join("probe")
}

/// The job's requester as the actor of the module call (checked at submit time,
/// checked again by the module).
fn job_actor(job: &Job) -> Actor {
    Actor { name: job.actor.name.clone(), role: job.actor.role, op_id: Some(job.id.to_string()) }
}

/// Runs module work that reports through a plain callback; its reports land in
/// the job's progress file.
fn reporting<T>(
    progress: &Progress,
    work: impl FnOnce(&mut dyn FnMut(u8, &str)) -> Result<T>,
) -> std::result::Result<T, JobError> {
    progress.report(1, "starting")?;
    let mut report = |percent: u8, message: &str| {
        let _ = progress.report(percent, message);
    };
    Ok(work(&mut report)?)
}

fn to_output(value: impl serde::Serialize) -> std::result::Result<Value, JobError> {
    serde_json::to_value(value).map_err(|e| JobError::permanent(e.to_string()))
}

/// `autossl`: the certificate ordered from the ACME CA and installed.
pub fn autossl(
    panel: &Panel,
    job: &Job,
    user: &Username,
    name: &hs_types::CertName,
    progress: &Progress,
) -> std::result::Result<Value, JobError> {
    let actor = job_actor(job);
    to_output(reporting(progress, |report| crate::ssl::autossl(panel, &actor, user, name, report))?)
}

/// `ssl_renew_due`: every ordered certificate expiring within `within_days`
/// renewed; a failure is recorded on its certificate and fails the job.
pub fn ssl_renew_due(
    panel: &Panel,
    within_days: u32,
    progress: &Progress,
) -> std::result::Result<Value, JobError> {
    let within = i64::from(within_days) * 86_400;
    let report = reporting(progress, |report| crate::ssl::renew_due(panel, within, report))?;
    if !report.failed.is_empty() {
        let names: Vec<&str> = report.failed.iter().map(|(n, _)| n.as_str()).collect();
        return Err(JobError::permanent(format!("renewal failed for {}", names.join(", "))));
    }
    to_output(report)
}

/// `backup`: one backup of the account.
pub fn backup(
    panel: &Panel,
    job: &Job,
    user: &Username,
    request: crate::backup::CreateRequest,
    progress: &Progress,
) -> std::result::Result<Value, JobError> {
    let actor = job_actor(job);
    reporting(progress, |report| crate::backup::create(panel, &actor, user, request, report))
}

/// `backup_scheduled`: the account's scheduled backup, retention and verification.
pub fn backup_scheduled(
    panel: &Panel,
    user: &Username,
    progress: &Progress,
) -> std::result::Result<Value, JobError> {
    reporting(progress, |report| crate::backup::run_scheduled(panel, user, report))
}

/// `backup_due`: a `backup_scheduled` job queued for every account whose
/// schedule is due and that has no such job waiting or running.
pub fn backup_due(panel: &Panel, progress: &Progress) -> std::result::Result<Value, JobError> {
    progress.report(5, "reading the schedules")?;
    let now = jiff::Timestamp::now();
    let busy: Vec<Task> = queue::all_ids(&panel.layout)
        .iter()
        .filter_map(|id| queue::status(&panel.layout, id).ok().flatten())
        .filter(|st| matches!(st.state, JobState::Pending | JobState::Running))
        .map(|st| st.job.task)
        .collect();
    let mut queued = Vec::new();
    for account in panel.store.accounts().map_err(state_err)? {
        let user = account.username;
        let task = Task::BackupScheduled { user: user.clone() };
        if busy.contains(&task) || !crate::backup::schedule_due(panel, &user, now)? {
            continue;
        }
        let job = queue::enqueue(&panel.layout, task, queue::Requester::scheduler(), "due")
            .map_err(state_err)?;
        queued.push(json!({ "user": user, "job": job.id }));
    }
    progress.report(100, "done")?;
    Ok(json!({ "queued": queued }))
}
