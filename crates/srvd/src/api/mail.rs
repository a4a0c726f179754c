//! `/api/mail/*`: HS::Mail. Mail objects name their domain (`domain`,
//! `email`, `source`); the domain's owner is the account acted on, so on the
//! user port only the caller's own domains exist, and on the admin port staff
//! reach the accounts they manage.

use hs_config::mail::Autoresponder;
use hs_modules::mail::{self, NewMailbox};
use hs_types::{
    DomainName, EmailAddress, MailQuota, MailboxName, Password, SpamThreshold, Username,
    VacationBody, VacationSubject,
};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{Action, Call, Field, FieldType as T, Reply, opt, req};

/// The quota of a mailbox created without one.
const DEFAULT_QUOTA: &str = "1024M";

/// One address or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Dest {
    One(EmailAddress),
    Many(Vec<EmailAddress>),
}

impl Dest {
    fn into_vec(self) -> Vec<EmailAddress> {
        match self {
            Dest::One(a) => vec![a],
            Dest::Many(v) => v,
        }
    }
}

/// Parses `dest` by hand so a bad address gets its own message (an untagged
/// enum would only say "did not match any variant").
fn parse_dest(value: serde_json::Value) -> Result<Vec<EmailAddress>, ApiError> {
    let texts: Vec<String> = match value {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::String(s) => vec![s],
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(ApiError::bad_request("`dest` must hold e-mail addresses")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(ApiError::bad_request("`dest` must be an address or a list")),
    };
    let parsed: Result<Vec<EmailAddress>, _> = texts.iter().map(|t| t.parse()).collect();
    let _ = Dest::Many(Vec::new()).into_vec();
    Ok(parsed?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoxInput {
    user: MailboxName,
    password: Password,
    #[serde(default)]
    quota: Option<MailQuota>,
    #[serde(default)]
    spam_threshold: Option<SpamThreshold>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAccount {
    domain: DomainName,
    #[serde(default)]
    user: Option<MailboxName>,
    #[serde(default)]
    password: Option<Password>,
    #[serde(default)]
    quota: Option<MailQuota>,
    #[serde(default)]
    spam_threshold: Option<SpamThreshold>,
    /// A batch: many mailboxes, one map rebuild.
    #[serde(default)]
    accounts: Option<Vec<BoxInput>>,
}

fn new_box(b: BoxInput) -> Result<NewMailbox, ApiError> {
    Ok(NewMailbox {
        user: b.user,
        password: b.password,
        quota: match b.quota {
            Some(q) => q,
            None => DEFAULT_QUOTA.parse()?,
        },
        spam_threshold: b.spam_threshold,
    })
}

fn create_account(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: CreateAccount = c.parse()?;
    let boxes = match (input.accounts, input.user, input.password) {
        (Some(list), None, None) => list.into_iter().map(new_box).collect::<Result<_, _>>()?,
        (None, Some(user), Some(password)) => vec![new_box(BoxInput {
            user,
            password,
            quota: input.quota,
            spam_threshold: input.spam_threshold,
        })?],
        (None, _, _) => return Err(ApiError::bad_request("`user` and `password` are required")),
        (Some(_), _, _) => {
            return Err(ApiError::bad_request("give either `accounts` or `user`/`password`"));
        }
    };
    let made = mail::create_accounts(&c.app.panel, &c.actor()?, &input.domain, boxes, &c.op_id)?;
    match made.as_slice() {
        [one] => c.json(one),
        _ => c.json(json!({ "accounts": made })),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailPassword {
    email: EmailAddress,
    password: Password,
}

fn change_password(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: EmailPassword = c.parse()?;
    mail::change_password(&c.app.panel, &c.actor()?, &input.email, input.password)?;
    c.json(json!({ "changed": input.email }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailQuota {
    email: EmailAddress,
    quota: MailQuota,
}

fn set_quota(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: EmailQuota = c.parse()?;
    mail::set_quota(&c.app.panel, &c.actor()?, &input.email, input.quota.clone())?;
    c.json(json!({ "email": input.email, "quota": input.quota }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailThreshold {
    email: EmailAddress,
    spam_threshold: SpamThreshold,
}

fn set_spam_threshold(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: EmailThreshold = c.parse()?;
    let t = input.spam_threshold.clone();
    mail::set_spam_threshold(&c.app.panel, &c.actor()?, &input.email, t)?;
    c.json(json!({ "email": input.email, "spam_threshold": input.spam_threshold }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailOnly {
    email: EmailAddress,
}

fn delete_account(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: EmailOnly = c.parse()?;
    mail::delete_account(&c.app.panel, &c.actor()?, &input.email)?;
    c.json(json!({ "deleted": input.email }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListInput {
    #[serde(default)]
    username: Option<Username>,
    #[serde(default)]
    domain: Option<DomainName>,
}

fn list_accounts(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ListInput = c.parse()?;
    let actor = c.actor()?;
    // A domain names its account (404 if it is not the caller's to see).
    let user = match (&input.domain, input.username) {
        (Some(domain), None) => mail::owner_of(&c.app.panel, &actor, domain)?,
        (_, named) => c.target(named)?,
    };
    let mut listed = mail::list(&c.app.panel, &actor, &user)?;
    if let Some(domain) = &input.domain {
        let d = domain.as_str();
        listed.accounts.retain(|a| a.domain == d);
        listed.forwarders.retain(|f| f.source.ends_with(&format!("@{d}")));
        listed.domains.retain(|x| x.domain == d);
    }
    c.json(listed)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FwdInput {
    source: EmailAddress,
    dest: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateForwarder {
    #[serde(default)]
    source: Option<EmailAddress>,
    #[serde(default)]
    dest: Option<serde_json::Value>,
    #[serde(default)]
    forwarders: Option<Vec<FwdInput>>,
}

fn create_forwarder(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: CreateForwarder = c.parse()?;
    let list: Vec<(EmailAddress, Vec<EmailAddress>)> =
        match (input.forwarders, input.source, input.dest) {
            (Some(list), None, None) => list
                .into_iter()
                .map(|f| Ok((f.source, parse_dest(f.dest)?)))
                .collect::<Result<_, ApiError>>()?,
            (None, Some(source), Some(dest)) => vec![(source, parse_dest(dest)?)],
            _ => return Err(ApiError::bad_request("`source` and `dest` are required")),
        };
    let made = mail::create_forwarders(&c.app.panel, &c.actor()?, list, &c.op_id)?;
    match made.as_slice() {
        [one] => c.json(one),
        _ => c.json(json!({ "forwarders": made })),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceOnly {
    #[serde(alias = "email")]
    source: EmailAddress,
}

fn delete_forwarder(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: SourceOnly = c.parse()?;
    mail::delete_forwarder(&c.app.panel, &c.actor()?, &input.source)?;
    c.json(json!({ "deleted": input.source }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Catchall {
    domain: DomainName,
    #[serde(default)]
    dest: serde_json::Value,
}

fn set_catchall(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Catchall = c.parse()?;
    let dest = parse_dest(input.dest)?;
    mail::set_catchall(&c.app.panel, &c.actor()?, &input.domain, dest.clone())?;
    c.json(json!({ "domain": input.domain, "catchall": dest }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetAuto {
    email: EmailAddress,
    subject: VacationSubject,
    body: VacationBody,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    /// Hours between two replies to one sender; default 24.
    #[serde(default)]
    interval: Option<u32>,
}

fn date(field: &str, text: Option<String>) -> Result<Option<jiff::civil::Date>, ApiError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!("`{field}` must be a date like 2026-12-24"))
        }),
    }
}

fn set_autoresponder(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: SetAuto = c.parse()?;
    let auto = Autoresponder {
        subject: input.subject,
        body: input.body,
        start: date("start", input.start)?,
        end: date("end", input.end)?,
        interval_hours: input.interval.unwrap_or(24),
    };
    mail::set_autoresponder(&c.app.panel, &c.actor()?, &input.email, auto)?;
    c.json(json!({ "email": input.email, "autoresponder": true }))
}

fn delete_autoresponder(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: EmailOnly = c.parse()?;
    mail::delete_autoresponder(&c.app.panel, &c.actor()?, &input.email)?;
    c.json(json!({ "email": input.email, "autoresponder": false }))
}

const EMAIL: Field = req("email", T::String, "the mailbox, e.g. info@example.com");
const DOMAIN: Field = req("domain", T::String, "one of the account's domains");

const fn action(
    name: &'static str,
    summary: &'static str,
    read_only: bool,
    fields: &'static [Field],
    handler: crate::registry::Handler,
) -> Action {
    crate::registry::account_action("mail", name, summary, read_only, fields, handler)
}

pub const ACTIONS: &[Action] = &[
    action(
        "create_account",
        "Create a mailbox (or a batch with `accounts`); the password is stored as a hash",
        false,
        &[
            DOMAIN,
            opt("user", T::String, "the local part, e.g. info"),
            opt("password", T::String, "the mailbox password"),
            opt("quota", T::String, "e.g. 1024M, 2G or unlimited; default 1024M"),
            opt("spam_threshold", T::String, "SpamAssassin score for Junk; default 5.0"),
            opt("accounts", T::Object, "a batch: [{user, password, quota}]"),
        ],
        create_account,
    ),
    action(
        "change_password",
        "Set a mailbox's password",
        false,
        &[EMAIL, req("password", T::String, "the new password")],
        change_password,
    ),
    action(
        "set_quota",
        "Set a mailbox's quota",
        false,
        &[EMAIL, req("quota", T::String, "e.g. 1024M")],
        set_quota,
    ),
    action(
        "set_spam_threshold",
        "Set the score from which a mailbox's mail goes to Junk",
        false,
        &[EMAIL, req("spam_threshold", T::String, "e.g. 5 or 7.5")],
        set_spam_threshold,
    ),
    action("delete_account", "Delete a mailbox and its mail", false, &[EMAIL], delete_account),
    action(
        "list_accounts",
        "The account's mailboxes (with usage), forwarders and catch-alls",
        true,
        &[
            opt("username", T::String, "the account (admin port)"),
            opt("domain", T::String, "only this domain"),
        ],
        list_accounts,
    ),
    action(
        "create_forwarder",
        "Forward an address to one or more destinations (or a batch with `forwarders`)",
        false,
        &[
            opt("source", T::String, "e.g. sales@example.com"),
            opt("dest", T::StringList, "an address or a list"),
            opt("forwarders", T::Object, "a batch: [{source, dest}]"),
        ],
        create_forwarder,
    ),
    action(
        "delete_forwarder",
        "Delete a forwarder",
        false,
        &[req("source", T::String, "the forwarded address")],
        delete_forwarder,
    ),
    action(
        "set_catchall",
        "Deliver mail for unknown addresses of a domain (no `dest`: refuse it)",
        false,
        &[DOMAIN, opt("dest", T::StringList, "an address or a list")],
        set_catchall,
    ),
    action(
        "set_autoresponder",
        "Answer mail automatically (Sieve vacation), once per sender per interval",
        false,
        &[
            EMAIL,
            req("subject", T::String, "one line"),
            req("body", T::String, "the reply"),
            opt("start", T::String, "first day, YYYY-MM-DD"),
            opt("end", T::String, "last day, YYYY-MM-DD"),
            opt("interval", T::Integer, "hours between replies to one sender; default 24"),
        ],
        set_autoresponder,
    ),
    action(
        "delete_autoresponder",
        "Stop answering automatically",
        false,
        &[EMAIL],
        delete_autoresponder,
    ),
];
