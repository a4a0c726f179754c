//! `/api/cron/*`: HS::Cron, an account's cron jobs. On the user port the
//! account is the caller's; on the admin port staff name it with `username`.

use hs_modules::cron::{self, CommentInput, JobChange, NewJob};
use hs_types::{CronCommand, CronSchedule, EmailAddress, Username};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{ANYONE, Action, BOTH_PORTS, Call, Field, FieldType as T, Reply, opt, req};

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let user = c.target_only()?;
    c.json(cron::list(&c.app.panel, &c.actor()?, &user)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Add {
    #[serde(default)]
    username: Option<Username>,
    schedule: CronSchedule,
    command: CronCommand,
    #[serde(default)]
    comment: Option<CommentInput>,
}

fn add(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Add = c.parse()?;
    let user = c.target(input.username)?;
    let job = NewJob { schedule: input.schedule, command: input.command, comment: input.comment };
    c.json(cron::add(&c.app.panel, &c.actor()?, &user, job)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    #[serde(default)]
    username: Option<Username>,
    id: u32,
    #[serde(default)]
    schedule: Option<CronSchedule>,
    #[serde(default)]
    command: Option<CronCommand>,
    #[serde(default)]
    comment: Option<CommentInput>,
}

fn edit(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Edit = c.parse()?;
    let user = c.target(input.username)?;
    let change =
        JobChange { schedule: input.schedule, command: input.command, comment: input.comment };
    c.json(cron::edit(&c.app.panel, &c.actor()?, &user, input.id, change)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Delete {
    #[serde(default)]
    username: Option<Username>,
    id: u32,
}

fn delete(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Delete = c.parse()?;
    let user = c.target(input.username)?;
    cron::delete(&c.app.panel, &c.actor()?, &user, input.id)?;
    c.json(json!({ "deleted": input.id }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetMailto {
    #[serde(default)]
    username: Option<Username>,
    mailto: String,
}

fn set_mailto(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: SetMailto = c.parse()?;
    let user = c.target(input.username)?;
    let mailto = match input.mailto.trim() {
        "" => None,
        address => Some(address.parse::<EmailAddress>()?),
    };
    c.json(cron::set_mailto(&c.app.panel, &c.actor()?, &user, mailto)?)
}

const USERNAME: Field = opt("username", T::String, "the account (admin port only)");
const ID: Field = req("id", T::Integer, "the job's id, from list or add");
const COMMENT: Field = opt("comment", T::String, "one line, at most 200 characters");

pub const ACTIONS: &[Action] = &[
    Action {
        module: "cron",
        name: "list",
        summary: "The account's cron jobs with their next run times, and its MAILTO",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME],
        handler: list,
    },
    Action {
        module: "cron",
        name: "add",
        summary: "Add a cron job, run as the account's user",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[
            USERNAME,
            req("schedule", T::String, "five fields, e.g. */5 * * * *, or a macro such as @daily"),
            req("command", T::String, "one line, at most 1024 bytes"),
            COMMENT,
        ],
        handler: add,
    },
    Action {
        module: "cron",
        name: "edit",
        summary: "Change a cron job; absent fields stay, an empty comment removes it",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[
            USERNAME,
            ID,
            opt("schedule", T::String, "five fields or a macro"),
            opt("command", T::String, "one line, at most 1024 bytes"),
            COMMENT,
        ],
        handler: edit,
    },
    Action {
        module: "cron",
        name: "delete",
        summary: "Delete a cron job",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME, ID],
        handler: delete,
    },
    Action {
        module: "cron",
        name: "set_mailto",
        summary: "Where cron mails the jobs' output; empty discards it",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME, req("mailto", T::String, "an e-mail address, or empty")],
        handler: set_mailto,
    },
];
