//! `/api/account/*`: HS::Account. Staff manage accounts on the admin port; an
//! account holder sees its own on the user port.

use hs_modules::account::{self, CreateAccount};
use hs_types::{Password, PlanName, Username};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{
    ADMIN_ONLY, ADMIN_PORT, ANYONE, Action, BOTH_PORTS, Call, FieldType as T, Reply, STAFF, opt,
    req,
};

fn create(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: CreateAccount = c.parse()?;
    let view = account::create(&c.app.panel, &c.actor()?, input, &c.op_id)?;
    c.json(view)
}

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let accounts = account::list(&c.app.panel, &c.actor()?)?;
    c.json(json!({ "accounts": accounts }))
}

fn show(c: &Call<'_>) -> Result<Reply, ApiError> {
    let user = c.target_only()?;
    c.json(account::show(&c.app.panel, &c.actor()?, &user)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Suspend {
    username: Username,
    #[serde(default)]
    reason: String,
}

fn suspend(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Suspend = c.parse()?;
    c.json(account::suspend(&c.app.panel, &c.actor()?, &input.username, &input.reason)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Username1 {
    username: Username,
}

fn unsuspend(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Username1 = c.parse()?;
    c.json(account::unsuspend(&c.app.panel, &c.actor()?, &input.username)?)
}

fn terminate(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Username1 = c.parse()?;
    account::terminate(&c.app.panel, &c.actor()?, &input.username, &c.op_id)?;
    c.json(json!({ "terminated": input.username }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePlan {
    username: Username,
    plan: PlanName,
}

fn change_plan(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ChangePlan = c.parse()?;
    c.json(account::change_plan(&c.app.panel, &c.actor()?, &input.username, &input.plan)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetPassword {
    username: Username,
    password: Password,
}

/// Staff set a managed account's password (account holders use auth/change_password).
fn set_password(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: SetPassword = c.parse()?;
    account::change_password(&c.app.panel, &c.actor()?, &input.username, &input.password)?;
    c.json(json!({ "changed": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetResellerLimit {
    username: Username,
    #[serde(default)]
    max_accounts: Option<u32>,
}

fn set_reseller_limit(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: SetResellerLimit = c.parse()?;
    let actor = c.actor()?;
    let view =
        account::set_reseller_limit(&c.app.panel, &actor, &input.username, input.max_accounts)?;
    c.json(view)
}

const USERNAME: crate::registry::Field = req("username", T::String, "the account");

pub const ACTIONS: &[Action] = &[
    Action {
        module: "account",
        name: "create",
        summary: "Create an account: Linux user, home, PHP-FPM pool and first website",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[
            USERNAME,
            req("domain", T::String, "the account's first domain"),
            req("password", T::String, ""),
            opt("plan", T::String, "default: `default`"),
            opt("reseller", T::Boolean, "admin only: make it a reseller"),
            opt("max_accounts", T::Integer, "with reseller: accounts it may own"),
        ],
        handler: create,
    },
    Action {
        module: "account",
        name: "list",
        summary: "Accounts the caller manages",
        read_only: true,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[],
        handler: list,
    },
    Action {
        module: "account",
        name: "show",
        summary: "One account (on the user port: your own)",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[opt("username", T::String, "required on the admin port")],
        handler: show,
    },
    Action {
        module: "account",
        name: "suspend",
        summary: "Suspend: sites show the suspended page, logins are refused",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[USERNAME, opt("reason", T::String, "one line")],
        handler: suspend,
    },
    Action {
        module: "account",
        name: "unsuspend",
        summary: "Lift a suspension",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[USERNAME],
        handler: unsuspend,
    },
    Action {
        module: "account",
        name: "terminate",
        summary: "Remove the account and everything it owned",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[USERNAME],
        handler: terminate,
    },
    Action {
        module: "account",
        name: "change_plan",
        summary: "Move the account to another plan",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[USERNAME, req("plan", T::String, "")],
        handler: change_plan,
    },
    Action {
        module: "account",
        name: "set_password",
        summary: "Set a managed account's password; ends its sessions",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[USERNAME, req("password", T::String, "")],
        handler: set_password,
    },
    Action {
        module: "account",
        name: "set_reseller_limit",
        summary: "Set how many accounts a reseller may own (absent: no cap)",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields: &[USERNAME, opt("max_accounts", T::Integer, "")],
        handler: set_reseller_limit,
    },
];
