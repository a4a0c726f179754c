//! HS::Account: create, suspend, unsuspend, terminate, change plan, list, show.
//!
//! Creating an account is a change of several steps (Linux user, home, state,
//! PHP-FPM pool, site map, reloads). It runs under an intent journal: it completes,
//! or it is undone as a whole, also when the process dies half-way ([`recover`]).

use hs_config::journal::{self, Journal};
use hs_config::locks;
use hs_config::state::{
    Account, Domain, DomainKind, Owner, ResellerLimits, Role, STATE_VERSION, Suspension,
};
use hs_types::{DomainName, Password, PlanName, Username};
use serde::{Deserialize, Serialize};

use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};
use crate::{database, plan, system, web};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    pub username: Username,
    pub domain: DomainName,
    pub password: Password,
    /// The `default` plan when absent.
    #[serde(default)]
    pub plan: Option<PlanName>,
    /// Administrators only: make the new account a reseller.
    #[serde(default)]
    pub reseller: bool,
    /// With `reseller`: how many accounts it may own (unlimited when absent).
    #[serde(default)]
    pub max_accounts: Option<u32>,
}

/// An account as the API shows it: never its password hash.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub username: String,
    pub domain: String,
    pub plan: String,
    pub role: Role,
    pub owner: String,
    pub uid: u32,
    pub suspended: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend_reason: Option<String>,
    /// A reseller's cap on its own accounts; absent for no cap and for
    /// accounts that are not resellers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_accounts: Option<u32>,
    pub created: String,
}

impl AccountView {
    pub fn of(account: &Account) -> AccountView {
        AccountView {
            username: account.username.to_string(),
            domain: account.primary_domain.to_string(),
            plan: account.plan.to_string(),
            role: account.role,
            owner: match &account.owner {
                Owner::Admin => "admin".to_string(),
                Owner::Reseller(r) => r.to_string(),
            },
            uid: account.uid,
            suspended: account.suspended.is_some(),
            suspend_reason: account.suspended.as_ref().map(|s| s.reason.clone()),
            max_accounts: account.reseller.as_ref().and_then(|r| r.max_accounts),
            created: account.created.to_string(),
        }
    }
}

const CREATE: &str = "account.create";
const TERMINATE: &str = "account.terminate";

pub fn create(
    panel: &Panel,
    actor: &Actor,
    req: CreateAccount,
    op_id: &str,
) -> Result<AccountView> {
    let event = serde_json::json!({
        "username": &req.username,
        "domain": &req.domain,
        "plan": &req.plan,
        "reseller": req.reseller,
        "max_accounts": req.max_accounts,
    });
    crate::hooks::around(panel, actor, "createacct", event, || create_now(panel, actor, req, op_id))
}

fn create_now(
    panel: &Panel,
    actor: &Actor,
    req: CreateAccount,
    op_id: &str,
) -> Result<AccountView> {
    let owner = actor.as_owner()?;
    if req.reseller && actor.role != Role::Admin {
        return Err(ModuleError::Forbidden("only administrators create resellers".into()));
    }
    req.password.check_not_containing(req.username.as_str())?;
    let plan_name = match &req.plan {
        Some(name) => name.clone(),
        None => "default".parse()?,
    };
    let plan = plan::get_usable(panel, actor, &plan_name)?;
    let password_hash = hs_auth::hash_password(&req.password)?;
    let web_gid = system::gid_of_group(&panel.config.web.web_user)?;

    // Creations started together should also reach the services together.
    let php_intent = panel.pipeline.intent("php-fpm")?;
    let nginx_intent = panel.pipeline.intent("nginx")?;

    // Phase 1, under the accounts lock: every check, the claims and the Linux user.
    let accounts_lock = locks::accounts(&panel.layout)?;
    check_new_account(panel, actor, &req)?;

    let subject = vec![req.username.to_string(), req.domain.to_string()];
    let mut journal = Journal::begin(&panel.layout, op_id, CREATE, subject)?;
    let mut account_lock = None;
    let result = (|| -> Result<Account> {
        journal.step("user_dir")?;
        std::fs::create_dir_all(panel.layout.user_dir(&req.username))
            .map_err(ModuleError::internal)?;
        // Held until the account is complete: its other operations wait for it.
        account_lock = Some(locks::account(&panel.layout, &req.username)?);

        journal.step("domain_claim")?;
        if !panel.store.claim_domain(&req.domain, &req.username)? {
            return Err(taken(&req.domain));
        }

        journal.step("linux_user")?;
        let (uid, gid) = system::create_user(&panel.layout, &req.username)?;
        panel.fault_point("account.create:after_linux_user");

        journal.step("state")?;
        let now = jiff::Timestamp::now();
        let account = Account {
            version: STATE_VERSION,
            username: req.username.clone(),
            role: if req.reseller { Role::Reseller } else { Role::User },
            owner: owner.clone(),
            plan: plan.name.clone(),
            primary_domain: req.domain.clone(),
            uid,
            gid,
            password_hash,
            suspended: None,
            reseller: req.reseller.then_some(ResellerLimits { max_accounts: req.max_accounts }),
            created: now,
        };
        let domain = Domain {
            version: STATE_VERSION,
            domain: req.domain.clone(),
            owner: req.username.clone(),
            kind: DomainKind::Main,
            redirect: None,
            created: now,
        };
        panel.store.write_domain(&domain)?;
        panel.store.write_account(&account)?;
        panel.fault_point("account.create:after_state");
        Ok(account)
    })();
    drop(accounts_lock);

    // Phase 2, concurrent with other creations: the home and the services.
    let result = result.and_then(|account| {
        journal.step("home")?;
        system::create_home(&panel.layout, &account.username, account.uid, account.gid, web_gid)?;

        let templates = panel.templates()?;
        journal.step("php_pool")?;
        php_intent.apply(&[web::pool_change(panel, &templates, &account)?])?;
        panel.fault_point("account.create:after_php_pool");

        journal.step("vhost")?;
        let domains = panel.store.domains(&account.username)?;
        let maps = web::site_changes(
            panel,
            &templates,
            &account,
            &domains,
            std::slice::from_ref(&req.domain),
        )?;
        nginx_intent.apply(&maps)?;
        panel.fault_point("account.create:after_vhost");

        // HS::DNS: the main domain's zone.
        journal.step("dns_zone")?;
        if let Some(main) = domains.iter().find(|d| d.domain == req.domain) {
            crate::dns::domain_added(panel, &account.username, main)?;
        }
        Ok(account)
    });

    let outcome = match result {
        Ok(account) => {
            journal.finish()?;
            tracing::info!(user = %account.username, domain = %account.primary_domain, "account created");
            Ok(AccountView::of(&account))
        }
        Err(e) => {
            let steps = journal.entry().steps.clone();
            let undo = undo_create(panel, &req.username, &req.domain, &steps);
            match undo {
                Ok(()) => journal.finish()?,
                Err(ref u) => tracing::error!("undo of a failed creation failed: {u}"),
            }
            Err(e)
        }
    };
    drop(account_lock);
    outcome
}

fn check_new_account(panel: &Panel, actor: &Actor, req: &CreateAccount) -> Result<()> {
    let name = &req.username;
    if panel.store.account(name)?.is_some() || panel.layout.user_dir(name).exists() {
        return Err(ModuleError::Conflict(format!("account {name} exists")));
    }
    if system::system_user_exists(name.as_str()) || system::system_group_exists(name.as_str()) {
        let msg = format!("{name} is already a user or group on this server");
        return Err(ModuleError::Conflict(msg));
    }
    if panel.store.domain_owner(&req.domain)?.is_some() {
        return Err(taken(&req.domain));
    }
    if actor.role == Role::Reseller {
        let me: Username = actor.name.parse()?;
        let limit = panel.store.account(&me)?.and_then(|a| a.reseller).and_then(|r| r.max_accounts);
        if let Some(limit) = limit {
            let owned = owned_by(panel, &me)?.len() as u32;
            if owned >= limit {
                return Err(ModuleError::LimitReached(format!(
                    "reseller {me} may own at most {limit} accounts"
                )));
            }
        }
    }
    Ok(())
}

fn taken(domain: &DomainName) -> ModuleError {
    ModuleError::Conflict(format!("domain {domain} is already hosted on this server"))
}

fn owned_by(panel: &Panel, reseller: &Username) -> Result<Vec<Account>> {
    let accounts = panel.store.accounts()?;
    Ok(accounts
        .into_iter()
        .filter(|a| matches!(&a.owner, Owner::Reseller(r) if r == reseller))
        .collect())
}

/// Undoes the recorded steps of a creation, newest first. Each undo is idempotent.
fn undo_create(
    panel: &Panel,
    user: &Username,
    domain: &DomainName,
    steps: &[String],
) -> Result<()> {
    let did = |step: &str| steps.iter().any(|s| s == step);
    let mut names: Vec<DomainName> =
        panel.store.domains(user).unwrap_or_default().into_iter().map(|d| d.domain).collect();
    if !names.contains(domain) {
        names.push(domain.clone());
    }

    if did("dns_zone") {
        for name in &names {
            crate::dns::domain_removed(panel, user, name)?;
        }
    }
    if did("vhost") {
        remove_sites(panel, user, &names)?;
    }
    if did("php_pool") {
        remove_pool(panel, user)?;
    }
    if did("home") || did("linux_user") {
        let uid = system::ids_of(user.as_str()).map(|(uid, _)| uid);
        system::remove_home(&panel.layout, user, uid)?;
    }
    if did("linux_user") {
        // HS::Cron: the crontab goes while `crontab -u` still knows the user.
        crate::cron::remove_crontab(panel, user)?;
        // HS::FTP: the account's FTP users leave the puredb with it.
        crate::ftp::remove_account(panel, user)?;
        // HS::Mail: mailboxes, maps, passwd-files and DKIM keys go too.
        crate::mail::remove_account(panel, user)?;
        system::delete_user(user)?;
    }
    if did("domain_claim") {
        for name in &names {
            panel.store.release_domain(name, user)?;
        }
    }
    if did("user_dir") || did("state") {
        panel.store.remove_user_dir(user)?;
        let lock = panel.layout.locks().join(format!("account-{user}.lock"));
        hs_config::fsutil::remove_if_exists(&lock).map_err(ModuleError::internal)?;
    }
    Ok(())
}

fn remove_sites(panel: &Panel, user: &Username, names: &[DomainName]) -> Result<()> {
    let mut changes: Vec<_> = names
        .iter()
        .map(|n| panel.layout.nginx_site_map(n))
        .filter(|p| p.exists())
        .map(hs_automation::FileChange::remove)
        .collect();
    // HS::SSL: the names' certificates leave nginx in the same change.
    for name in names {
        changes.extend(crate::ssl::removal_changes(panel, name)?);
    }
    if !changes.is_empty() {
        web::apply_nginx(panel, &changes)?;
    }
    for name in names {
        crate::ssl::forget(panel, user, name)?;
    }
    Ok(())
}

fn remove_pool(panel: &Panel, user: &Username) -> Result<()> {
    let path = panel.layout.php_pool_file(&panel.config.php.version, user);
    if path.exists() {
        web::apply_php(panel, &[hs_automation::FileChange::remove(path)])?;
    }
    Ok(())
}

/// Loads an account the actor may manage; others' accounts look like missing ones.
pub fn load_managed(panel: &Panel, actor: &Actor, user: &Username) -> Result<Account> {
    match panel.store.account(user)? {
        Some(account) if actor.may_manage(user, &account.owner) => Ok(account),
        _ => Err(ModuleError::NotFound(format!("account {user} does not exist"))),
    }
}

pub fn show(panel: &Panel, actor: &Actor, user: &Username) -> Result<AccountView> {
    load_managed(panel, actor, user).map(|a| AccountView::of(&a))
}

pub fn list(panel: &Panel, actor: &Actor) -> Result<Vec<AccountView>> {
    let accounts = panel.store.accounts()?;
    Ok(accounts
        .iter()
        .filter(|a| actor.may_manage(&a.username, &a.owner))
        .map(AccountView::of)
        .collect())
}

pub fn suspend(panel: &Panel, actor: &Actor, user: &Username, reason: &str) -> Result<AccountView> {
    let event = serde_json::json!({ "username": user, "reason": reason });
    crate::hooks::around(panel, actor, "suspendacct", event, || {
        suspend_now(panel, actor, user, reason)
    })
}

fn suspend_now(panel: &Panel, actor: &Actor, user: &Username, reason: &str) -> Result<AccountView> {
    if actor.role == Role::User {
        return Err(ModuleError::Forbidden("account holders cannot suspend accounts".into()));
    }
    let reason = clean_reason(reason)?;
    set_suspension(panel, actor, user, Some(reason))
}

pub fn unsuspend(panel: &Panel, actor: &Actor, user: &Username) -> Result<AccountView> {
    let event = serde_json::json!({ "username": user });
    crate::hooks::around(panel, actor, "unsuspendacct", event, || unsuspend_now(panel, actor, user))
}

fn unsuspend_now(panel: &Panel, actor: &Actor, user: &Username) -> Result<AccountView> {
    if actor.role == Role::User {
        return Err(ModuleError::Forbidden("account holders cannot unsuspend accounts".into()));
    }
    set_suspension(panel, actor, user, None)
}

/// A reason is free text shown to admins: one line, bounded, printable.
fn clean_reason(reason: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(ModuleError::Invalid(
            "the reason must be one line of at most 200 characters".into(),
        ));
    }
    Ok(if reason.is_empty() { "suspended by the administrator".into() } else { reason.into() })
}

fn set_suspension(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    reason: Option<String>,
) -> Result<AccountView> {
    let _lock = locks::account(&panel.layout, user)?;
    let mut account = load_managed(panel, actor, user)?;
    let previous = account.clone();
    account.suspended = reason.map(|reason| Suspension { reason, since: jiff::Timestamp::now() });

    // HS::Database: lock (or unlock) the database users first; a failure there
    // leaves everything as it was.
    database::set_locked(panel, user, account.suspended.is_some())?;
    let was_locked = previous.suspended.is_some();
    if let Err(e) = panel.store.write_account(&account) {
        let _ = database::set_locked(panel, user, was_locked);
        return Err(e.into());
    }

    // HS::Cron: a suspended account has no crontab; unsuspending reinstalls it.
    if let Err(e) = crate::cron::sync(panel, &account) {
        panel.store.write_account(&previous)?;
        let _ = database::set_locked(panel, user, was_locked);
        return Err(e);
    }
    // HS::FTP: a suspended account's FTP users are left out of the puredb.
    if let Err(e) = crate::ftp::rebuild(panel) {
        panel.store.write_account(&previous)?;
        let _ = crate::cron::sync(panel, &previous);
        let _ = database::set_locked(panel, user, was_locked);
        return Err(e);
    }
    // HS::Mail: logins refused and mail deferred while suspended.
    if let Err(e) = crate::mail::suspension_changed(panel, &account) {
        panel.store.write_account(&previous)?;
        let _ = crate::cron::sync(panel, &previous);
        let _ = crate::ftp::rebuild(panel);
        let _ = database::set_locked(panel, user, was_locked);
        return Err(e);
    }
    let domains = panel.store.domains(user)?;
    let names: Vec<DomainName> = domains.iter().map(|d| d.domain.clone()).collect();
    let applied = web::site_changes(panel, &panel.templates()?, &account, &domains, &names)
        .and_then(|maps| web::apply_nginx(panel, &maps));
    if let Err(e) = applied {
        panel.store.write_account(&previous)?;
        if let Err(undo) = crate::cron::sync(panel, &previous) {
            tracing::error!(user = %user, "cannot put the crontab back: {undo}");
        }
        if let Err(undo) = crate::ftp::rebuild(panel) {
            tracing::error!(user = %user, "cannot put the FTP users back: {undo}");
        }
        let _ = database::set_locked(panel, user, was_locked);
        return Err(e);
    }
    if account.suspended.is_some()
        && let Some(auth) = &panel.auth
    {
        auth.revoke_sessions(user.as_str())?;
    }
    tracing::info!(user = %user, suspended = account.suspended.is_some(), "suspension changed");
    Ok(AccountView::of(&account))
}

/// The administrator changes how many accounts a reseller may own (`None`:
/// no cap). A cap below what it owns today stops new accounts only.
pub fn set_reseller_limit(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    max_accounts: Option<u32>,
) -> Result<AccountView> {
    if actor.role != Role::Admin {
        return Err(ModuleError::Forbidden("only the administrator sets reseller limits".into()));
    }
    let _lock = locks::account(&panel.layout, user)?;
    let mut account = load_managed(panel, actor, user)?;
    let Some(limits) = account.reseller.as_mut() else {
        return Err(ModuleError::Conflict(format!("{user} is not a reseller")));
    };
    limits.max_accounts = max_accounts;
    panel.store.write_account(&account)?;
    tracing::info!(user = %user, ?max_accounts, audit = true, "reseller limit changed");
    Ok(AccountView::of(&account))
}

pub fn change_plan(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    plan: &PlanName,
) -> Result<AccountView> {
    let event = serde_json::json!({ "username": user, "plan": plan });
    crate::hooks::around(panel, actor, "changepackage", event, || {
        change_plan_now(panel, actor, user, plan)
    })
}

fn change_plan_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    plan: &PlanName,
) -> Result<AccountView> {
    if actor.role == Role::User {
        return Err(ModuleError::Forbidden("account holders cannot change their plan".into()));
    }
    let _lock = locks::account(&panel.layout, user)?;
    let mut account = load_managed(panel, actor, user)?;
    let plan = plan::get_usable(panel, actor, plan)?;
    crate::domain::check_usage_fits(panel, &account, &plan)?;
    crate::cron::check_usage_fits(panel, &account, &plan)?;
    crate::dns::check_usage_fits(panel, &account, &plan)?;
    database::check_plan_fits(panel, &account, &plan)?;
    account.plan = plan.name;
    panel.store.write_account(&account)?;
    Ok(AccountView::of(&account))
}

pub fn change_password(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    password: &Password,
) -> Result<()> {
    let event = serde_json::json!({ "username": user });
    crate::hooks::around(panel, actor, "passwdacct", event, || {
        change_password_now(panel, actor, user, password)
    })
}

fn change_password_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    password: &Password,
) -> Result<()> {
    password.check_not_containing(user.as_str())?;
    let hash = hs_auth::hash_password(password)?;
    let _lock = locks::account(&panel.layout, user)?;
    let mut account = load_managed(panel, actor, user)?;
    account.password_hash = hash;
    panel.store.write_account(&account)?;
    if let Some(auth) = &panel.auth {
        auth.revoke_sessions(user.as_str())?;
    }
    Ok(())
}

/// Removes everything the account owned and nothing of anyone else's.
pub fn terminate(panel: &Panel, actor: &Actor, user: &Username, op_id: &str) -> Result<()> {
    let event = serde_json::json!({ "username": user });
    crate::hooks::around(panel, actor, "killacct", event, || {
        terminate_now(panel, actor, user, op_id)
    })
}

fn terminate_now(panel: &Panel, actor: &Actor, user: &Username, op_id: &str) -> Result<()> {
    if actor.role == Role::User {
        return Err(ModuleError::Forbidden("account holders cannot terminate accounts".into()));
    }
    let account = load_managed(panel, actor, user)?;
    if account.role == Role::Reseller && !owned_by(panel, user)?.is_empty() {
        let msg = format!("reseller {user} still owns accounts; terminate or move them first");
        return Err(ModuleError::Conflict(msg));
    }

    let subject = vec![user.to_string(), account.primary_domain.to_string()];
    let journal = Journal::begin(&panel.layout, op_id, TERMINATE, subject)?;
    teardown(panel, user, &account.primary_domain)?;
    journal.finish()?;
    tracing::info!(user = %user, "account terminated");
    Ok(())
}

/// Every step of an account's removal; safe to run again after a crash.
fn teardown(panel: &Panel, user: &Username, primary: &DomainName) -> Result<()> {
    let all = [
        "user_dir",
        "domain_claim",
        "linux_user",
        "state",
        "home",
        "php_pool",
        "vhost",
        "dns_zone",
    ];
    let steps: Vec<String> = all.iter().map(|s| s.to_string()).collect();
    if let Some(auth) = &panel.auth {
        auth.forget_owner(user.as_str())?;
    }
    // HS::Database: the account's databases and database users, found by prefix.
    database::drop_all(panel, user)?;
    undo_create(panel, user, primary, &steps)
}

/// Finishes or undoes every operation that a dead process left in the journal.
pub fn recover(panel: &Panel) -> Result<usize> {
    let mut count = 0;
    for (path, entry) in journal::leftovers(&panel.layout)? {
        let (Some(user), Some(domain)) = (entry.subject.first(), entry.subject.get(1)) else {
            continue;
        };
        let user: Username = user.parse()?;
        let domain: DomainName = domain.parse()?;
        match entry.operation.as_str() {
            CREATE => undo_create(panel, &user, &domain, &entry.steps)?,
            TERMINATE => teardown(panel, &user, &domain)?,
            other => {
                if !crate::domain::recover_entry(panel, other, &user, &domain, &entry.steps)? {
                    tracing::warn!(operation = other, "unknown journal entry left alone");
                    continue;
                }
            }
        }
        journal::forget(&path)?;
        tracing::warn!(op = %entry.op_id, operation = %entry.operation, user = %user, "recovered an unfinished operation");
        count += 1;
    }
    Ok(count)
}
