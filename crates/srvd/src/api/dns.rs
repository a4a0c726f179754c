//! `/api/dns/*`: HS::DNS. Records are `{domain, type, name, value, ttl}` with a
//! stable `id`; MX and SRV carry their priority in `value` or in `priority`. On
//! the user port the account is the caller's; on the admin port staff name it
//! with `username`.

use hs_modules::dns::{self, RecordInput};
use hs_types::{DomainName, RecordType, Ttl, Username};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{Action, Call, Field, FieldType as T, Reply, opt, req};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneOf {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
    #[serde(default)]
    template: Option<String>,
}

fn create_zone(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Create = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    let template = input.template.as_deref();
    c.json(dns::create_zone(&c.app.panel, &actor, &user, &input.domain, template)?)
}

fn delete_zone(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ZoneOf = c.parse()?;
    let user = c.target(input.username)?;
    dns::delete_zone(&c.app.panel, &c.actor()?, &user, &input.domain)?;
    c.json(json!({ "deleted": input.domain }))
}

fn list_records(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ZoneOf = c.parse()?;
    let user = c.target(input.username)?;
    c.json(dns::list_records(&c.app.panel, &c.actor()?, &user, &input.domain)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
    /// Only for `edit_record`.
    #[serde(default)]
    id: Option<u64>,
    #[serde(rename = "type")]
    rtype: RecordType,
    name: String,
    value: String,
    #[serde(default)]
    ttl: Option<Ttl>,
    #[serde(default)]
    priority: Option<u16>,
}

impl Record {
    fn input(&self) -> RecordInput {
        RecordInput {
            rtype: self.rtype,
            name: self.name.clone(),
            value: self.value.clone(),
            ttl: self.ttl,
            priority: self.priority,
        }
    }
}

fn add_record(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Record = c.parse()?;
    if input.id.is_some() {
        return Err(ApiError::bad_request("add_record takes no `id`; the panel assigns it"));
    }
    let user = c.target(input.username.clone())?;
    let actor = c.actor()?;
    c.json(dns::add_record(&c.app.panel, &actor, &user, &input.domain, &input.input())?)
}

fn edit_record(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Record = c.parse()?;
    let id = input.id.ok_or_else(|| ApiError::bad_request("missing field `id`"))?;
    let user = c.target(input.username.clone())?;
    let actor = c.actor()?;
    c.json(dns::edit_record(&c.app.panel, &actor, &user, &input.domain, id, &input.input())?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ById {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
    id: u64,
}

fn delete_record(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ById = c.parse()?;
    let user = c.target(input.username)?;
    dns::delete_record(&c.app.panel, &c.actor()?, &user, &input.domain, input.id)?;
    c.json(json!({ "deleted": input.id }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Template {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
    template: String,
}

fn apply_template(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Template = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(dns::apply_template(&c.app.panel, &actor, &user, &input.domain, &input.template)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Import {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
    zone: String,
}

fn import_zone(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Import = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(dns::import_zone(&c.app.panel, &actor, &user, &input.domain, &input.zone)?)
}

fn export_zone(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ZoneOf = c.parse()?;
    let user = c.target(input.username)?;
    let text = dns::export_zone(&c.app.panel, &c.actor()?, &user, &input.domain)?;
    c.json(json!({ "domain": input.domain, "zone": text }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetDnssec {
    #[serde(default)]
    username: Option<Username>,
    domain: DomainName,
    enabled: bool,
}

fn set_dnssec(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: SetDnssec = c.parse()?;
    let user = c.target(input.username)?;
    let actor = c.actor()?;
    c.json(dns::set_dnssec(&c.app.panel, &actor, &user, &input.domain, input.enabled)?)
}

fn templates(c: &Call<'_>) -> Result<Reply, ApiError> {
    c.actor()?;
    c.json(json!({ "templates": dns::templates(&c.app.panel)? }))
}

const USERNAME: Field = opt("username", T::String, "the account (admin port only)");
const DOMAIN: Field = req("domain", T::String, "a main, addon or parked domain of the account");
const ID: Field = req("id", T::Integer, "the record's id, from list_records");
const RECORD: [Field; 5] = [
    req("type", T::String, "A, AAAA, CNAME, MX, TXT, SRV, CAA or NS"),
    req("name", T::String, "relative to the zone (@ for the apex), or absolute inside it"),
    req("value", T::String, "as in a zone file, e.g. `10 mail` for MX; TXT as plain text"),
    opt("ttl", T::Integer, "seconds, 30 to 604800 (default 14400)"),
    opt("priority", T::Integer, "MX and SRV: the priority, when not in `value`"),
];

const fn action(
    name: &'static str,
    summary: &'static str,
    read_only: bool,
    fields: &'static [Field],
    handler: crate::registry::Handler,
) -> Action {
    crate::registry::account_action("dns", name, summary, read_only, fields, handler)
}

pub const ACTIONS: &[Action] = &[
    action(
        "create_zone",
        "Create the zone of a domain from a template (`default` unless named)",
        false,
        &[USERNAME, DOMAIN, opt("template", T::String, "a template in templates/dns/")],
        create_zone,
    ),
    action("delete_zone", "Stop serving DNS for a domain", false, &[USERNAME, DOMAIN], delete_zone),
    action(
        "list_records",
        "The zone's records, serial, DNSSEC state and DS records",
        true,
        &[USERNAME, DOMAIN],
        list_records,
    ),
    action(
        "add_record",
        "Add a record",
        false,
        &[USERNAME, DOMAIN, RECORD[0], RECORD[1], RECORD[2], RECORD[3], RECORD[4]],
        add_record,
    ),
    action(
        "edit_record",
        "Replace a record, keeping its id",
        false,
        &[USERNAME, DOMAIN, ID, RECORD[0], RECORD[1], RECORD[2], RECORD[3], RECORD[4]],
        edit_record,
    ),
    action("delete_record", "Remove a record", false, &[USERNAME, DOMAIN, ID], delete_record),
    action(
        "apply_template",
        "Replace the zone's records with a template's",
        false,
        &[USERNAME, DOMAIN, req("template", T::String, "a template in templates/dns/")],
        apply_template,
    ),
    action(
        "import_zone",
        "Replace the zone's records with those of an RFC 1035 master file",
        false,
        &[USERNAME, DOMAIN, req("zone", T::String, "the master file's text")],
        import_zone,
    ),
    action("export_zone", "The zone as a master file", true, &[USERNAME, DOMAIN], export_zone),
    action(
        "set_dnssec",
        "Sign the zone with DNSSEC (named keeps keys and signatures), or stop signing it",
        false,
        &[USERNAME, DOMAIN, req("enabled", T::Boolean, "true to sign, false to go back")],
        set_dnssec,
    ),
    action("templates", "The DNS templates available", true, &[], templates),
];
