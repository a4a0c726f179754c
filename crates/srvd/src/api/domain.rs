//! `/api/domain/*`: HS::Domain. On the user port the account is the caller's; on
//! the admin port staff name it with `username`.

use hs_modules::domain;
use hs_types::{DomainName, HostLabel, RedirectStatus, RedirectUrl, Username};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{ANYONE, Action, BOTH_PORTS, Call, Field, FieldType as T, Reply, opt, req};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Add {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
}

fn add(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Add = c.parse()?;
    let user = c.target(input.username)?;
    c.json(domain::add_addon(&c.app.panel, &c.actor()?, &user, input.domain, &c.op_id)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddSub {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
    subdomain: HostLabel,
}

fn add_subdomain(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: AddSub = c.parse()?;
    let user = c.target(input.username)?;
    let view = domain::add_subdomain(
        &c.app.panel,
        &c.actor()?,
        &user,
        input.domain,
        input.subdomain,
        &c.op_id,
    )?;
    c.json(view)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Park {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
    target: DomainName,
}

fn park(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Park = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(domain::park(&c.app.panel, &actor, &user, input.domain, input.target, &c.op_id)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Redirect {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
    url: RedirectUrl,
    #[serde(default = "permanent")]
    status: RedirectStatus,
}

fn permanent() -> RedirectStatus {
    RedirectStatus::Permanent
}

fn redirect(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Redirect = c.parse()?;
    let user = c.target(input.username)?;
    let to = Some((input.url, input.status));
    c.json(domain::set_redirect(&c.app.panel, &c.actor()?, &user, &input.domain, to)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Named {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
}

fn remove_redirect(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Named = c.parse()?;
    let user = c.target(input.username)?;
    c.json(domain::set_redirect(&c.app.panel, &c.actor()?, &user, &input.domain, None)?)
}

fn delete(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Named = c.parse()?;
    let user = c.target(input.username)?;
    domain::delete(&c.app.panel, &c.actor()?, &user, &input.domain, &c.op_id)?;
    c.json(json!({ "deleted": input.domain }))
}

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let user = c.target_only()?;
    let domains = domain::list(&c.app.panel, &c.actor()?, &user)?;
    c.json(json!({ "username": user, "domains": domains }))
}

const USERNAME: Field = opt("username", T::String, "the account (admin port only)");
const DOMAIN: Field = req("domain", T::String, "");

pub const ACTIONS: &[Action] = &[
    Action {
        module: "domain",
        name: "add",
        summary: "Add an addon domain: a website of its own",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME, DOMAIN],
        handler: add,
    },
    Action {
        module: "domain",
        name: "add_subdomain",
        summary: "Add `subdomain.domain` as a website of its own",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME, DOMAIN, req("subdomain", T::String, "one label, e.g. blog")],
        handler: add_subdomain,
    },
    Action {
        module: "domain",
        name: "park",
        summary: "Park `domain` on `target`: the same website under another name",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME, DOMAIN, req("target", T::String, "an existing domain")],
        handler: park,
    },
    Action {
        module: "domain",
        name: "redirect",
        summary: "Redirect a domain to a URL (301 or 302)",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[
            USERNAME,
            DOMAIN,
            req("url", T::String, "http:// or https:// URL"),
            opt("status", T::Integer, "301 (default) or 302"),
        ],
        handler: redirect,
    },
    Action {
        module: "domain",
        name: "remove_redirect",
        summary: "Serve the domain's website again",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME, DOMAIN],
        handler: remove_redirect,
    },
    Action {
        module: "domain",
        name: "delete",
        summary: "Stop hosting a domain (its files stay in the home)",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME, DOMAIN],
        handler: delete,
    },
    Action {
        module: "domain",
        name: "list",
        summary: "The account's domains",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[USERNAME],
        handler: list,
    },
];
