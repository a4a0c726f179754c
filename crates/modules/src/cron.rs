//! HS::Cron: an account's cron jobs (list, add, edit, delete) and its `MAILTO`.
//!
//! The jobs live in `userdata/{user}/cron.yaml`; the account's crontab is
//! rendered from that file as a whole and installed with `crontab -u USER -`
//! for the account's own Linux user, so the jobs run as that user and no other
//! crontab (another user's, or the system's) is ever touched. A suspended
//! account has no crontab; unsuspending installs it again from the state.

use hs_config::cron::{CronJob, CronTable, render_crontab};
use hs_config::state::{Account, Plan};
use hs_config::{fsutil, locks, yaml};
use hs_services::cron::Cron;
use hs_types::{CronCommand, CronComment, CronSchedule, EmailAddress, InvalidValue, Username};
use serde::{Deserialize, Serialize};

use crate::account;
use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};

/// How many next run times a job shows.
pub const NEXT_RUNS: usize = 5;

/// A hard cap whatever the plan says, so a crontab stays a small file.
pub const MAX_JOBS: usize = 500;

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: u32,
    pub schedule: String,
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The next start times in the server's time zone, RFC 3339; empty for
    /// `@reboot`, which runs when cron starts.
    pub next_runs: Vec<String>,
}

/// All of an account's jobs.
#[derive(Debug, Clone, Serialize)]
pub struct CronView {
    pub username: String,
    /// Where cron mails the jobs' output; absent: the output is discarded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mailto: Option<String>,
    /// A suspended account's jobs are kept but do not run.
    pub suspended: bool,
    /// The time zone cron reads the schedules in.
    pub time_zone: String,
    pub jobs: Vec<JobView>,
}

/// A new job.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    pub schedule: CronSchedule,
    pub command: CronCommand,
    #[serde(default)]
    pub comment: Option<CommentInput>,
}

/// What an edit changes; an absent field stays as it is.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobChange {
    #[serde(default)]
    pub schedule: Option<CronSchedule>,
    #[serde(default)]
    pub command: Option<CronCommand>,
    #[serde(default)]
    pub comment: Option<CommentInput>,
}

/// A comment as sent: an empty one means "no comment".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct CommentInput(pub Option<CronComment>);

impl TryFrom<String> for CommentInput {
    type Error = InvalidValue;
    fn try_from(text: String) -> std::result::Result<Self, InvalidValue> {
        CommentInput::parse(&text)
    }
}

impl CommentInput {
    pub fn parse(text: &str) -> std::result::Result<Self, InvalidValue> {
        if text.trim_matches(' ').is_empty() {
            return Ok(CommentInput(None));
        }
        text.parse().map(|c| CommentInput(Some(c)))
    }
}

pub fn list(panel: &Panel, actor: &Actor, user: &Username) -> Result<CronView> {
    let account = account::load_managed(panel, actor, user)?;
    let table = panel.store.cron_table(user)?;
    Ok(view(&account, &table))
}

pub fn add(panel: &Panel, actor: &Actor, user: &Username, job: NewJob) -> Result<JobView> {
    let event = serde_json::json!({
        "username": user,
        "schedule": &job.schedule,
        "command": &job.command,
        "comment": job.comment.as_ref().and_then(|c| c.0.as_ref()),
    });
    crate::hooks::around(panel, actor, "addcron", event, || add_now(panel, actor, user, job))
}

fn add_now(panel: &Panel, actor: &Actor, user: &Username, job: NewJob) -> Result<JobView> {
    let id = change(panel, actor, user, |account, table| {
        check_limit(panel, account, table.jobs.len() + 1)?;
        let id = table.next_id;
        table.next_id = id.checked_add(1).ok_or_else(|| ModuleError::internal("ids ran out"))?;
        let comment = job.comment.and_then(|c| c.0);
        table.jobs.push(CronJob { id, schedule: job.schedule, command: job.command, comment });
        Ok(id)
    })?;
    tracing::info!(user = %user, job = id, "cron job added");
    shown(panel, user, id)
}

pub fn edit(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    id: u32,
    edit: JobChange,
) -> Result<JobView> {
    let event = serde_json::json!({
        "username": user,
        "id": id,
        "schedule": &edit.schedule,
        "command": &edit.command,
        "comment": edit.comment.as_ref().map(|c| c.0.as_ref()),
    });
    crate::hooks::around(panel, actor, "editcron", event, || edit_now(panel, actor, user, id, edit))
}

fn edit_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    id: u32,
    edit: JobChange,
) -> Result<JobView> {
    change(panel, actor, user, |_, table| {
        let job = table.jobs.iter_mut().find(|j| j.id == id).ok_or_else(|| missing(user, id))?;
        if let Some(schedule) = edit.schedule {
            job.schedule = schedule;
        }
        if let Some(command) = edit.command {
            job.command = command;
        }
        if let Some(comment) = edit.comment {
            job.comment = comment.0;
        }
        Ok(())
    })?;
    tracing::info!(user = %user, job = id, "cron job changed");
    shown(panel, user, id)
}

pub fn delete(panel: &Panel, actor: &Actor, user: &Username, id: u32) -> Result<()> {
    let event = serde_json::json!({ "username": user, "id": id });
    crate::hooks::around(panel, actor, "removecron", event, || delete_now(panel, actor, user, id))
}

fn delete_now(panel: &Panel, actor: &Actor, user: &Username, id: u32) -> Result<()> {
    change(panel, actor, user, |_, table| {
        let before = table.jobs.len();
        table.jobs.retain(|j| j.id != id);
        if table.jobs.len() == before {
            return Err(missing(user, id));
        }
        Ok(())
    })?;
    tracing::info!(user = %user, job = id, "cron job deleted");
    Ok(())
}

/// Sets where cron mails the jobs' output; `None` discards it.
pub fn set_mailto(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    mailto: Option<EmailAddress>,
) -> Result<CronView> {
    let event = serde_json::json!({ "username": user, "mailto": &mailto });
    crate::hooks::around(panel, actor, "setcronmailto", event, || {
        set_mailto_now(panel, actor, user, mailto)
    })
}

fn set_mailto_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    mailto: Option<EmailAddress>,
) -> Result<CronView> {
    change(panel, actor, user, |_, table| {
        table.mailto = mailto;
        Ok(())
    })?;
    list(panel, actor, user)
}

/// The account's crontab as cron has it installed (`crontab -l`), for
/// administrators to compare with the state.
pub fn installed(panel: &Panel, actor: &Actor, user: &Username) -> Result<Option<String>> {
    account::load_managed(panel, actor, user)?;
    Cron::new(&panel.layout).installed(user).map_err(ModuleError::Service)
}

/// Installs the account's crontab from its state, or removes it when the
/// account is suspended or has no jobs. Suspension calls this.
pub fn sync(panel: &Panel, account: &Account) -> Result<()> {
    let table = panel.store.cron_table(&account.username)?;
    apply(panel, account, &table)
}

/// Removes the account's crontab (termination). The state goes with the
/// account's folder.
pub fn remove_crontab(panel: &Panel, user: &Username) -> Result<()> {
    Cron::new(&panel.layout).remove(user).map_err(ModuleError::Service)
}

/// Refuses a plan change that the account's current jobs would exceed.
pub fn check_usage_fits(panel: &Panel, account: &Account, plan: &Plan) -> Result<()> {
    let jobs = panel.store.cron_table(&account.username)?.jobs.len();
    match plan.limits.cron_jobs {
        Some(limit) if jobs > limit as usize => Err(ModuleError::LimitReached(format!(
            "{} has {jobs} cron jobs; plan {} allows {limit}",
            account.username, plan.name
        ))),
        _ => Ok(()),
    }
}

/// Read-modify-write of the table under the account lock: `edit` changes a
/// copy (refusing, if it must, before anything is written), then the state
/// is written and the crontab installed; if cron refuses, the state is put
/// back, so state and crontab never disagree after an error.
fn change<T>(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    edit: impl FnOnce(&Account, &mut CronTable) -> Result<T>,
) -> Result<T> {
    let _lock = locks::account(&panel.layout, user)?;
    let account = account::load_managed(panel, actor, user)?;
    let mut table = panel.store.cron_table(user)?;
    let out = edit(&account, &mut table)?;

    // FIXME: a crash between this write and the install leaves the crontab one
    // change behind until the account's next cron change; no journal step yet.
    let path = panel.layout.cron_file(user);
    let text = yaml::to_string(&table)?;
    let previous = fsutil::write_keeping_backup(&path, text.as_bytes(), 0o600)
        .map_err(ModuleError::internal)?;
    if let Err(e) = apply(panel, &account, &table) {
        if let Err(undo) = fsutil::restore(&path, previous.as_deref(), 0o600) {
            tracing::error!(user = %user, "cannot restore {}: {undo}", path.display());
        }
        return Err(e);
    }
    Ok(out)
}

fn apply(panel: &Panel, account: &Account, table: &CronTable) -> Result<()> {
    let cron = Cron::new(&panel.layout);
    let user = &account.username;
    let result = if account.suspended.is_some() || table.jobs.is_empty() {
        cron.remove(user)
    } else {
        cron.install(user, &render_crontab(table))
    };
    result.map_err(|e| ModuleError::Service(format!("cron did not take the jobs: {e}")))
}

fn check_limit(panel: &Panel, account: &Account, wanted: usize) -> Result<()> {
    if wanted > MAX_JOBS {
        return Err(ModuleError::LimitReached(format!(
            "an account has at most {MAX_JOBS} cron jobs"
        )));
    }
    let limit = panel.store.plan(&account.plan)?.and_then(|p| p.limits.cron_jobs);
    match limit {
        Some(limit) if wanted > limit as usize => Err(ModuleError::LimitReached(format!(
            "plan {} allows {limit} cron jobs",
            account.plan
        ))),
        _ => Ok(()),
    }
}

fn missing(user: &Username, id: u32) -> ModuleError {
    ModuleError::NotFound(format!("{user} has no cron job {id}"))
}

fn shown(panel: &Panel, user: &Username, id: u32) -> Result<JobView> {
    let table = panel.store.cron_table(user)?;
    let job = table.job(id).ok_or_else(|| missing(user, id))?;
    Ok(job_view(job, &jiff::Zoned::now()))
}

fn view(account: &Account, table: &CronTable) -> CronView {
    let now = jiff::Zoned::now();
    CronView {
        username: account.username.to_string(),
        mailto: table.mailto.as_ref().map(ToString::to_string),
        suspended: account.suspended.is_some(),
        time_zone: now.time_zone().iana_name().unwrap_or("local").to_string(),
        jobs: table.jobs.iter().map(|job| job_view(job, &now)).collect(),
    }
}

/// The job with its next run times, computed in the zone of `now` (the
/// server's, which is the one cron uses).
fn job_view(job: &CronJob, now: &jiff::Zoned) -> JobView {
    let zone = now.time_zone();
    let next_runs = job
        .schedule
        .next_runs(now.datetime(), NEXT_RUNS)
        .into_iter()
        .filter_map(|at| at.to_zoned(zone.clone()).ok())
        .map(|at| at.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .collect();
    JobView {
        id: job.id,
        schedule: job.schedule.to_string(),
        command: job.command.to_string(),
        comment: job.comment.as_ref().map(ToString::to_string),
        next_runs,
    }
}
