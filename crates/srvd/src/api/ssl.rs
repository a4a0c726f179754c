//! `/api/ssl/*`: HS::SSL. `install` takes `domain`, `cert`, `key` and optionally
//! `chain` (PEM text); `autossl`, `renew` and `delete` take `domain` (`*.domain`
//! for a wildcard); `list` the account. On the admin port staff name the account
//! with `username`. `autossl` runs in the request (on a blocking thread), or
//! with `background` as an hs-taskd job, answered with the job; `renew` runs in
//! the request, and the daily renewal of everything due is hs-taskd's.

use hs_config::queue::Task;
use hs_modules::ssl;
use hs_types::{CertName, Username};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{Action, Call, Field, FieldType as T, Reply, opt, req};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Install {
    #[serde(default)]
    username: Option<Username>,
    domain: CertName,
    cert: String,
    key: String,
    #[serde(default)]
    chain: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameOf {
    #[serde(default)]
    username: Option<Username>,
    domain: CertName,
}

fn install(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Install = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    let chain = input.chain.as_deref().filter(|s| !s.trim().is_empty());
    let panel = &c.app.panel;
    c.json(ssl::install(panel, &actor, &user, &input.domain, &input.cert, &input.key, chain)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    #[serde(default)]
    username: Option<Username>,
    domain: CertName,
    /// Queue the order as an hs-taskd job and answer with the job at once.
    #[serde(default)]
    background: bool,
}

fn autossl(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Order = c.parse()?;
    let user = c.target(input.username)?;
    if input.background {
        let task = Task::Autossl { user, name: input.domain };
        return c.json(crate::api::task::submit_job(c, task, "AutoSSL asked for through the API")?);
    }
    let actor = c.actor()?;
    let mut progress = |percent: u8, what: &str| tracing::debug!(percent, what, "autossl");
    c.json(ssl::autossl(&c.app.panel, &actor, &user, &input.domain, &mut progress)?)
}

fn renew(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: NameOf = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    let mut progress = |percent: u8, what: &str| tracing::debug!(percent, what, "renew");
    c.json(ssl::renew(&c.app.panel, &actor, &user, &input.domain, &mut progress)?)
}

fn delete(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: NameOf = c.parse()?;
    let user = c.target(input.username)?;
    ssl::delete(&c.app.panel, &c.actor()?, &user, &input.domain)?;
    c.json(json!({ "deleted": input.domain }))
}

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let user = c.target_only()?;
    c.json(json!({ "certificates": ssl::list(&c.app.panel, &c.actor()?, &user)? }))
}

const USERNAME: Field = opt("username", T::String, "the account (admin port only)");
const DOMAIN: Field =
    req("domain", T::String, "a domain of the account, or `*.domain` for its wildcard");

const fn action(
    name: &'static str,
    summary: &'static str,
    read_only: bool,
    fields: &'static [Field],
    handler: crate::registry::Handler,
) -> Action {
    crate::registry::account_action("ssl", name, summary, read_only, fields, handler)
}

const BACKGROUND: Field =
    opt("background", T::Boolean, "queue it as an hs-taskd job and answer with the job");

pub const ACTIONS: &[Action] = &[
    action(
        "install",
        "Install a certificate the user brings (key, names, chain and dates are checked)",
        false,
        &[
            USERNAME,
            DOMAIN,
            req("cert", T::String, "the certificate, PEM"),
            req("key", T::String, "its private key, PEM"),
            opt("chain", T::String, "the intermediate certificates, PEM, in order"),
        ],
        install,
    ),
    action(
        "autossl",
        "Order a certificate through ACME (http-01; dns-01 for `*.domain`) and serve it",
        false,
        &[USERNAME, DOMAIN, BACKGROUND],
        autossl,
    ),
    action("renew", "Renew a certificate now", false, &[USERNAME, DOMAIN], renew),
    action(
        "list",
        "The account's certificates: names, issuer, serial, expiry, last failure",
        true,
        &[USERNAME],
        list,
    ),
    action(
        "delete",
        "Remove a certificate; the domain goes back to a self-signed one",
        false,
        &[USERNAME, DOMAIN],
        delete,
    ),
];
