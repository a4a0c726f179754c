//! `/api/database/*`: HS::Database. On the user port the account is the caller's;
//! on the admin port staff name it with `username`.

use hs_modules::database;
use hs_types::{DbHost, DbName, DbPrivilege, DbUser, Password, Username};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{Action, Call, Field, FieldType as T, Reply, opt, req};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Db {
    #[serde(default)]
    username: Option<Username>,
    name: DbName,
}

fn create_db(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Db = c.parse()?;
    let user = c.target(input.username)?;
    c.json(database::create_db(&c.app.panel, &c.actor()?, &user, input.name)?)
}

fn delete_db(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Db = c.parse()?;
    let user = c.target(input.username)?;
    database::delete_db(&c.app.panel, &c.actor()?, &user, &input.name)?;
    c.json(json!({ "deleted": input.name }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserWithPassword {
    #[serde(default)]
    username: Option<Username>,
    name: DbUser,
    password: Password,
}

fn create_user(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: UserWithPassword = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(database::create_user(&c.app.panel, &actor, &user, input.name, &input.password)?)
}

fn change_password(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: UserWithPassword = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    database::change_password(&c.app.panel, &actor, &user, &input.name, &input.password)?;
    c.json(json!({ "changed": input.name }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct User {
    #[serde(default)]
    username: Option<Username>,
    name: DbUser,
}

fn delete_user(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: User = c.parse()?;
    let user = c.target(input.username)?;
    database::delete_user(&c.app.panel, &c.actor()?, &user, &input.name)?;
    c.json(json!({ "deleted": input.name }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    #[serde(default)]
    username: Option<Username>,
    user: DbUser,
    db: DbName,
    privileges: Vec<DbPrivilege>,
}

/// What `grant` and `revoke` share: the same input, one module function each.
type GrantChange = fn(
    &hs_modules::Panel,
    &hs_modules::Actor,
    &Username,
    &DbUser,
    &DbName,
    &[DbPrivilege],
) -> hs_modules::Result<database::DbUserView>;

fn change_grant(c: &Call<'_>, change: GrantChange) -> Result<Reply, ApiError> {
    let input: Grant = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(change(&c.app.panel, &actor, &user, &input.user, &input.db, &input.privileges)?)
}

fn grant(c: &Call<'_>) -> Result<Reply, ApiError> {
    change_grant(c, database::grant)
}

fn revoke(c: &Call<'_>) -> Result<Reply, ApiError> {
    change_grant(c, database::revoke)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoteHosts {
    #[serde(default)]
    username: Option<Username>,
    name: DbUser,
    hosts: Vec<DbHost>,
}

fn set_remote_hosts(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: RemoteHosts = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(database::set_remote_hosts(&c.app.panel, &actor, &user, &input.name, input.hosts)?)
}

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let user = c.target_only()?;
    c.json(database::list(&c.app.panel, &c.actor()?, &user)?)
}

const USERNAME: Field = opt("username", T::String, "the account (admin port only)");
const DB_NAME: Field = req("name", T::String, "the full name with the prefix, e.g. alice_shop");
const USER_NAME: Field = req("name", T::String, "the full name with the prefix, e.g. alice_app");
const PASSWORD: Field = req("password", T::String, "8 to 128 characters");
const GRANT_FIELDS: &[Field] = &[
    USERNAME,
    req("user", T::String, "the database user, e.g. alice_app"),
    req("db", T::String, "the database, e.g. alice_shop"),
    req("privileges", T::StringList, "[\"ALL\"] or e.g. [\"SELECT\", \"INSERT\"]"),
];

const fn action(
    name: &'static str,
    summary: &'static str,
    read_only: bool,
    fields: &'static [Field],
    handler: crate::registry::Handler,
) -> Action {
    crate::registry::account_action("database", name, summary, read_only, fields, handler)
}

pub const ACTIONS: &[Action] = &[
    action("create_db", "Create a MariaDB database", false, &[USERNAME, DB_NAME], create_db),
    action(
        "delete_db",
        "Drop a database with its data and its grants",
        false,
        &[USERNAME, DB_NAME],
        delete_db,
    ),
    action(
        "create_user",
        "Create a database user (this server only, until remote hosts are set)",
        false,
        &[USERNAME, USER_NAME, PASSWORD],
        create_user,
    ),
    action("delete_user", "Drop a database user", false, &[USERNAME, USER_NAME], delete_user),
    action(
        "change_password",
        "Set a database user's password",
        false,
        &[USERNAME, USER_NAME, PASSWORD],
        change_password,
    ),
    action("grant", "Give a user privileges on a database", false, GRANT_FIELDS, grant),
    action("revoke", "Take privileges on a database from a user", false, GRANT_FIELDS, revoke),
    action(
        "set_remote_hosts",
        "Replace the remote addresses a database user may connect from",
        false,
        &[
            USERNAME,
            USER_NAME,
            req("hosts", T::StringList, "IPv4 or IPv6 addresses; [] for this server only"),
        ],
        set_remote_hosts,
    ),
    action(
        "list",
        "The account's databases with their size, and its users with their grants",
        true,
        &[USERNAME],
        list,
    ),
];
