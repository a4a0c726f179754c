//! HS::DNS: one BIND zone per hosted domain (main, addon and parked domains;
//! subdomains are records in their parent's zone).
//!
//! A zone's desired state is `userdata/{user}/dns/{domain}.yaml`: its records with
//! stable ids and its serial ([`hs_config::zone`]). Every change is a
//! read-modify-write under the account lock: validate the whole zone, bump the
//! serial, render the zone file, write the state, then the pipeline writes the
//! file, runs `named-checkzone` and reloads that zone alone (`rndc reload ZONE`),
//! waiting until named serves the new serial. A refused change touches no file.
//!
//! Zones come and go with `hspanel-zones.conf` (one declaration per zone, rendered
//! from the zone files present) and `rndc reconfig`, through the pipeline's merged
//! reload, under the `dns-zones` lock so two creations never drop each other.
//!
//! Other modules publish their records with [`publish`] (mail: SPF, DKIM, DMARC):
//! each module owns the records it published, marked with its source.
//!
//! DNSSEC is a per-zone option ([`set_dnssec`]): the zone's declaration gets
//! `dnssec-policy default; inline-signing yes;` and named makes the keys (in
//! [`hs_config::Layout::dnssec_keys`]) and keeps the signatures; the zone file
//! stays unsigned. Turning it off declares `dnssec-policy insecure`, BIND's safe
//! way back. `list_records` shows the DS records for the registrar.
//! FIXME: on a real server named runs as `bind`: `var/named` and its `keys`
//! folder must be writable by it for inline signing (the sandbox's runs as root).
//! The plan's `dns_records` caps the records of each zone (those other modules
//! published count too): a user's change that would grow a zone past it is
//! refused with `limit_reached`; one that shrinks or keeps its size is not, so an
//! account moved to a smaller plan can tidy up. Records other modules publish
//! are not held to it (a subdomain must not fail for its address records).

use hs_automation::FileChange;
use hs_config::locks;
use hs_config::render::{self, DnsTemplateVars, ZoneDecl, ZoneFile, ZoneLine};
use hs_config::state::{Account, Domain, DomainKind, Plan};
use hs_config::zone::{self, Dnssec, RecordSource, Zone, ZoneRuleError};
use hs_config::{fsutil, zonefile};
use hs_services::bind::Bind;
use hs_types::dns_record::DEFAULT_TTL;
use hs_types::{DnsRecord, DomainName, RecordData, RecordName, RecordType, Ttl, Username};
use serde::{Deserialize, Serialize};

use crate::account;
use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};

/// SOA timers of the spec's template.
const REFRESH: u32 = 3600;
const RETRY: u32 = 1800;
const EXPIRE: u32 = 604_800;
const MINIMUM: u32 = 86_400;

/// The source of the records that mirror the account's subdomains.
const SUBDOMAINS: &str = "subdomain";

/// A record as a client sends it: `{type, name, value, ttl, priority}`. `name` is
/// relative to the zone (`@` for the apex) or absolute inside it; MX and SRV take
/// their priority in `value` (`10 mail`) or in `priority`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    #[serde(rename = "type")]
    pub rtype: RecordType,
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub ttl: Option<Ttl>,
    #[serde(default)]
    pub priority: Option<u16>,
}

impl RecordInput {
    pub fn to_record(&self, zone: &DomainName) -> Result<DnsRecord> {
        let name = RecordName::in_zone(self.name.trim(), zone)?;
        let value = match (self.priority, self.rtype) {
            (None, _) => self.value.clone(),
            (Some(p), RecordType::Mx | RecordType::Srv) => format!("{p} {}", self.value),
            (Some(_), other) => {
                let msg = format!("a {other} record has no priority");
                return Err(ModuleError::Invalid(msg));
            }
        };
        let data = RecordData::parse(self.rtype, &value)?;
        Ok(DnsRecord::new(name, self.ttl.unwrap_or_default(), data)?)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub id: u64,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    pub value: String,
    pub ttl: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl RecordView {
    fn of(r: &zone::ZoneRecord) -> RecordView {
        RecordView {
            id: r.id,
            name: r.record.name.to_string(),
            rtype: r.record.rtype(),
            value: r.record.data.to_zone(),
            ttl: r.record.ttl.get(),
            source: r.source.as_ref().map(|s| s.as_str().to_string()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneView {
    pub domain: String,
    pub serial: u32,
    pub records: Vec<RecordView>,
    /// `unsigned`, `signed` or `unsigning`.
    pub dnssec: Dnssec,
    /// For a signed zone, the DS records to give the registrar (empty until named
    /// has made the keys, a moment after signing was turned on).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ds: Vec<String>,
}

impl ZoneView {
    fn of(zone: &Zone) -> ZoneView {
        ZoneView {
            domain: zone.domain.to_string(),
            serial: zone.serial,
            records: zone.records.iter().map(RecordView::of).collect(),
            dnssec: zone.dnssec,
            ds: Vec::new(),
        }
    }

    /// With the DS records of a signed zone, read from named's keys.
    fn with_ds(panel: &Panel, zone: &Zone) -> ZoneView {
        let mut view = ZoneView::of(zone);
        if zone.dnssec == Dnssec::Signed {
            let bind = Bind::new(&panel.layout);
            match bind.ds_records(&panel.layout.dnssec_keys(), zone.domain.as_str()) {
                Ok(ds) => view.ds = ds,
                Err(e) => tracing::warn!(zone = %zone.domain, "no DS records: {e}"),
            }
        }
        view
    }
}

// --- entry points (the API and the CLI) ---------------------------------------------

/// Creates the zone of one of the account's domains from a template.
pub fn create_zone(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    template: Option<&str>,
) -> Result<ZoneView> {
    let event = serde_json::json!({ "username": user, "domain": domain, "template": template });
    crate::hooks::around(panel, actor, "addzone", event, || {
        create_zone_now(panel, actor, user, domain, template)
    })
}

fn create_zone_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    template: Option<&str>,
) -> Result<ZoneView> {
    let _lock = locks::account(&panel.layout, user)?;
    let record = zone_domain(panel, actor, user, domain)?;
    if zone::read(&panel.layout, user, domain)?.is_some() {
        return Err(ModuleError::Conflict(format!("{domain} has a zone already")));
    }
    let zone = new_zone(panel, user, &record.domain, template.unwrap_or("default"))?;
    Ok(ZoneView::of(&zone))
}

/// Removes a zone: named stops answering for the domain, which stays hosted.
pub fn delete_zone(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
) -> Result<()> {
    let event = serde_json::json!({ "username": user, "domain": domain });
    crate::hooks::around(panel, actor, "killzone", event, || {
        delete_zone_now(panel, actor, user, domain)
    })
}

fn delete_zone_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
) -> Result<()> {
    let _lock = locks::account(&panel.layout, user)?;
    zone_domain(panel, actor, user, domain)?;
    load(panel, user, domain)?;
    remove_zone(panel, user, domain)
}

pub fn list_records(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
) -> Result<ZoneView> {
    zone_domain(panel, actor, user, domain)?;
    Ok(ZoneView::with_ds(panel, &load(panel, user, domain)?))
}

/// Turns DNSSEC on or off for a zone: its declaration names a `dnssec-policy`
/// (`default`, or `insecure` on the way back), checked with `named-checkconf` and
/// made live with `rndc reconfig`. The records and the zone file do not change.
pub fn set_dnssec(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    enabled: bool,
) -> Result<ZoneView> {
    let event = serde_json::json!({ "username": user, "domain": domain, "enabled": enabled });
    crate::hooks::around(panel, actor, "setdnssec", event, || {
        set_dnssec_now(panel, actor, user, domain, enabled)
    })
}

fn set_dnssec_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    enabled: bool,
) -> Result<ZoneView> {
    let _lock = locks::account(&panel.layout, user)?;
    zone_domain(panel, actor, user, domain)?;
    let previous = load(panel, user, domain)?;
    let wanted = match (enabled, previous.dnssec) {
        (true, _) => Dnssec::Signed,
        (false, Dnssec::Unsigned) => Dnssec::Unsigned,
        (false, _) => Dnssec::Unsigning,
    };
    if wanted == previous.dnssec {
        return Ok(ZoneView::with_ds(panel, &previous));
    }
    let mut zone = previous.clone();
    zone.dnssec = wanted;
    let policy_file = panel.layout.zone_policy_file(domain);
    {
        let _zones = locks::service(&panel.layout, "dns-zones")?;
        zone::write(&panel.layout, &zone)?;
        let policy = wanted.policy().unwrap_or_default();
        let changes = [
            FileChange::write(policy_file, format!("{policy}\n")),
            zones_conf(panel, None, None, Some((domain, wanted)))?,
        ];
        let bind = Bind::new(&panel.layout);
        let check = || {
            use hs_automation::ServiceDriver;
            bind.check()
        };
        let written = panel.pipeline.apply_scoped("bind", &changes, &check, &|| Ok(()));
        if let Err(e) = written {
            zone::write(&panel.layout, &previous)?;
            return Err(e.into());
        }
    }
    panel.pipeline.request_reload("bind")?;
    tracing::info!(zone = %domain, dnssec = ?wanted, "zone DNSSEC changed");
    Ok(ZoneView::with_ds(panel, &zone))
}

pub fn add_record(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    input: &RecordInput,
) -> Result<RecordView> {
    let event = serde_json::json!({ "username": user, "domain": domain, "record": input });
    crate::hooks::around(panel, actor, "addzonerecord", event, || {
        add_record_now(panel, actor, user, domain, input)
    })
}

fn add_record_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    input: &RecordInput,
) -> Result<RecordView> {
    let _lock = locks::account(&panel.layout, user)?;
    zone_domain(panel, actor, user, domain)?;
    let previous = load(panel, user, domain)?;
    let mut zone = previous.clone();
    let id = zone.push(input.to_record(domain)?, None);
    check_limit(panel, user, &previous, &zone)?;
    let zone = commit(panel, &previous, zone)?;
    view_of(&zone, id)
}

pub fn edit_record(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    id: u64,
    input: &RecordInput,
) -> Result<RecordView> {
    let event =
        serde_json::json!({ "username": user, "domain": domain, "id": id, "record": input });
    crate::hooks::around(panel, actor, "editzonerecord", event, || {
        edit_record_now(panel, actor, user, domain, id, input)
    })
}

fn edit_record_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    id: u64,
    input: &RecordInput,
) -> Result<RecordView> {
    let _lock = locks::account(&panel.layout, user)?;
    zone_domain(panel, actor, user, domain)?;
    let previous = load(panel, user, domain)?;
    let mut zone = previous.clone();
    let record = input.to_record(domain)?;
    let slot = zone.records.iter_mut().find(|r| r.id == id).ok_or_else(|| no_record(id))?;
    slot.record = record;
    slot.source = None;
    let zone = commit(panel, &previous, zone)?;
    view_of(&zone, id)
}

pub fn delete_record(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    id: u64,
) -> Result<()> {
    let event = serde_json::json!({ "username": user, "domain": domain, "id": id });
    crate::hooks::around(panel, actor, "removezonerecord", event, || {
        delete_record_now(panel, actor, user, domain, id)
    })
}

fn delete_record_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    id: u64,
) -> Result<()> {
    let _lock = locks::account(&panel.layout, user)?;
    zone_domain(panel, actor, user, domain)?;
    let previous = load(panel, user, domain)?;
    let mut zone = previous.clone();
    previous.find(id).ok_or_else(|| no_record(id))?;
    zone.records.retain(|r| r.id != id);
    commit(panel, &previous, zone)?;
    Ok(())
}

/// Replaces the zone's own records (not those other modules published) with a
/// template's.
pub fn apply_template(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    template: &str,
) -> Result<ZoneView> {
    let event = serde_json::json!({ "username": user, "domain": domain, "template": template });
    crate::hooks::around(panel, actor, "applyzonetemplate", event, || {
        apply_template_now(panel, actor, user, domain, template)
    })
}

fn apply_template_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    template: &str,
) -> Result<ZoneView> {
    let _lock = locks::account(&panel.layout, user)?;
    zone_domain(panel, actor, user, domain)?;
    let previous = load(panel, user, domain)?;
    let records = template_records(panel, domain, template)?;
    let zone = replace_own_records(panel, user, &previous, records, None)?;
    Ok(ZoneView::of(&zone))
}

/// Replaces the zone's own records with those of a master file. Its SOA serial is
/// adopted when it is ahead, so secondaries of a migrated zone keep up.
pub fn import_zone(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    text: &str,
) -> Result<ZoneView> {
    let event = serde_json::json!({ "username": user, "domain": domain, "zone": text });
    crate::hooks::around(panel, actor, "importzone", event, || {
        import_zone_now(panel, actor, user, domain, text)
    })
}

fn import_zone_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
    text: &str,
) -> Result<ZoneView> {
    let _lock = locks::account(&panel.layout, user)?;
    zone_domain(panel, actor, user, domain)?;
    let previous = load(panel, user, domain)?;
    let default_ttl = Ttl::try_from(i64::from(DEFAULT_TTL))?;
    let parsed = zonefile::parse(text, domain, default_ttl)
        .map_err(|e| ModuleError::Invalid(format!("the zone file is refused: {e}")))?;
    if parsed.records.is_empty() {
        return Err(ModuleError::Invalid("the zone file holds no records".into()));
    }
    let zone = replace_own_records(panel, user, &previous, parsed.records, parsed.soa_serial)?;
    Ok(ZoneView::of(&zone))
}

/// The zone as a master file, exactly as named loads it.
pub fn export_zone(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
) -> Result<String> {
    zone_domain(panel, actor, user, domain)?;
    render_zone(panel, &load(panel, user, domain)?)
}

/// The record templates an administrator made available, and `default`.
pub fn templates(panel: &Panel) -> Result<Vec<String>> {
    let mut names = vec!["default".to_string()];
    let dir = panel.layout.dns_templates();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let file = entry.file_name();
        let Some(stem) = file.to_str().and_then(|f| f.strip_suffix(".zone")) else { continue };
        if check_template_name(stem).is_ok() && !names.iter().any(|n| n == stem) {
            names.push(stem.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Refuses a plan change that one of the account's zones would exceed.
pub fn check_usage_fits(panel: &Panel, account: &Account, plan: &Plan) -> Result<()> {
    let Some(limit) = plan.limits.dns_records else { return Ok(()) };
    let user = &account.username;
    for domain in panel.store.domains(user)? {
        let Some(zone) = zone::read(&panel.layout, user, &domain.domain)? else { continue };
        if zone.records.len() > limit as usize {
            return Err(ModuleError::LimitReached(format!(
                "{} has {} DNS records; plan {} allows {limit} per zone",
                domain.domain,
                zone.records.len(),
                plan.name
            )));
        }
    }
    Ok(())
}

// --- the interface for other modules --------------------------------------------------

/// Sets the records `source` publishes in `domain`'s zone to `records`, replacing
/// what it published before; nothing else in the zone changes. `Ok(false)` when
/// the domain has no zone. The caller holds the account lock (every module
/// operation does); the records are checked like a user's.
pub fn publish(
    panel: &Panel,
    user: &Username,
    domain: &DomainName,
    source: &str,
    records: Vec<DnsRecord>,
) -> Result<bool> {
    let source: RecordSource = source.parse()?;
    let Some(previous) = zone::read(&panel.layout, user, domain)? else {
        return Ok(false);
    };
    let mine = |r: &&zone::ZoneRecord| r.source.as_ref() == Some(&source);
    let before: Vec<&DnsRecord> = previous.records.iter().filter(mine).map(|r| &r.record).collect();
    if before.len() == records.len() && records.iter().all(|r| before.contains(&r)) {
        return Ok(true);
    }
    let mut zone = previous.clone();
    zone.records.retain(|r| r.source.as_ref() != Some(&source));
    for record in records {
        zone.push(record, Some(source.clone()));
    }
    commit(panel, &previous, zone)?;
    Ok(true)
}

/// The DNS side of a new domain: a zone for a main, addon or parked domain; the
/// subdomain's records in its parent's zone. Called by HS::Account and
/// HS::Domain under the account lock; idempotent.
pub fn domain_added(panel: &Panel, user: &Username, domain: &Domain) -> Result<()> {
    if let DomainKind::Sub { .. } = domain.kind {
        if let Some(parent) = enclosing_zone(panel, user, &domain.domain)? {
            sync_subdomains(panel, user, &parent)?;
        }
        return Ok(());
    }
    if zone::read(&panel.layout, user, &domain.domain)?.is_none() {
        new_zone(panel, user, &domain.domain, "default")?;
    }
    Ok(())
}

/// The DNS side of a domain that is gone (or whose creation is undone): its zone
/// if it had one, or its records in the enclosing zone. Idempotent.
pub fn domain_removed(panel: &Panel, user: &Username, domain: &DomainName) -> Result<()> {
    remove_zone(panel, user, domain)?;
    if let Some(parent) = enclosing_zone(panel, user, domain)? {
        sync_subdomains(panel, user, &parent)?;
    }
    Ok(())
}

/// Writes a zone's file again from its state, with a new serial, and reloads it
/// (hs-taskd's `rebuild_dns`). `Ok(false)` when the domain has no zone. The
/// caller holds the account lock; idempotent.
pub fn rewrite_zone(panel: &Panel, user: &Username, domain: &DomainName) -> Result<bool> {
    let Some(previous) = zone::read(&panel.layout, user, domain)? else {
        return Ok(false);
    };
    commit(panel, &previous, previous.clone())?;
    Ok(true)
}

/// Writes the panel's include into `named.conf.local` (once) and the zone
/// declarations if they are missing. Run at start-up, before named starts.
pub fn install_layout(panel: &Panel) -> Result<()> {
    let layout = &panel.layout;
    std::fs::create_dir_all(layout.dnssec_keys()).map_err(ModuleError::internal)?;
    let conf = layout.bind_zones_conf();
    if !conf.exists() {
        let change = zones_conf(panel, None, None, None)?;
        let text = change.content.unwrap_or_default();
        fsutil::write_atomic(&conf, text.as_bytes(), 0o644).map_err(ModuleError::internal)?;
    }
    let local = layout.named_conf_local();
    let include = format!("include \"{}\";", conf.display());
    let current = fsutil::read_if_exists(&local).map_err(ModuleError::internal)?;
    let current = String::from_utf8_lossy(&current.unwrap_or_default()).into_owned();
    if !current.lines().any(|l| l.trim() == include) {
        let mut text = current;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("// HS-Panel's zones.\n");
        text.push_str(&include);
        text.push('\n');
        fsutil::write_keeping_backup(&local, text.as_bytes(), 0o644)
            .map_err(ModuleError::internal)?;
    }
    Ok(())
}

// --- inner workings -----------------------------------------------------------------

/// The domain record behind a zone, checking that the actor manages the account
/// and that the domain is one of its own that can have a zone. Anything else
/// looks like a missing zone.
fn zone_domain(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    domain: &DomainName,
) -> Result<Domain> {
    account::load_managed(panel, actor, user)?;
    match panel.store.domain(user, domain)? {
        Some(d) if !matches!(d.kind, DomainKind::Sub { .. }) => Ok(d),
        Some(_) => Err(ModuleError::NotFound(format!(
            "{domain} is a subdomain; its records are in its parent's zone"
        ))),
        None => Err(ModuleError::NotFound(format!("{domain} is not one of {user}'s domains"))),
    }
}

fn load(panel: &Panel, user: &Username, domain: &DomainName) -> Result<Zone> {
    zone::read(&panel.layout, user, domain)?
        .ok_or_else(|| ModuleError::NotFound(format!("{domain} has no DNS zone")))
}

fn no_record(id: u64) -> ModuleError {
    ModuleError::NotFound(format!("the zone has no record {id}"))
}

fn view_of(zone: &Zone, id: u64) -> Result<RecordView> {
    zone.find(id).map(RecordView::of).ok_or_else(|| no_record(id))
}

fn today() -> jiff::civil::Date {
    jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn rule_error(e: ZoneRuleError) -> ModuleError {
    match e {
        ZoneRuleError::Invalid(m) => ModuleError::Invalid(m),
        ZoneRuleError::Duplicate(m) => ModuleError::Conflict(m),
    }
}

/// Refuses a change that grows the zone past the plan's `dns_records`.
fn check_limit(panel: &Panel, user: &Username, previous: &Zone, zone: &Zone) -> Result<()> {
    let wanted = zone.records.len();
    if wanted <= previous.records.len() {
        return Ok(());
    }
    let Some(account) = panel.store.account(user)? else { return Ok(()) };
    let limit = panel.store.plan(&account.plan)?.and_then(|p| p.limits.dns_records);
    match limit {
        Some(limit) if wanted > limit as usize => Err(ModuleError::LimitReached(format!(
            "plan {} allows {limit} DNS records per zone; {} would have {wanted}",
            account.plan, zone.domain
        ))),
        _ => Ok(()),
    }
}

/// Takes a changed zone live: check, new serial, state, zone file, `named-checkzone`,
/// `rndc reload ZONE`. On failure the state and the file are as they were.
fn commit(panel: &Panel, previous: &Zone, mut zone: Zone) -> Result<Zone> {
    zone.check().map_err(rule_error)?;
    zone.serial = zone::next_serial(previous.serial, today());
    let text = render_zone(panel, &zone)?;
    zone::write(&panel.layout, &zone)?;

    let bind = Bind::new(&panel.layout);
    let file = panel.layout.zone_file(&zone.domain);
    let (name, serial) = (zone.domain.as_str(), zone.serial);
    let result = panel.pipeline.apply_scoped(
        "bind",
        &[FileChange::write(file.clone(), text)],
        &|| bind.check_zone(name, &file),
        &|| bind.reload_zone(name, &file, serial),
    );
    if let Err(e) = result {
        zone::write(&panel.layout, previous)?;
        return Err(e.into());
    }
    tracing::info!(zone = name, serial, records = zone.records.len(), "zone changed");
    Ok(zone)
}

/// Keeps the records other modules published and replaces the rest.
fn replace_own_records(
    panel: &Panel,
    user: &Username,
    previous: &Zone,
    records: Vec<DnsRecord>,
    adopt_serial: Option<u32>,
) -> Result<Zone> {
    let mut zone = previous.clone();
    zone.records.retain(|r| r.source.is_some());
    for record in records {
        zone.push(record, None);
    }
    check_limit(panel, user, previous, &zone)?;
    let mut base = previous.clone();
    if let Some(serial) = adopt_serial.filter(|s| zone::serial_gt(*s, previous.serial)) {
        base.serial = serial;
    }
    commit(panel, &base, zone)
}

/// A new zone from a template: state, zone file and declaration, then
/// `rndc reconfig`; returns once named serves it.
fn new_zone(panel: &Panel, user: &Username, domain: &DomainName, template: &str) -> Result<Zone> {
    let mut zone = Zone::new(domain.clone(), user.clone(), 0);
    for record in template_records(panel, domain, template)? {
        zone.push(record, None);
    }
    zone.check().map_err(|e| ModuleError::Invalid(format!("template {template}: {e}")))?;
    zone.serial = zone::next_serial(0, today());
    let text = render_zone(panel, &zone)?;

    let bind = Bind::new(&panel.layout);
    let file = panel.layout.zone_file(domain);
    {
        // Listing the zone files and writing the declarations is one step, so
        // two creations never drop each other's zone.
        let _zones = locks::service(&panel.layout, "dns-zones")?;
        zone::write(&panel.layout, &zone)?;
        let changes =
            [FileChange::write(file.clone(), text), zones_conf(panel, Some(domain), None, None)?];
        let check = || {
            use hs_automation::ServiceDriver;
            bind.check_zone(domain.as_str(), &file)?;
            bind.check()
        };
        let written = panel.pipeline.apply_scoped("bind", &changes, &check, &|| Ok(()));
        if let Err(e) = written {
            zone::remove(&panel.layout, user, domain)?;
            return Err(e.into());
        }
    }
    // Outside the lock, so creations close together share one `rndc reconfig`.
    let live = panel
        .pipeline
        .request_reload("bind")
        .map_err(|e| e.to_string())
        .and_then(|()| bind.wait_serial(domain.as_str(), zone.serial));
    if let Err(e) = live {
        remove_zone(panel, user, domain)?;
        return Err(ModuleError::Service(format!("named did not load {domain}: {e}")));
    }
    tracing::info!(zone = %domain, user = %user, "zone created");
    Ok(zone)
}

/// Removes a zone's declaration, file and state; nothing to do when it has none.
fn remove_zone(panel: &Panel, user: &Username, domain: &DomainName) -> Result<()> {
    let _zones = locks::service(&panel.layout, "dns-zones")?;
    let file = panel.layout.zone_file(domain);
    let conf = panel.layout.bind_zones_conf();
    let declared = fsutil::read_if_exists(&conf)
        .map_err(ModuleError::internal)?
        .is_some_and(|t| String::from_utf8_lossy(&t).contains(&format!("zone \"{domain}\" ")));
    let policy = panel.layout.zone_policy_file(domain);
    if declared || file.exists() || policy.exists() {
        let mut changes = vec![zones_conf(panel, None, Some(domain), None)?];
        changes.extend(
            [file.clone(), policy].into_iter().filter(|p| p.exists()).map(FileChange::remove),
        );
        panel.pipeline.apply("bind", &changes)?;
        remove_signing_files(panel, domain, &file);
        tracing::info!(zone = %domain, user = %user, "zone removed");
    }
    zone::remove(&panel.layout, user, domain)?;
    Ok(())
}

/// What named made for a signed zone that is gone: the signed copy, the journals
/// and the keys. Best effort: a leftover is only disk space.
fn remove_signing_files(panel: &Panel, domain: &DomainName, file: &std::path::Path) {
    let mut gone: Vec<std::path::PathBuf> = [".signed", ".jnl", ".signed.jnl", ".jbk"]
        .iter()
        .map(|ext| std::path::PathBuf::from(format!("{}{ext}", file.display())))
        .collect();
    let prefix = format!("K{domain}.+");
    let keys = std::fs::read_dir(panel.layout.dnssec_keys()).into_iter().flatten().flatten();
    gone.extend(
        keys.filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)))
            .map(|e| e.path()),
    );
    for path in gone {
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove {}: {e}", path.display());
        }
    }
}

/// `hspanel-zones.conf` for the zone files present, plus `add`, minus `remove`,
/// each with the DNSSEC policy its `.policy` file names (or `set` gives).
fn zones_conf(
    panel: &Panel,
    add: Option<&DomainName>,
    remove: Option<&DomainName>,
    set: Option<(&DomainName, Dnssec)>,
) -> Result<FileChange> {
    let layout = &panel.layout;
    let mut names: Vec<DomainName> = Vec::new();
    let mut signed: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(layout.zone_files()).into_iter().flatten().flatten() {
        let file = entry.file_name();
        if let Some(stem) = file.to_str().and_then(|f| f.strip_suffix(".policy")) {
            signed.push(stem.to_string());
            continue;
        }
        let Some(stem) = file.to_str().and_then(|f| f.strip_suffix(".db")) else { continue };
        if let Ok(name) = stem.parse::<DomainName>()
            && name.as_str() == stem
        {
            names.push(name);
        }
    }
    names.extend(add.cloned());
    names.retain(|n| Some(n) != remove);
    names.sort();
    names.dedup();
    let policy_of = |n: &DomainName| -> Option<String> {
        if let Some((name, dnssec)) = set
            && name == n
        {
            return dnssec.policy().map(str::to_string);
        }
        if !signed.iter().any(|s| s == n.as_str()) {
            return None;
        }
        let text = std::fs::read_to_string(layout.zone_policy_file(n)).ok()?;
        let policy = text.trim();
        [Dnssec::Signed, Dnssec::Unsigning]
            .iter()
            .find_map(|d| d.policy().filter(|p| *p == policy))
            .map(str::to_string)
    };
    let decls: Vec<ZoneDecl> = names
        .iter()
        .map(|n| ZoneDecl {
            name: n.to_string(),
            file: layout.zone_file(n),
            dnssec_policy: policy_of(n),
            key_dir: layout.dnssec_keys(),
        })
        .collect();
    let text = render::bind_zones(&panel.templates()?, &decls)?;
    Ok(FileChange::write(layout.bind_zones_conf(), text))
}

fn render_zone(panel: &Panel, zone: &Zone) -> Result<String> {
    let view = ZoneFile {
        domain: zone.domain.to_string(),
        serial: zone.serial,
        primary_ns: format!("ns1.{}.", panel.config.hostname),
        hostmaster: format!("admin.{}.", zone.domain),
        default_ttl: DEFAULT_TTL,
        refresh: REFRESH,
        retry: RETRY,
        expire: EXPIRE,
        minimum: MINIMUM,
        records: zone
            .records
            .iter()
            .map(|r| ZoneLine {
                name: r.record.name.to_string(),
                ttl: r.record.ttl.get(),
                rtype: r.record.rtype().to_string(),
                value: r.record.data.to_zone(),
            })
            .collect(),
    };
    Ok(render::zone_file(&panel.templates()?, &view)?)
}

fn check_template_name(name: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    let first_ok =
        name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if first_ok && name.len() <= 32 && name.chars().all(ok) {
        Ok(())
    } else {
        Err(ModuleError::Invalid(
            "a template name is 1-32 of a-z, 0-9, '-' and '_', starting with a letter or digit"
                .into(),
        ))
    }
}

/// A template's records for `domain`: `templates/dns/{name}.zone` rendered with
/// the server's names, then read as a master file.
fn template_records(panel: &Panel, domain: &DomainName, name: &str) -> Result<Vec<DnsRecord>> {
    check_template_name(name)?;
    let source = hs_config::templates::dns_record_template(&panel.layout.templates(), name)?
        .ok_or_else(|| ModuleError::NotFound(format!("there is no DNS template {name}")))?;
    let ip = panel.config.server_ip;
    let vars = DnsTemplateVars {
        domain: domain.to_string(),
        hostname: panel.config.hostname.to_string(),
        server_ip: ip.to_string(),
        address_type: if ip.is_ipv4() { "A" } else { "AAAA" }.to_string(),
    };
    let text = render::dns_records(name, &source, &vars)?;
    let default_ttl = Ttl::try_from(i64::from(DEFAULT_TTL))?;
    let parsed = zonefile::parse(&text, domain, default_ttl)
        .map_err(|e| ModuleError::Service(format!("DNS template {name} is broken: {e}")))?;
    Ok(parsed.records)
}

/// The nearest of the account's zones strictly above `name`.
fn enclosing_zone(panel: &Panel, user: &Username, name: &DomainName) -> Result<Option<DomainName>> {
    let mut candidate = name.parent();
    while let Some(parent) = candidate {
        if zone::read(&panel.layout, user, &parent)?.is_some() {
            return Ok(Some(parent));
        }
        candidate = parent.parent();
    }
    Ok(None)
}

/// Publishes an address for every subdomain (and its `www`) whose nearest zone is
/// `zone_name`.
fn sync_subdomains(panel: &Panel, user: &Username, zone_name: &DomainName) -> Result<()> {
    let ip = panel.config.server_ip;
    let value = ip.to_string();
    let rtype = if ip.is_ipv4() { RecordType::A } else { RecordType::Aaaa };
    let mut records = Vec::new();
    for d in panel.store.domains(user)? {
        if !matches!(d.kind, DomainKind::Sub { .. }) || !d.domain.is_subdomain_of(zone_name) {
            continue;
        }
        if enclosing_zone(panel, user, &d.domain)?.as_ref() != Some(zone_name) {
            continue;
        }
        let relative = RecordName::in_zone(&format!("{}.", d.domain), zone_name)?;
        let www: RecordName = format!("www.{relative}").parse()?;
        for name in [relative, www] {
            let data = RecordData::parse(rtype, &value)?;
            records.push(DnsRecord::new(name, Ttl::default(), data)?);
        }
    }
    publish(panel, user, zone_name, SUBDOMAINS, records)?;
    Ok(())
}
