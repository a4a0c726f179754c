//! `/api/backup/*`: HS::Backup. On the user port the account is the caller's;
//! on the admin port staff name it with `username`. `create` with `background`
//! queues an hs-taskd job and answers with it (its progress is the job's);
//! otherwise backups and restores run on the request's blocking thread and
//! their progress is written to `backup/.scratch/progress-{user}.json`, which
//! `list` shows as `running`.

use hs_config::queue::Task;
use hs_modules::backup::{
    self, CreateRequest, Frequency, NewDestination, RestoreOptions, Schedule,
};
use hs_types::{BackupId, DbName, DestinationName, DomainName, EmailAddress, FilePath, Username};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{
    ADMIN_ONLY, ADMIN_PORT, Action, Call, Field, FieldType as T, Reply, opt, req,
};

/// A progress callback that records the latest step for `list`, and a guard
/// that removes the record when the operation ends, however it ends.
fn progress_file(c: &Call<'_>, user: &Username) -> (impl FnMut(u8, &str) + use<>, Cleared) {
    let path = c.app.panel.layout.backup_scratch().join(format!("progress-{user}.json"));
    let op = c.op_id.clone();
    let cleared = Cleared(path.clone());
    let report = move |pct: u8, step: &str| {
        let body = json!({ "operation_id": op, "percent": pct, "step": step });
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if pct >= 100 {
            let _ = std::fs::remove_file(&path);
        } else {
            let _ = hs_config::fsutil::write_atomic(&path, body.to_string().as_bytes(), 0o600);
        }
    };
    (report, cleared)
}

/// Removes a progress record when dropped: a failed operation is not shown
/// as running forever.
struct Cleared(std::path::PathBuf);

impl Drop for Cleared {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    #[serde(default)]
    username: Option<Username>,
    #[serde(default)]
    incremental: bool,
    #[serde(default)]
    destination: Option<DestinationName>,
    /// Queue the backup as an hs-taskd job and answer with the job at once.
    #[serde(default)]
    background: bool,
}

fn create(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Create = c.parse()?;
    let user = c.target(input.username)?;
    if input.background {
        let task =
            Task::Backup { user, incremental: input.incremental, destination: input.destination };
        return c.json(crate::api::task::submit_job(c, task, "backup asked for through the API")?);
    }
    let request = CreateRequest { incremental: input.incremental, destination: input.destination };
    let (mut progress, _cleared) = progress_file(c, &user);
    c.json(backup::create(&c.app.panel, &c.actor()?, &user, request, &mut progress)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListInput {
    #[serde(default)]
    username: Option<Username>,
}

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ListInput = c.parse()?;
    let actor = c.actor()?;
    // Staff may list every backup they manage; an account holder only their own.
    let user = match (c.portal, input.username) {
        (hs_auth::Portal::Admin, None) => None,
        (_, named) => Some(c.target(named)?),
    };
    let backups = backup::list(&c.app.panel, &actor, user.as_ref())?;
    let running = user.as_ref().and_then(|u| {
        let path = c.app.panel.layout.backup_scratch().join(format!("progress-{u}.json"));
        std::fs::read(path).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    });
    c.json(json!({ "backups": backups, "running": running }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Restore {
    #[serde(default)]
    username: Option<Username>,
    id: BackupId,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    zone: Option<DomainName>,
}

fn restore(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Restore = c.parse()?;
    let user = c.target(input.username)?;
    let opts = RestoreOptions { replace: input.replace, zone: input.zone };
    let (mut progress, _cleared) = progress_file(c, &user);
    let actor = c.actor()?;
    c.json(backup::restore(&c.app.panel, &actor, &user, &input.id, opts, &c.op_id, &mut progress)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreFile {
    #[serde(default)]
    username: Option<Username>,
    id: BackupId,
    path: FilePath,
    #[serde(default)]
    replace: bool,
}

fn restore_file(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: RestoreFile = c.parse()?;
    let user = c.target(input.username)?;
    let (mut progress, _cleared) = progress_file(c, &user);
    let (panel, actor) = (&c.app.panel, c.actor()?);
    let reply = backup::restore_file(
        panel,
        &actor,
        &user,
        &input.id,
        &input.path,
        input.replace,
        &mut progress,
    )?;
    c.json(reply)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreDb {
    #[serde(default)]
    username: Option<Username>,
    id: BackupId,
    name: DbName,
    #[serde(default)]
    replace: bool,
}

fn restore_db(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: RestoreDb = c.parse()?;
    let user = c.target(input.username)?;
    let (mut progress, _cleared) = progress_file(c, &user);
    let (panel, actor) = (&c.app.panel, c.actor()?);
    let reply = backup::restore_db(
        panel,
        &actor,
        &user,
        &input.id,
        &input.name,
        input.replace,
        &mut progress,
    )?;
    c.json(reply)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreMailbox {
    #[serde(default)]
    username: Option<Username>,
    id: BackupId,
    mailbox: EmailAddress,
    #[serde(default)]
    replace: bool,
}

fn restore_mailbox(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: RestoreMailbox = c.parse()?;
    let user = c.target(input.username)?;
    let (mut progress, _cleared) = progress_file(c, &user);
    let (panel, actor) = (&c.app.panel, c.actor()?);
    let (id, mailbox) = (&input.id, &input.mailbox);
    let reply =
        backup::restore_mailbox(panel, &actor, &user, id, mailbox, input.replace, &mut progress)?;
    c.json(reply)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OneBackup {
    #[serde(default)]
    username: Option<Username>,
    id: BackupId,
}

fn verify(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: OneBackup = c.parse()?;
    let user = c.target(input.username)?;
    let (mut progress, _cleared) = progress_file(c, &user);
    c.json(backup::verify(&c.app.panel, &c.actor()?, &user, &input.id, &mut progress)?)
}

fn delete(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: OneBackup = c.parse()?;
    let user = c.target(input.username)?;
    backup::delete(&c.app.panel, &c.actor()?, &user, &input.id)?;
    c.json(json!({ "deleted": input.id }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleInput {
    #[serde(default)]
    username: Option<Username>,
    /// Administrators: the server-wide schedule instead of one account's.
    #[serde(default)]
    server: bool,
    frequency: Frequency,
    #[serde(default = "default_keep")]
    keep: u32,
    #[serde(default)]
    incremental: bool,
    #[serde(default)]
    destination: Option<DestinationName>,
    #[serde(default)]
    verify: bool,
}

/// As the CLI's default: a week of daily backups.
fn default_keep() -> u32 {
    7
}

fn schedule(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ScheduleInput = c.parse()?;
    let user = if input.server { None } else { Some(c.target(input.username)?) };
    let s = Schedule {
        version: 1,
        frequency: input.frequency,
        keep: input.keep,
        incremental: input.incremental,
        destination: input.destination,
        verify: input.verify,
    };
    c.json(backup::set_schedule(&c.app.panel, &c.actor()?, user.as_ref(), s)?)
}

fn add_destination(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: NewDestination = c.parse()?;
    c.json(backup::add_destination(&c.app.panel, &c.actor()?, input)?)
}

fn list_destinations(c: &Call<'_>) -> Result<Reply, ApiError> {
    let _: serde_json::Map<String, serde_json::Value> = c.parse()?;
    c.json(json!({ "destinations": backup::list_destinations(&c.app.panel, &c.actor()?)? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationInput {
    name: DestinationName,
}

fn delete_destination(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: DestinationInput = c.parse()?;
    backup::delete_destination(&c.app.panel, &c.actor()?, &input.name)?;
    c.json(json!({ "deleted": input.name }))
}

const USERNAME: Field = opt("username", T::String, "the account (admin port only)");
const ID: Field = req("id", T::String, "the backup's id, from backup/list");
const REPLACE: Field =
    opt("replace", T::Boolean, "replace what exists instead of restoring beside it");

const fn action(
    name: &'static str,
    summary: &'static str,
    read_only: bool,
    fields: &'static [Field],
    handler: crate::registry::Handler,
) -> Action {
    crate::registry::account_action("backup", name, summary, read_only, fields, handler)
}

const fn admin_action(
    name: &'static str,
    summary: &'static str,
    read_only: bool,
    fields: &'static [Field],
    handler: fn(&Call<'_>) -> Result<Reply, ApiError>,
) -> Action {
    Action {
        module: "backup",
        name,
        summary,
        read_only,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields,
        handler,
    }
}

pub const ACTIONS: &[Action] = &[
    action(
        "create",
        "Back up the account: a full tar+zstd archive, or an incremental restic snapshot",
        false,
        &[
            USERNAME,
            opt("incremental", T::Boolean, "an incremental snapshot (default: full archive)"),
            opt("destination", T::String, "a remote destination (incremental only)"),
            opt("background", T::Boolean, "queue it as an hs-taskd job and answer with the job"),
        ],
        create,
    ),
    action(
        "list",
        "The backups the caller may see, newest first, and a running operation's progress",
        true,
        &[USERNAME],
        list,
    ),
    action(
        "restore",
        "Restore a whole account (also one that no longer exists), or one zone with `zone`",
        false,
        &[
            USERNAME,
            ID,
            opt("replace", T::Boolean, "terminate the existing account first (else a 409)"),
            opt("zone", T::String, "restore only this DNS zone (its records are replaced)"),
        ],
        restore,
    ),
    action(
        "restore_file",
        "Restore one file or folder of the home, as the account's user",
        false,
        &[USERNAME, ID, req("path", T::String, "home-relative path, e.g. /public_html"), REPLACE],
        restore_file,
    ),
    action(
        "restore_db",
        "Restore one database (beside as NAME_restored, or in place with replace)",
        false,
        &[USERNAME, ID, req("name", T::String, "the database"), REPLACE],
        restore_db,
    ),
    action(
        "restore_mailbox",
        "Restore one mailbox's maildir",
        false,
        &[USERNAME, ID, req("mailbox", T::String, "the address, e.g. info@example.com"), REPLACE],
        restore_mailbox,
    ),
    action(
        "verify",
        "Restore into a scratch folder and compare with the backup's manifest",
        true,
        &[USERNAME, ID],
        verify,
    ),
    action("delete", "Delete a backup", false, &[USERNAME, ID], delete),
    action(
        "schedule",
        "Set the account's (or, admins, the server-wide) backup schedule and retention",
        false,
        &[
            USERNAME,
            opt("server", T::Boolean, "administrators: the server-wide schedule"),
            req("frequency", T::String, "daily, weekly, monthly or off"),
            opt("keep", T::Integer, "backups kept (1-365; account holders at most 14)"),
            opt("incremental", T::Boolean, "incremental snapshots instead of full archives"),
            opt("destination", T::String, "a remote destination"),
            opt("verify", T::Boolean, "verify each scheduled backup"),
        ],
        schedule,
    ),
    admin_action(
        "add_destination",
        "Add a remote destination (sftp or s3); its secrets are stored 0600, never shown",
        false,
        &[
            req("type", T::String, "sftp or s3"),
            req("name", T::String, "a-z, 0-9 and -"),
            opt("host", T::String, "sftp: server"),
            opt("port", T::Integer, "sftp: port (22)"),
            opt("login", T::String, "sftp: login"),
            opt("path", T::String, "sftp: folder"),
            opt("private_key", T::String, "sftp: OpenSSH private key"),
            opt("endpoint", T::String, "s3: http(s)://host:port"),
            opt("bucket", T::String, "s3: bucket"),
            opt("prefix", T::String, "s3: folder in the bucket"),
            opt("access_key", T::String, "s3: access key"),
            opt("secret_key", T::String, "s3: secret key"),
        ],
        add_destination,
    ),
    admin_action("list_destinations", "The remote destinations", true, &[], list_destinations),
    admin_action(
        "delete_destination",
        "Forget a remote destination and its key; refused while backups are kept there",
        false,
        &[req("name", T::String, "the destination")],
        delete_destination,
    ),
];
