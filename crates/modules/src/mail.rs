//! HS::Mail: mailboxes, forwarders, catch-alls, autoresponders, DKIM/SPF/DMARC
//! and per-mailbox spam thresholds, on the real Postfix, Dovecot, OpenDKIM and
//! SpamAssassin.
//!
//! The desired state is `userdata/{user}/mail.yaml` ([`hs_config::mail`]). A
//! mail object names its domain; the domain's claim says whose account it
//! is, and [`account::load_managed`] decides whether the actor may touch it
//! (another tenant's domain is a 404). A change is a read-modify-write of the
//! state under the account lock, then [`sync`]: under the `mail-maps` lock the
//! server-wide Postfix maps are rendered from every account's state and go
//! through the pipeline (one `postmap` per map per group commit), the touched
//! domains' Dovecot passwd-files likewise, then each touched mailbox's Sieve
//! script and SpamAssassin `user_prefs`. If a service refuses, the state file
//! is put back and synced again. Batches (`create_accounts`,
//! `create_forwarders`) change the state once and sync once.
//!
//! A domain becomes a mail domain with its first mail object: it gets a
//! 2048-bit DKIM key (OpenDKIM's KeyTable/SigningTable, reloaded through the
//! pipeline) and the records `hspanel._domainkey` (the key), an SPF and a
//! DMARC TXT, published in its zone through HS::DNS (source `mail`).

use std::collections::BTreeSet;
use std::path::Path;

use hs_automation::FileChange;
use hs_config::mail::{
    self, Autoresponder, DKIM_SELECTOR, DomainView, Forwarder, MailDomain, MailTable, Mailbox,
};
use hs_config::state::Account;
use hs_config::{fsutil, locks, yaml};
use hs_services::mail as svc;
use hs_types::{
    DnsRecord, DomainName, EmailAddress, MailQuota, MailboxName, Password, RecordData, RecordType,
    SpamThreshold, Ttl, Username,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::account;
use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};

/// The most mailboxes or forwarders one batch may create.
pub const MAX_BATCH: usize = 5000;
/// The most destinations of one forwarder or catch-all.
pub const MAX_DEST: usize = 20;

/// A mailbox to create.
#[derive(Debug)]
pub struct NewMailbox {
    pub user: MailboxName,
    pub password: Password,
    pub quota: MailQuota,
    pub spam_threshold: Option<SpamThreshold>,
}

/// A mailbox as the API shows it (never the hash).
#[derive(Debug, Clone, Serialize)]
pub struct MailboxView {
    pub email: String,
    pub domain: String,
    pub user: String,
    pub quota: String,
    /// Bytes in the maildir.
    pub usage: u64,
    pub spam_threshold: String,
    pub autoresponder: Option<AutoresponderView>,
    pub created: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutoresponderView {
    pub subject: String,
    pub body: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub interval: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ForwarderView {
    pub source: String,
    pub dest: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DomainMailView {
    pub domain: String,
    pub catchall: Vec<String>,
    pub dkim_selector: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MailListView {
    pub username: String,
    pub suspended: bool,
    pub domains: Vec<DomainMailView>,
    pub accounts: Vec<MailboxView>,
    pub forwarders: Vec<ForwarderView>,
}

// --- entry points ----------------------------------------------------------------

// Each entry point runs inside the plugin hooks of its action (`addpop`, ...);
// the event names the account that owns the domain, found before any hook runs.

/// A hook event: `input` with the owning account's `username`.
fn event(panel: &Panel, actor: &Actor, domain: &DomainName, input: Value) -> Result<Value> {
    let mut event = input;
    event["username"] = json!(owner_of(panel, actor, domain)?);
    Ok(event)
}

/// Creates mailboxes on one domain, all or none, with one sync.
pub fn create_accounts(
    panel: &Panel,
    actor: &Actor,
    domain: &DomainName,
    boxes: Vec<NewMailbox>,
    op_id: &str,
) -> Result<Vec<MailboxView>> {
    let list: Vec<Value> = boxes
        .iter()
        .map(|b| json!({ "email": format!("{}@{domain}", b.user), "quota": b.quota }))
        .collect();
    let input = event(panel, actor, domain, json!({ "domain": domain, "mailboxes": list }))?;
    crate::hooks::around(panel, actor, "addpop", input, || {
        create_accounts_now(panel, actor, domain, boxes, op_id)
    })
}

pub fn change_password(
    panel: &Panel,
    actor: &Actor,
    email: &EmailAddress,
    password: Password,
) -> Result<()> {
    let input = event(panel, actor, email.domain(), json!({ "email": email }))?;
    crate::hooks::around(panel, actor, "passwdpop", input, || {
        change_password_now(panel, actor, email, password)
    })
}

pub fn set_quota(
    panel: &Panel,
    actor: &Actor,
    email: &EmailAddress,
    quota: MailQuota,
) -> Result<()> {
    let input = event(panel, actor, email.domain(), json!({ "email": email, "quota": quota }))?;
    crate::hooks::around(panel, actor, "editquota", input, || {
        set_quota_now(panel, actor, email, quota)
    })
}

pub fn set_autoresponder(
    panel: &Panel,
    actor: &Actor,
    email: &EmailAddress,
    auto: Autoresponder,
) -> Result<()> {
    let input = event(panel, actor, email.domain(), json!({ "email": email }))?;
    crate::hooks::around(panel, actor, "setautoresponder", input, || {
        set_autoresponder_now(panel, actor, email, auto)
    })
}

/// Deletes a mailbox and its mail.
pub fn delete_account(panel: &Panel, actor: &Actor, email: &EmailAddress) -> Result<()> {
    let input = event(panel, actor, email.domain(), json!({ "email": email }))?;
    crate::hooks::around(panel, actor, "delpop", input, || delete_account_now(panel, actor, email))
}

/// Creates forwarders, all or none, with one sync. A forwarder whose source
/// is a mailbox keeps a copy there.
pub fn create_forwarders(
    panel: &Panel,
    actor: &Actor,
    forwarders: Vec<(EmailAddress, Vec<EmailAddress>)>,
    op_id: &str,
) -> Result<Vec<ForwarderView>> {
    let Some((first, _)) = forwarders.first() else {
        return Err(ModuleError::Invalid(format!("give 1 to {MAX_BATCH} forwarders")));
    };
    let list: Vec<Value> =
        forwarders.iter().map(|(s, d)| json!({ "source": s, "dest": d })).collect();
    let input = event(panel, actor, first.domain(), json!({ "forwarders": list }))?;
    crate::hooks::around(panel, actor, "addforward", input, || {
        create_forwarders_now(panel, actor, forwarders, op_id)
    })
}

pub fn delete_forwarder(panel: &Panel, actor: &Actor, source: &EmailAddress) -> Result<()> {
    let input = event(panel, actor, source.domain(), json!({ "source": source }))?;
    crate::hooks::around(panel, actor, "delforward", input, || {
        delete_forwarder_now(panel, actor, source)
    })
}

/// Sets (or, with no destination, removes) the domain's catch-all.
pub fn set_catchall(
    panel: &Panel,
    actor: &Actor,
    domain: &DomainName,
    dest: Vec<EmailAddress>,
) -> Result<()> {
    let input = event(panel, actor, domain, json!({ "domain": domain, "dest": dest }))?;
    crate::hooks::around(panel, actor, "setcatchall", input, || {
        set_catchall_now(panel, actor, domain, dest)
    })
}

fn create_accounts_now(
    panel: &Panel,
    actor: &Actor,
    domain: &DomainName,
    boxes: Vec<NewMailbox>,
    op_id: &str,
) -> Result<Vec<MailboxView>> {
    if boxes.is_empty() || boxes.len() > MAX_BATCH {
        return Err(ModuleError::Invalid(format!("give 1 to {MAX_BATCH} mailboxes")));
    }
    let mut made = Vec::new();
    for b in &boxes {
        let email = b.user.at(domain)?;
        b.password.check_not_containing(b.user.as_str())?;
        let hash = svc::hash_password(&b.password).map_err(ModuleError::Service)?;
        made.push((email, hash));
    }
    let (user, views) = change(panel, actor, domain, |account, table| {
        let limit = panel.store.plan(&account.plan)?.and_then(|p| p.limits.mailboxes);
        let existing: usize = table.domains.iter().map(|d| d.mailboxes.len()).sum();
        if let Some(limit) = limit
            && existing + boxes.len() > limit as usize
        {
            let msg = format!("plan {} allows {limit} mailboxes", account.plan);
            return Err(ModuleError::LimitReached(msg));
        }
        let d = table.domain_mut(domain);
        let mut seen = BTreeSet::new();
        for (b, (email, _)) in boxes.iter().zip(&made) {
            if d.mailbox(&b.user).is_some() || !seen.insert(&b.user) {
                return Err(ModuleError::Conflict(format!("mailbox {email} exists")));
            }
            if d.forwarders.iter().any(|f| f.source == b.user) {
                return Err(ModuleError::Conflict(format!("{email} is a forwarder")));
            }
        }
        let now = jiff::Timestamp::now();
        for (b, (_, hash)) in boxes.iter().zip(made.iter()) {
            d.mailboxes.push(Mailbox {
                user: b.user.clone(),
                hash: hash.clone(),
                quota: b.quota.clone(),
                spam_threshold: b.spam_threshold.clone().unwrap_or_default(),
                autoresponder: None,
                created: now,
            });
        }
        let touched: Vec<MailboxName> = boxes.iter().map(|b| b.user.clone()).collect();
        let views = touched.iter().filter_map(|u| d.mailbox(u)).map(|m| view(panel, domain, m));
        Ok((views.collect::<Vec<_>>(), touched))
    })?;
    tracing::info!(user = %user, domain = %domain, count = views.len(), op_id, "mailboxes created");
    Ok(views)
}

fn change_password_now(
    panel: &Panel,
    actor: &Actor,
    email: &EmailAddress,
    password: Password,
) -> Result<()> {
    password.check_not_containing(email.local())?;
    let hash = svc::hash_password(&password).map_err(ModuleError::Service)?;
    edit_mailbox(panel, actor, email, |m| {
        m.hash = hash;
        Ok(())
    })
}

fn set_quota_now(
    panel: &Panel,
    actor: &Actor,
    email: &EmailAddress,
    quota: MailQuota,
) -> Result<()> {
    edit_mailbox(panel, actor, email, |m| {
        m.quota = quota;
        Ok(())
    })
}

pub fn set_spam_threshold(
    panel: &Panel,
    actor: &Actor,
    email: &EmailAddress,
    threshold: SpamThreshold,
) -> Result<()> {
    edit_mailbox(panel, actor, email, |m| {
        m.spam_threshold = threshold;
        Ok(())
    })
}

fn set_autoresponder_now(
    panel: &Panel,
    actor: &Actor,
    email: &EmailAddress,
    auto: Autoresponder,
) -> Result<()> {
    if let (Some(start), Some(end)) = (auto.start, auto.end)
        && end < start
    {
        return Err(ModuleError::Invalid("the end date is before the start date".into()));
    }
    if !(1..=8760).contains(&auto.interval_hours) {
        return Err(ModuleError::Invalid("the interval must be 1 to 8760 hours".into()));
    }
    edit_mailbox(panel, actor, email, |m| {
        m.autoresponder = Some(auto);
        Ok(())
    })
}

pub fn delete_autoresponder(panel: &Panel, actor: &Actor, email: &EmailAddress) -> Result<()> {
    edit_mailbox(panel, actor, email, |m| match m.autoresponder.take() {
        Some(_) => Ok(()),
        None => Err(ModuleError::NotFound(format!("{email} has no autoresponder"))),
    })
}

fn delete_account_now(panel: &Panel, actor: &Actor, email: &EmailAddress) -> Result<()> {
    let domain = email.domain().clone();
    let user = email.mailbox();
    change(panel, actor, &domain, |_, table| {
        let d = table.domain_mut(&domain);
        let before = d.mailboxes.len();
        d.mailboxes.retain(|m| m.user != user);
        if d.mailboxes.len() == before {
            return Err(missing(email));
        }
        Ok(((), Vec::new()))
    })?;
    remove_mailbox_files(panel, &domain, user.as_str());
    tracing::info!(email = %email, "mailbox deleted");
    Ok(())
}

fn create_forwarders_now(
    panel: &Panel,
    actor: &Actor,
    forwarders: Vec<(EmailAddress, Vec<EmailAddress>)>,
    op_id: &str,
) -> Result<Vec<ForwarderView>> {
    if forwarders.is_empty() || forwarders.len() > MAX_BATCH {
        return Err(ModuleError::Invalid(format!("give 1 to {MAX_BATCH} forwarders")));
    }
    let domain = forwarders[0].0.domain().clone();
    for (source, dest) in &forwarders {
        if source.domain() != &domain {
            return Err(ModuleError::Invalid("a batch of forwarders must share a domain".into()));
        }
        check_dest(dest)?;
        if dest.contains(source) {
            return Err(ModuleError::Invalid(format!("{source} cannot forward to itself")));
        }
    }
    let count = forwarders.len();
    let (user, views) = change(panel, actor, &domain, |account, table| {
        let limit = panel.store.plan(&account.plan)?.and_then(|p| p.limits.forwarders);
        let existing: usize = table.domains.iter().map(|d| d.forwarders.len()).sum();
        if let Some(limit) = limit
            && existing + count > limit as usize
        {
            let msg = format!("plan {} allows {limit} forwarders", account.plan);
            return Err(ModuleError::LimitReached(msg));
        }
        let d = table.domain_mut(&domain);
        let mut views = Vec::new();
        for (source, dest) in &forwarders {
            let local = source.mailbox();
            if d.forwarders.iter().any(|f| f.source == local) {
                return Err(ModuleError::Conflict(format!("forwarder {source} exists")));
            }
            d.forwarders.push(Forwarder { source: local, dest: dest.clone() });
            views.push(ForwarderView {
                source: source.to_string(),
                dest: dest.iter().map(ToString::to_string).collect(),
            });
        }
        Ok((views, Vec::new()))
    })?;
    tracing::info!(user = %user, domain = %domain, count, op_id, "forwarders created");
    Ok(views)
}

fn delete_forwarder_now(panel: &Panel, actor: &Actor, source: &EmailAddress) -> Result<()> {
    let domain = source.domain().clone();
    let local = source.mailbox();
    change(panel, actor, &domain, |_, table| {
        let d = table.domain_mut(&domain);
        let before = d.forwarders.len();
        d.forwarders.retain(|f| f.source != local);
        if d.forwarders.len() == before {
            return Err(ModuleError::NotFound(format!("there is no forwarder {source}")));
        }
        Ok(((), Vec::new()))
    })?;
    Ok(())
}

fn set_catchall_now(
    panel: &Panel,
    actor: &Actor,
    domain: &DomainName,
    dest: Vec<EmailAddress>,
) -> Result<()> {
    if !dest.is_empty() {
        check_dest(&dest)?;
    }
    change(panel, actor, domain, |_, table| {
        table.domain_mut(domain).catchall = dest;
        Ok(((), Vec::new()))
    })?;
    Ok(())
}

/// Every mailbox and forwarder of the account owning `domain`, or of `user`.
pub fn list(panel: &Panel, actor: &Actor, user: &Username) -> Result<MailListView> {
    let account = account::load_managed(panel, actor, user)?;
    let table = panel.store.mail_table(user)?;
    let mut out = MailListView {
        username: user.to_string(),
        suspended: account.suspended.is_some(),
        domains: Vec::new(),
        accounts: Vec::new(),
        forwarders: Vec::new(),
    };
    for d in &table.domains {
        out.domains.push(DomainMailView {
            domain: d.domain.to_string(),
            catchall: d.catchall.iter().map(ToString::to_string).collect(),
            dkim_selector: DKIM_SELECTOR.into(),
        });
        out.accounts.extend(d.mailboxes.iter().map(|m| view(panel, &d.domain, m)));
        out.forwarders.extend(d.forwarders.iter().map(|f| ForwarderView {
            source: format!("{}@{}", f.source, d.domain),
            dest: f.dest.iter().map(ToString::to_string).collect(),
        }));
    }
    Ok(out)
}

/// The account owning `domain`, if the actor may manage it.
pub fn owner_of(panel: &Panel, actor: &Actor, domain: &DomainName) -> Result<Username> {
    let not_found = || ModuleError::NotFound(format!("domain {domain} does not exist"));
    let user = panel.store.domain_owner(domain)?.ok_or_else(not_found)?;
    account::load_managed(panel, actor, &user).map_err(|_| not_found())?;
    Ok(user)
}

/// Suspension changed: logins and deliveries follow the account's state;
/// after an unsuspension the deferred mail is delivered now.
pub fn suspension_changed(panel: &Panel, account: &Account) -> Result<()> {
    let table = panel.store.mail_table(&account.username)?;
    if table.domains.is_empty() {
        return Ok(());
    }
    let domains: Vec<DomainName> = table.domains.iter().map(|d| d.domain.clone()).collect();
    sync(panel, &domains, &[])?;
    if account.suspended.is_none() {
        let names: Vec<String> = domains.iter().map(ToString::to_string).collect();
        match svc::Postfix::new(&panel.layout).release(&names) {
            Ok(n) => tracing::info!(user = %account.username, released = n, "held mail released"),
            Err(e) => tracing::warn!(user = %account.username, "cannot release held mail: {e}"),
        }
    }
    Ok(())
}

/// Termination: the account's mailboxes, maps, passwd-files and keys go.
pub fn remove_account(panel: &Panel, user: &Username) -> Result<()> {
    let table = panel.store.mail_table(user)?;
    if table.domains.is_empty() {
        return Ok(());
    }
    fsutil::remove_if_exists(&panel.layout.mail_file(user)).map_err(ModuleError::internal)?;
    let domains: Vec<DomainName> = table.domains.iter().map(|d| d.domain.clone()).collect();
    sync(panel, &domains, &[])?;
    for d in &table.domains {
        let home = panel.layout.mail_root().join(d.domain.as_str());
        remove_tree(&home);
        if let Some(dir) = panel.layout.dkim_key(&d.domain).parent() {
            remove_tree(dir);
        }
        let prefs = panel.layout.path("var/lib/spamassassin/hspanel-users").join(d.domain.as_str());
        remove_tree(&prefs);
    }
    Ok(())
}

/// For HS::Backup: puts back an account's mail state (`mail.yaml` as saved,
/// parsed again) and its domains' DKIM keys (`{domain}.private` in `keys`),
/// then renders every map, passwd-file and mailbox file. The maildirs are the
/// caller's to unpack. Runs under the account's lock, held by the caller.
pub fn restore_state(panel: &Panel, user: &Username, saved: &str, keys: &Path) -> Result<()> {
    let table: MailTable = yaml::from_str(saved).map_err(ModuleError::Invalid)?;
    if &table.username != user {
        return Err(ModuleError::Invalid("the saved mail state is another account's".into()));
    }
    for d in &table.domains {
        let Ok(private) = std::fs::read(keys.join(format!("{}.private", d.domain))) else {
            continue;
        };
        let key = panel.layout.dkim_key(&d.domain);
        if let Some(dir) = key.parent() {
            std::fs::create_dir_all(dir).map_err(ModuleError::internal)?;
            let _ = svc::chown_to(dir, "opendkim");
        }
        fsutil::write_atomic(&key, &private, 0o600).map_err(ModuleError::internal)?;
        svc::chown_to(&key, "opendkim").map_err(ModuleError::Service)?;
    }
    let text = yaml::to_string(&table)?;
    let path = panel.layout.mail_file(user);
    fsutil::write_atomic(&path, text.as_bytes(), 0o600).map_err(ModuleError::internal)?;
    let domains: Vec<DomainName> = table.domains.iter().map(|d| d.domain.clone()).collect();
    let touched: Vec<(DomainName, MailboxName)> = table
        .domains
        .iter()
        .flat_map(|d| d.mailboxes.iter().map(|m| (d.domain.clone(), m.user.clone())))
        .collect();
    sync(panel, &domains, &touched)
}

// --- the read-modify-write and the sync -------------------------------------------

/// Changes the state of the account owning `domain` under its lock, then
/// syncs the domain (and the mailboxes `edit` names); a refused sync puts the
/// state back.
fn change<T>(
    panel: &Panel,
    actor: &Actor,
    domain: &DomainName,
    edit: impl FnOnce(&Account, &mut MailTable) -> Result<(T, Vec<MailboxName>)>,
) -> Result<(Username, T)> {
    let user = owner_of(panel, actor, domain)?;
    let _lock = locks::account(&panel.layout, &user)?;
    let account = account::load_managed(panel, actor, &user)?;
    let mut table = panel.store.mail_table(&user)?;
    let new_domain = table.domain(domain).is_none();
    let (out, touched) = edit(&account, &mut table)?;

    if new_domain {
        enable_domain(panel, &user, domain)?;
    }
    let path = panel.layout.mail_file(&user);
    let text = yaml::to_string(&table)?;
    let previous = fsutil::write_keeping_backup(&path, text.as_bytes(), 0o600)
        .map_err(ModuleError::internal)?;
    let touched: Vec<(DomainName, MailboxName)> =
        touched.into_iter().map(|m| (domain.clone(), m)).collect();
    if let Err(e) = sync(panel, std::slice::from_ref(domain), &touched) {
        if let Err(undo) = fsutil::restore(&path, previous.as_deref(), 0o600) {
            tracing::error!(user = %user, "cannot restore {}: {undo}", path.display());
        } else if let Err(again) = sync(panel, std::slice::from_ref(domain), &[]) {
            tracing::error!(user = %user, "cannot sync the mail state back: {again}");
        }
        return Err(e);
    }
    Ok((user, out))
}

fn edit_mailbox(
    panel: &Panel,
    actor: &Actor,
    email: &EmailAddress,
    edit: impl FnOnce(&mut Mailbox) -> Result<()>,
) -> Result<()> {
    let domain = email.domain().clone();
    let user = email.mailbox();
    change(panel, actor, &domain, |_, table| {
        let Some(d) = table.domains.iter_mut().find(|d| d.domain == domain) else {
            return Err(missing(email));
        };
        let m = d.mailboxes.iter_mut().find(|m| m.user == user).ok_or_else(|| missing(email))?;
        edit(m)?;
        Ok(((), vec![user.clone()]))
    })?;
    tracing::info!(email = %email, "mailbox changed");
    Ok(())
}

/// Renders what the services read and hands it to them: the Postfix maps
/// (from every account), the passwd-files of `domains`, the OpenDKIM tables,
/// then the Sieve scripts and spam preferences of `touched` mailboxes.
pub fn sync(
    panel: &Panel,
    domains: &[DomainName],
    touched: &[(DomainName, MailboxName)],
) -> Result<()> {
    let _lock = locks::service(&panel.layout, "mail-maps")?;
    let mut all: Vec<(MailDomain, bool)> = Vec::new();
    for account in panel.store.accounts()? {
        let suspended = account.suspended.is_some();
        for d in panel.store.mail_table(&account.username)?.domains {
            all.push((d, suspended));
        }
    }
    let views: Vec<DomainView<'_>> =
        all.iter().map(|(d, s)| DomainView { domain: d, suspended: *s }).collect();

    // Dovecot first: a new mailbox can log in before mail is accepted for it.
    let mut passwd = Vec::new();
    for name in domains {
        let path = panel.layout.dovecot_users(name);
        match views.iter().find(|v| &v.domain.domain == name) {
            Some(v) => passwd.push(FileChange {
                path,
                content: Some(mail::render_passwd(v.domain, v.suspended)),
                mode: 0o640,
            }),
            None if path.exists() => passwd.push(FileChange::remove(path)),
            None => {}
        }
    }
    if !passwd.is_empty() {
        panel.pipeline.apply("dovecot", &passwd)?;
    }

    let maps = |name: &str, text: String| FileChange::write(panel.layout.postfix_map(name), text);
    let changes = vec![
        maps("virtual_mailbox_domains", mail::render_domains(&views)),
        maps("virtual_mailbox_maps", mail::render_mailbox_maps(&views)),
        maps("virtual_alias_maps", mail::render_alias_maps(&views)),
        maps("hspanel_hold", mail::render_hold(&views)),
    ];
    panel.pipeline.apply("postfix", &changes)?;

    let keys: Vec<(&DomainName, std::path::PathBuf)> = views
        .iter()
        .map(|v| (&v.domain.domain, panel.layout.dkim_key(&v.domain.domain)))
        .filter(|(_, key)| key.exists())
        .collect();
    let key_refs: Vec<(&DomainName, &Path)> = keys.iter().map(|(d, k)| (*d, k.as_path())).collect();
    let names: Vec<&DomainName> = keys.iter().map(|(d, _)| *d).collect();
    let dir = panel.layout.opendkim_dir();
    let tables = vec![
        FileChange::write(dir.join("KeyTable"), mail::render_key_table(&key_refs)),
        FileChange::write(dir.join("SigningTable"), mail::render_signing_table(&names)),
    ];
    let unchanged = tables
        .iter()
        .all(|c| std::fs::read_to_string(&c.path).ok().as_deref() == c.content.as_deref());
    if !unchanged {
        panel.pipeline.apply("opendkim", &tables)?;
    }

    for (domain, user) in touched {
        let Some(m) =
            views.iter().find(|v| &v.domain.domain == domain).and_then(|v| v.domain.mailbox(user))
        else {
            continue;
        };
        write_mailbox_files(panel, domain, m)?;
    }
    // The mail domains were just read: no second pass over every account.
    let mail_domains: Vec<&DomainName> = all.iter().map(|(d, _)| &d.domain).collect();
    apply_tls(panel, &mail_domains)
}

/// Per-domain TLS for Postfix and Dovecot: each mail domain that has a
/// certificate is served, by SNI, the bundle nginx serves for it (others get
/// the server's certificate). Applied only when the list changed; HS::SSL calls
/// it after every deployment.
pub fn sync_tls(panel: &Panel) -> Result<()> {
    let mut tables = Vec::new();
    for account in panel.store.accounts()? {
        tables.push(panel.store.mail_table(&account.username)?);
    }
    let mail_domains: Vec<&DomainName> =
        tables.iter().flat_map(|t| t.domains.iter().map(|d| &d.domain)).collect();
    apply_tls(panel, &mail_domains)
}

/// Writes and applies the SNI files for these mail domains (all of them).
fn apply_tls(panel: &Panel, mail_domains: &[&DomainName]) -> Result<()> {
    let _lock = locks::service(&panel.layout, "mail-tls")?;
    let mut entries: Vec<(String, std::path::PathBuf)> = mail_domains
        .iter()
        .filter_map(|d| Some((d.to_string(), crate::ssl::served_file(panel, d)?)))
        .collect();
    entries.sort();
    let mut map = FileChange::write(
        panel.layout.postfix_map(svc::SNI_MAP),
        hs_config::mail_conf::postfix_sni(&entries),
    );
    map.mode = 0o600;
    let mut conf =
        FileChange::write(panel.layout.dovecot_sni(), hs_config::mail_conf::dovecot_sni(&entries));
    conf.mode = 0o600;
    let same = |c: &FileChange| std::fs::read_to_string(&c.path).ok() == c.content;
    if same(&map) && same(&conf) {
        return Ok(());
    }
    panel.pipeline.apply("dovecot", &[conf])?;
    panel.pipeline.apply("postfix", &[map])?;
    Ok(())
}

/// A mailbox's home (owned by the vmail user), Sieve script and spam prefs.
fn write_mailbox_files(panel: &Panel, domain: &DomainName, m: &Mailbox) -> Result<()> {
    let (uid, gid) = svc::ensure_vmail().map_err(ModuleError::Service)?;
    let home = panel.layout.mailbox_home(domain, m.user.as_str());
    let owned = |path: &Path| -> Result<()> {
        let (u, g) = (nix::unistd::Uid::from_raw(uid), nix::unistd::Gid::from_raw(gid));
        nix::unistd::chown(path, Some(u), Some(g)).map_err(ModuleError::internal)
    };
    for dir in [home.parent().unwrap_or(&home), home.as_path()] {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(ModuleError::internal)?;
            owned(dir)?;
        }
    }
    let address = m.user.at(domain)?;
    let script = home.join("hspanel.sieve");
    let text = mail::render_sieve(m, &address);
    // Unchanged, it stays as it is: Pigeonhole compiles it again only when
    // its time changes.
    if std::fs::read_to_string(&script).ok().as_deref() != Some(text.as_str()) {
        fsutil::write_atomic(&script, text.as_bytes(), 0o600).map_err(ModuleError::internal)?;
        owned(&script)?;
    }

    let prefs = panel.layout.spam_prefs(domain, m.user.as_str());
    if let Some(dir) = prefs.parent() {
        std::fs::create_dir_all(dir).map_err(ModuleError::internal)?;
    }
    fsutil::write_atomic(&prefs, mail::render_user_prefs(&m.spam_threshold).as_bytes(), 0o644)
        .map_err(ModuleError::internal)
}

/// A domain's first mail object: its DKIM key, and SPF, DMARC and DKIM
/// records in its zone.
fn enable_domain(panel: &Panel, user: &Username, domain: &DomainName) -> Result<()> {
    let key = panel.layout.dkim_key(domain);
    let public = if key.exists() {
        public_key_of(&key)?
    } else {
        let (private, public) = svc::dkim_keygen().map_err(ModuleError::Service)?;
        if let Some(dir) = key.parent() {
            std::fs::create_dir_all(dir).map_err(ModuleError::internal)?;
            let _ = svc::chown_to(dir, "opendkim");
        }
        fsutil::write_atomic(&key, private.as_bytes(), 0o600).map_err(ModuleError::internal)?;
        svc::chown_to(&key, "opendkim").map_err(ModuleError::Service)?;
        public
    };
    let txt = |name: &str, value: &str| -> Result<DnsRecord> {
        let data = RecordData::parse(RecordType::Txt, value)?;
        Ok(DnsRecord::new(name.parse()?, Ttl::default(), data)?)
    };
    let records = vec![
        txt(&format!("{DKIM_SELECTOR}._domainkey"), &format!("v=DKIM1; k=rsa; p={public}"))?,
        txt("@", "v=spf1 a mx ~all")?,
        txt("_dmarc", &format!("v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}"))?,
    ];
    // FIXME: a domain without its own zone (a subdomain) gets no records yet.
    crate::dns::publish(panel, user, domain, "mail", records)?;
    Ok(())
}

fn public_key_of(key: &Path) -> Result<String> {
    let private = std::fs::read_to_string(key).map_err(ModuleError::internal)?;
    let out = hs_automation::Cmd::new("openssl")?
        .args(["pkey", "-pubout"])
        .stdin_secret(private.into_bytes())
        .run()?;
    Ok(out.stdout.lines().filter(|l| !l.starts_with("-----")).collect())
}

fn check_dest(dest: &[EmailAddress]) -> Result<()> {
    if dest.is_empty() || dest.len() > MAX_DEST {
        return Err(ModuleError::Invalid(format!("give 1 to {MAX_DEST} destinations")));
    }
    Ok(())
}

fn missing(email: &EmailAddress) -> ModuleError {
    ModuleError::NotFound(format!("mailbox {email} does not exist"))
}

fn remove_mailbox_files(panel: &Panel, domain: &DomainName, user: &str) {
    remove_tree(&panel.layout.mailbox_home(domain, user));
    if let Some(dir) = panel.layout.spam_prefs(domain, user).parent() {
        remove_tree(dir);
    }
}

fn remove_tree(path: &Path) {
    if let Err(e) = std::fs::remove_dir_all(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), "cannot remove: {e}");
    }
}

/// Bytes in a maildir (every file below it).
fn usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => usage(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

fn view(panel: &Panel, domain: &DomainName, m: &Mailbox) -> MailboxView {
    let maildir = panel.layout.mailbox_home(domain, m.user.as_str()).join("Maildir");
    MailboxView {
        email: format!("{}@{domain}", m.user),
        domain: domain.to_string(),
        user: m.user.to_string(),
        quota: m.quota.to_string(),
        usage: usage(&maildir),
        spam_threshold: m.spam_threshold.to_string(),
        autoresponder: m.autoresponder.as_ref().map(|a| AutoresponderView {
            subject: a.subject.to_string(),
            body: a.body.to_string(),
            start: a.start.map(|d| d.to_string()),
            end: a.end.map(|d| d.to_string()),
            interval: a.interval_hours,
        }),
        created: m.created.to_string(),
    }
}
