//! HS::Domain: addon domains, subdomains, parked domains, redirects.
//!
//! Each hosted name is one state record, one claim file and one nginx map file,
//! so a change to one domain touches a fixed number of files, however many
//! domains the server hosts.

use hs_automation::FileChange;
use hs_config::journal::Journal;
use hs_config::locks;
use hs_config::state::{Account, Domain, DomainKind, Plan, Redirect, STATE_VERSION};
use hs_types::{DomainName, HostLabel, RedirectStatus, RedirectUrl, Username};
use serde::Serialize;

use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};
use crate::{account, system, web};

const ADD: &str = "domain.add";
const DELETE: &str = "domain.delete";

#[derive(Debug, Clone, Serialize)]
pub struct DomainView {
    pub domain: String,
    /// The name as the user typed it, for internationalized names.
    pub display: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docroot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_status: Option<u16>,
}

impl DomainView {
    pub fn of(domain: &Domain) -> DomainView {
        let (kind, target) = match &domain.kind {
            DomainKind::Main => ("main", None),
            DomainKind::Addon => ("addon", None),
            DomainKind::Sub { parent, .. } => ("sub", Some(parent.to_string())),
            DomainKind::Parked { target } => ("parked", Some(target.to_string())),
        };
        DomainView {
            domain: domain.domain.to_string(),
            display: domain.domain.to_unicode(),
            kind,
            target,
            docroot: domain.docroot_rel(),
            redirect: domain.redirect.as_ref().map(|r| r.url.to_string()),
            redirect_status: domain.redirect.as_ref().map(|r| r.status.code()),
        }
    }
}

pub fn list(panel: &Panel, actor: &Actor, user: &Username) -> Result<Vec<DomainView>> {
    account::load_managed(panel, actor, user)?;
    Ok(panel.store.domains(user)?.iter().map(DomainView::of).collect())
}

pub fn add_addon(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: DomainName,
    op: &str,
) -> Result<DomainView> {
    let event = serde_json::json!({ "username": user, "domain": &name });
    crate::hooks::around(panel, actor, "addaddondomain", event, || {
        add_addon_now(panel, actor, user, name, op)
    })
}

fn add_addon_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: DomainName,
    op: &str,
) -> Result<DomainView> {
    add(panel, actor, user, name, DomainKind::Addon, op)
}

pub fn add_subdomain(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    parent: DomainName,
    label: HostLabel,
    op: &str,
) -> Result<DomainView> {
    let event = serde_json::json!({ "username": user, "domain": &parent, "subdomain": &label });
    crate::hooks::around(panel, actor, "addsubdomain", event, || {
        add_subdomain_now(panel, actor, user, parent, label, op)
    })
}

fn add_subdomain_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    parent: DomainName,
    label: HostLabel,
    op: &str,
) -> Result<DomainView> {
    let parent_record = owned_site(panel, user, &parent)?;
    if matches!(parent_record.kind, DomainKind::Parked { .. } | DomainKind::Sub { .. }) {
        let msg = format!(
            "{parent} is a parked domain or a subdomain; add the subdomain to its main domain"
        );
        return Err(ModuleError::Conflict(msg));
    }
    let name = parent.with_label(&label)?;
    add(panel, actor, user, name, DomainKind::Sub { parent, label }, op)
}

pub fn park(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: DomainName,
    target: DomainName,
    op: &str,
) -> Result<DomainView> {
    let event = serde_json::json!({ "username": user, "domain": &name, "target": &target });
    crate::hooks::around(panel, actor, "parkdomain", event, || {
        park_now(panel, actor, user, name, target, op)
    })
}

fn park_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: DomainName,
    target: DomainName,
    op: &str,
) -> Result<DomainView> {
    let target_record = owned_site(panel, user, &target)?;
    if matches!(target_record.kind, DomainKind::Parked { .. }) {
        return Err(ModuleError::Conflict(format!("{target} is itself a parked domain")));
    }
    add(panel, actor, user, name, DomainKind::Parked { target }, op)
}

/// A domain record of `user` (checked by the caller to be the actor's to manage).
fn owned_site(panel: &Panel, user: &Username, name: &DomainName) -> Result<Domain> {
    panel
        .store
        .domain(user, name)?
        .ok_or_else(|| ModuleError::NotFound(format!("domain {name} is not one of {user}'s")))
}

fn add(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: DomainName,
    kind: DomainKind,
    op_id: &str,
) -> Result<DomainView> {
    let _lock = locks::account(&panel.layout, user)?;
    let account = account::load_managed(panel, actor, user)?;
    if account.suspended.is_some() {
        return Err(ModuleError::Conflict(format!("account {user} is suspended")));
    }
    let plan = panel.store.plan(&account.plan)?.unwrap_or_else(|| unlimited(&account));
    let domains = panel.store.domains(user)?;
    check_limit(&plan, &domains, &kind, 1)?;
    check_name_free(panel, user, &name)?;

    let record = Domain {
        version: STATE_VERSION,
        domain: name.clone(),
        owner: user.clone(),
        kind,
        redirect: None,
        created: jiff::Timestamp::now(),
    };
    let subject = vec![user.to_string(), name.to_string()];
    let mut journal = Journal::begin(&panel.layout, op_id, ADD, subject)?;
    let result = (|| -> Result<()> {
        journal.step("domain_claim")?;
        if !panel.store.claim_domain(&name, user)? {
            return Err(taken(&name));
        }
        journal.step("state")?;
        panel.store.write_domain(&record)?;

        if let Some(rel) = record.docroot_rel() {
            let web_gid = system::gid_of_group(&panel.config.web.web_user)?;
            let home = panel.layout.home(user);
            system::create_site_dir(&home, &rel, account.uid, web_gid)?;
        }

        journal.step("vhost")?;
        let mut all = domains.clone();
        all.push(record.clone());
        let maps = web::site_changes(
            panel,
            &panel.templates()?,
            &account,
            &all,
            std::slice::from_ref(&name),
        )?;
        web::apply_nginx(panel, &maps)?;

        // HS::DNS: a zone for the domain, or its records in the parent's zone.
        journal.step("dns")?;
        crate::dns::domain_added(panel, user, &record)?;
        Ok(())
    })();

    match result {
        Ok(()) => {
            journal.finish()?;
            tracing::info!(user = %user, domain = %name, "domain added");
            Ok(DomainView::of(&record))
        }
        Err(e) => {
            undo_add(panel, user, &name, &journal.entry().steps)?;
            journal.finish()?;
            Err(e)
        }
    }
}

/// A plan that does not exist any more limits nothing; the admin sees it in `show`.
fn unlimited(account: &Account) -> Plan {
    Plan {
        version: STATE_VERSION,
        name: account.plan.clone(),
        limits: Default::default(),
        owner: None,
    }
}

fn taken(name: &DomainName) -> ModuleError {
    ModuleError::Conflict(format!("domain {name} is already hosted on this server"))
}

/// The name must be free, must not sit below another account's domain (or the
/// server's own name), and must not sit above one either.
fn check_name_free(panel: &Panel, user: &Username, name: &DomainName) -> Result<()> {
    if panel.store.domain_owner(name)?.is_some() {
        return Err(taken(name));
    }
    let host = &panel.config.hostname;
    if name == host || name.is_subdomain_of(host) {
        return Err(ModuleError::Conflict(format!("{name} belongs to the server itself")));
    }
    let mut ancestor = name.parent();
    while let Some(parent) = ancestor {
        if let Some(owner) = panel.store.domain_owner(&parent)?
            && &owner != user
        {
            return Err(ModuleError::Conflict(format!("{parent} belongs to another account")));
        }
        ancestor = parent.parent();
    }
    let suffix = format!(".{name}");
    for entry in std::fs::read_dir(panel.layout.domain_claims()).into_iter().flatten().flatten() {
        let file = entry.file_name();
        let Some(other) = file.to_str() else { continue };
        if other.ends_with(&suffix) {
            let other: DomainName = match other.parse() {
                Ok(d) => d,
                Err(_) => continue,
            };
            if panel.store.domain_owner(&other)?.is_some_and(|o| &o != user) {
                let msg = format!("another account hosts names below {name}");
                return Err(ModuleError::Conflict(msg));
            }
        }
    }
    Ok(())
}

fn count(domains: &[Domain], pick: fn(&DomainKind) -> bool) -> u32 {
    domains.iter().filter(|d| pick(&d.kind)).count() as u32
}

/// Would `extra` more domains of `kind` stay within the plan?
fn check_limit(plan: &Plan, domains: &[Domain], kind: &DomainKind, extra: u32) -> Result<()> {
    let (limit, used, what) = match kind {
        DomainKind::Main => return Ok(()),
        DomainKind::Addon => (
            plan.limits.addon_domains,
            count(domains, |k| matches!(k, DomainKind::Addon)),
            "addon domains",
        ),
        DomainKind::Sub { .. } => (
            plan.limits.subdomains,
            count(domains, |k| matches!(k, DomainKind::Sub { .. })),
            "subdomains",
        ),
        DomainKind::Parked { .. } => (
            plan.limits.parked_domains,
            count(domains, |k| matches!(k, DomainKind::Parked { .. })),
            "parked domains",
        ),
    };
    match limit {
        Some(limit) if used + extra > limit => {
            Err(ModuleError::LimitReached(format!("plan {} allows {limit} {what}", plan.name)))
        }
        _ => Ok(()),
    }
}

/// Refuses a plan change that the account's current domains would exceed.
pub fn check_usage_fits(panel: &Panel, account: &Account, plan: &Plan) -> Result<()> {
    let domains = panel.store.domains(&account.username)?;
    let kinds = [DomainKind::Addon, DomainKind::Parked { target: account.primary_domain.clone() }];
    for kind in &kinds {
        check_limit(plan, &domains, kind, 0)?;
    }
    let sub = domains.iter().find(|d| matches!(d.kind, DomainKind::Sub { .. }));
    if let Some(sub) = sub {
        check_limit(plan, &domains, &sub.kind, 0)?;
    }
    Ok(())
}

fn undo_add(panel: &Panel, user: &Username, name: &DomainName, steps: &[String]) -> Result<()> {
    let did = |step: &str| steps.iter().any(|s| s == step);
    if did("vhost") {
        let path = panel.layout.nginx_site_map(name);
        // HS::SSL: the name's certificates leave nginx with its site.
        let mut changes = crate::ssl::removal_changes(panel, name)?;
        if path.exists() {
            changes.push(FileChange::remove(path));
        }
        if !changes.is_empty() {
            web::apply_nginx(panel, &changes)?;
        }
        crate::ssl::forget(panel, user, name)?;
    }
    if did("state") {
        panel.store.remove_domain(user, name)?;
    }
    if did("dns") {
        crate::dns::domain_removed(panel, user, name)?;
    }
    if did("domain_claim") {
        panel.store.release_domain(name, user)?;
    }
    Ok(())
}

/// Sets or clears the redirect of one of the account's domains.
pub fn set_redirect(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DomainName,
    redirect: Option<(RedirectUrl, RedirectStatus)>,
) -> Result<DomainView> {
    let event = serde_json::json!({
        "username": user,
        "domain": name,
        "url": redirect.as_ref().map(|r| &r.0),
        "status": redirect.as_ref().map(|r| &r.1),
    });
    crate::hooks::around(panel, actor, "setredirect", event, || {
        set_redirect_now(panel, actor, user, name, redirect)
    })
}

fn set_redirect_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DomainName,
    redirect: Option<(RedirectUrl, RedirectStatus)>,
) -> Result<DomainView> {
    let _lock = locks::account(&panel.layout, user)?;
    let account = account::load_managed(panel, actor, user)?;
    let mut domains = panel.store.domains(user)?;
    let index = domains
        .iter()
        .position(|d| &d.domain == name)
        .ok_or_else(|| ModuleError::NotFound(format!("domain {name} is not one of {user}'s")))?;

    let previous = domains[index].clone();
    domains[index].redirect = redirect.map(|(url, status)| Redirect { url, status });
    let record = domains[index].clone();
    panel.store.write_domain(&record)?;

    let names = web::dependents(&domains, name);
    let applied = web::site_changes(panel, &panel.templates()?, &account, &domains, &names)
        .and_then(|maps| web::apply_nginx(panel, &maps));
    if let Err(e) = applied {
        panel.store.write_domain(&previous)?;
        return Err(e);
    }
    Ok(DomainView::of(&record))
}

/// Stops hosting a name. The site's files stay in the home: they are the user's.
pub fn delete(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DomainName,
    op_id: &str,
) -> Result<()> {
    let event = serde_json::json!({ "username": user, "domain": name });
    crate::hooks::around(panel, actor, "killdomain", event, || {
        delete_now(panel, actor, user, name, op_id)
    })
}

fn delete_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &DomainName,
    op_id: &str,
) -> Result<()> {
    let _lock = locks::account(&panel.layout, user)?;
    account::load_managed(panel, actor, user)?;
    let domains = panel.store.domains(user)?;
    let record = domains
        .iter()
        .find(|d| &d.domain == name)
        .ok_or_else(|| ModuleError::NotFound(format!("domain {name} is not one of {user}'s")))?;
    if record.kind == DomainKind::Main {
        return Err(ModuleError::Conflict("the main domain goes only with the account".into()));
    }
    let depends = |d: &&Domain| match &d.kind {
        DomainKind::Parked { target } => target == name,
        DomainKind::Sub { parent, .. } => parent == name,
        _ => false,
    };
    if let Some(other) = domains.iter().find(depends) {
        let msg = format!("{} depends on {name}; delete it first", other.domain);
        return Err(ModuleError::Conflict(msg));
    }

    let subject = vec![user.to_string(), name.to_string()];
    let journal = Journal::begin(&panel.layout, op_id, DELETE, subject)?;
    finish_delete(panel, user, name)?;
    journal.finish()?;
    tracing::info!(user = %user, domain = %name, "domain deleted");
    Ok(())
}

fn finish_delete(panel: &Panel, user: &Username, name: &DomainName) -> Result<()> {
    let all = ["vhost", "state", "dns", "domain_claim"].map(String::from);
    undo_add(panel, user, name, &all)
}

/// Crash recovery for domain operations; `false` when `operation` is not ours.
pub fn recover_entry(
    panel: &Panel,
    operation: &str,
    user: &Username,
    name: &DomainName,
    steps: &[String],
) -> Result<bool> {
    match operation {
        ADD => undo_add(panel, user, name, steps)?,
        DELETE => finish_delete(panel, user, name)?,
        _ => return Ok(false),
    }
    Ok(true)
}
