//! HS::SSL: a certificate for every hosted name, served by nginx by SNI.
//!
//! Every new domain gets a self-signed certificate in the same nginx change as its
//! site map, so HTTPS answers at once. A user may `install` their own (checked by
//! [`pki::check_install`]), or order one with `autossl` through ACME ([`acme`]):
//! http-01 answered from the panel's challenge folder through nginx, dns-01 (for
//! `*.domain`) through the account's zone in our own BIND. `renew` orders again;
//! `renew_due` renews everything that expires within 30 days. `delete` puts a
//! fresh self-signed certificate back.
//!
//! What nginx serves is one PEM file per certificate (key, leaf, chain), named by
//! a fingerprint, and one map line per host naming it (`hs_config::render::
//! nginx_cert_map`). A change writes a new file and the map through the pipeline
//! (`nginx -t`, reload, rollback), so the old certificate keeps serving until the
//! new one is live, and a failed renewal changes nothing but the recorded error.
//! `userdata/{user}/ssl/{stem}.yaml` records how each certificate came (absent:
//! self-signed) and the last failure, which `list` shows to the user and admin.
//!
//! `autossl`, `renew` and `renew_due` are blocking and report progress through a
//! callback, so a job runner can run them as they are; each is idempotent.

pub mod acme;
pub mod pki;

use std::path::PathBuf;
use std::time::Duration;

use hs_automation::FileChange;
use hs_config::render::{self, CertMap};
use hs_config::{fsutil, locks, yaml};
use hs_types::Username;
use hs_types::{CertName, DnsRecord, DomainName, RecordData, RecordName, RecordType, Ttl};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::account;
use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};

/// Certificates expiring within this many seconds are renewed.
pub const RENEW_WITHIN: i64 = 30 * 86_400;
/// Lifetime of the self-signed certificates a new domain gets.
const SELF_SIGNED_DAYS: i64 = 365;
/// The record source of dns-01 challenge records in a zone.
const DNS_SOURCE: &str = "acme";

/// A progress report: percent done, and what is happening.
pub type Progress<'a> = &'a mut dyn FnMut(u8, &str);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    SelfSigned,
    Installed,
    Acme,
}

/// A renewal or order that failed: kept until the next success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub at: jiff::Timestamp,
    pub message: String,
}

/// `userdata/{user}/ssl/{stem}.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SslState {
    pub version: u32,
    pub name: CertName,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<Failure>,
    pub updated: jiff::Timestamp,
}

/// One certificate as `list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CertView {
    pub domain: String,
    pub source: Source,
    pub names: Vec<String>,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub self_signed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<Failure>,
}

/// The certificate folders, the challenge folder and the fallback certificate
/// (for names nobody hosts). At start-up, before the layout that names them.
pub fn install_layout(panel: &Panel) -> Result<()> {
    let layout = &panel.layout;
    let certs = layout.ssl_certs();
    std::fs::create_dir_all(&certs).map_err(ModuleError::internal)?;
    std::fs::create_dir_all(layout.nginx_cert_maps()).map_err(ModuleError::internal)?;
    std::fs::create_dir_all(layout.acme_webroot().join(".well-known/acme-challenge"))
        .map_err(ModuleError::internal)?;
    // nginx's workers read the keys at each handshake: group www-data, and
    // set-group-id so every file written here (temporary files too) gets it.
    let gid = crate::system::gid_of_group(&panel.config.web.web_user)?;
    nix::unistd::chown(&certs, Some(nix::unistd::Uid::from_raw(0)), Some(gid.into()))
        .map_err(ModuleError::internal)?;
    set_mode(&certs, 0o2750)?;
    set_mode(&layout.acme_webroot(), 0o755)?;

    let fallback = certs.join("default.pem");
    if !fallback.exists() {
        let issued = hs_services::tls::self_signed(&["hspanel.invalid".into()], 3650)
            .map_err(ModuleError::Internal)?;
        let bundle = format!("{}{}", issued.key_pem, issued.cert_pem);
        fsutil::write_atomic(&fallback, bundle.as_bytes(), 0o640).map_err(ModuleError::internal)?;
    }
    Ok(())
}

fn set_mode(path: &std::path::Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(ModuleError::internal)
}

/// The host names a certificate serves.
fn hosts_of(name: &CertName) -> Vec<String> {
    if name.is_wildcard() {
        vec![name.to_string()]
    } else {
        vec![name.to_string(), format!("www.{name}")]
    }
}

/// The PEM file a certificate's map names now (`{stem}_{fp}`), if any.
fn current_file(panel: &Panel, name: &CertName) -> Option<String> {
    let text = std::fs::read_to_string(panel.layout.nginx_cert_map(name)).ok()?;
    let line = text.lines().find(|l| l.contains('"'))?;
    line.split('"').nth(1).map(str::to_string)
}

fn pem_path(panel: &Panel, file: &str) -> PathBuf {
    panel.layout.ssl_certs().join(format!("{file}.pem"))
}

/// The file and map changes that make nginx serve `bundle` for `name`.
fn deploy_changes(panel: &Panel, name: &CertName, bundle: &str) -> Vec<FileChange> {
    let digest = sha2::Sha256::digest(bundle.as_bytes());
    let fp: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let file = format!("{}_{fp}", name.file_stem());
    let map = CertMap { name: name.clone(), hosts: hosts_of(name), file: file.clone() };
    let mut pem = FileChange::write(pem_path(panel, &file), bundle.to_string());
    pem.mode = 0o640;
    let map = FileChange::write(panel.layout.nginx_cert_map(name), render::nginx_cert_map(&map));
    vec![pem, map]
}

/// Serves `bundle` for `name`: new file, map, `nginx -t`, reload. Then removes
/// the files of older generations, keeping the one just replaced for workers
/// that still finish old connections.
fn deploy(panel: &Panel, name: &CertName, bundle: &str) -> Result<()> {
    let previous = current_file(panel, name);
    crate::web::apply_nginx(panel, &deploy_changes(panel, name, bundle))?;
    // The mail services serve the domain's certificate too. Their refusal
    // leaves them as they were and the web's certificate in place.
    if let Err(e) = crate::mail::sync_tls(panel) {
        tracing::warn!(name = %name, "the mail services keep their certificates: {e}");
    }
    let current = current_file(panel, name);
    let prefix = format!("{}_", name.file_stem());
    let entries = std::fs::read_dir(panel.layout.ssl_certs()).map_err(ModuleError::internal)?;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let Some(stem) = file.strip_suffix(".pem") else { continue };
        let keep = Some(stem) == current.as_deref() || Some(stem) == previous.as_deref();
        if stem.starts_with(&prefix) && !keep {
            fsutil::remove_if_exists(&entry.path()).map_err(ModuleError::internal)?;
        }
    }
    Ok(())
}

fn self_signed_bundle(name: &CertName) -> Result<String> {
    let issued = hs_services::tls::self_signed(&hosts_of(name), SELF_SIGNED_DAYS)
        .map_err(ModuleError::Internal)?;
    Ok(format!("{}{}", issued.key_pem, issued.cert_pem))
}

/// For HS::Web: a new site's self-signed certificate, in the same nginx change as
/// its map. Nothing when the name already has a certificate.
pub fn new_site_changes(panel: &Panel, domain: &DomainName) -> Result<Vec<FileChange>> {
    let name = CertName::of(domain);
    if panel.layout.nginx_cert_map(&name).exists() {
        return Ok(Vec::new());
    }
    Ok(deploy_changes(panel, &name, &self_signed_bundle(&name)?))
}

/// For HS::Account and HS::Domain: the nginx changes that stop serving a name's
/// certificates (its own and its wildcard's), to apply with its site map; then
/// [`forget`] drops their files and state. Both are idempotent.
pub fn removal_changes(panel: &Panel, domain: &DomainName) -> Result<Vec<FileChange>> {
    Ok(names_of_domain(domain)?
        .iter()
        .map(|n| panel.layout.nginx_cert_map(n))
        .filter(|p| p.exists())
        .map(FileChange::remove)
        .collect())
}

/// The certificate files and state of a name nginx no longer serves.
pub fn forget(panel: &Panel, user: &Username, domain: &DomainName) -> Result<()> {
    for name in &names_of_domain(domain)? {
        let prefix = format!("{}_", name.file_stem());
        if let Ok(entries) = std::fs::read_dir(panel.layout.ssl_certs()) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    fsutil::remove_if_exists(&entry.path()).map_err(ModuleError::internal)?;
                }
            }
        }
        fsutil::remove_if_exists(&panel.layout.ssl_state(user, name))
            .map_err(ModuleError::internal)?;
    }
    Ok(())
}

/// For HS::Mail: the PEM file nginx serves for `domain` now (key and chain).
pub fn served_file(panel: &Panel, domain: &DomainName) -> Option<PathBuf> {
    current_file(panel, &CertName::of(domain)).map(|file| pem_path(panel, &file))
}

/// For HS::Backup: each certificate name of `domain` (its own and its
/// wildcard's) with the PEM bundle nginx serves for it now.
pub fn served_bundles(panel: &Panel, domain: &DomainName) -> Result<Vec<(CertName, String)>> {
    let mut out = Vec::new();
    for name in names_of_domain(domain)? {
        let Some(file) = current_file(panel, &name) else { continue };
        if let Ok(bundle) = std::fs::read_to_string(pem_path(panel, &file)) {
            out.push((name, bundle));
        }
    }
    Ok(out)
}

/// For HS::Backup: serves a saved bundle for `name` again, with its saved
/// state (`ssl/{stem}.yaml`, parsed again) when there is one. The bundle must
/// hold a certificate that covers the name and the key that matches it.
pub fn restore_served(
    panel: &Panel,
    user: &Username,
    name: &CertName,
    bundle: &str,
    saved_state: Option<&str>,
) -> Result<()> {
    pki::check_bundle(name.as_str(), bundle)
        .map_err(|e| ModuleError::Invalid(format!("the saved certificate of {name}: {e}")))?;
    deploy(panel, name, bundle)?;
    if let Some(text) = saved_state {
        let state: SslState = yaml::from_str(text).map_err(ModuleError::Invalid)?;
        write_state(panel, user, &state)?;
    }
    Ok(())
}

fn names_of_domain(domain: &DomainName) -> Result<[CertName; 2]> {
    Ok([CertName::of(domain), format!("*.{domain}").parse::<CertName>()?])
}

fn read_state(panel: &Panel, user: &Username, name: &CertName) -> Result<Option<SslState>> {
    let state: Option<SslState> = yaml::read(&panel.layout.ssl_state(user, name))?;
    match state {
        Some(s) if &s.name != name => Err(ModuleError::Internal(format!("{name}: state mismatch"))),
        other => Ok(other),
    }
}

fn write_state(panel: &Panel, user: &Username, state: &SslState) -> Result<()> {
    let path = panel.layout.ssl_state(user, &state.name);
    let text = yaml::to_string(state)?;
    fsutil::write_atomic(&path, text.as_bytes(), 0o600).map_err(ModuleError::internal)
}

fn new_state(name: &CertName, source: Source) -> SslState {
    SslState {
        version: 1,
        name: name.clone(),
        source,
        last_error: None,
        updated: jiff::Timestamp::now(),
    }
}

/// Checks the actor may manage `user` and that `name`'s domain is one of theirs.
fn authorize(panel: &Panel, actor: &Actor, user: &Username, name: &CertName) -> Result<()> {
    account::load_managed(panel, actor, user)?;
    let domains = panel.store.domains(user)?;
    if !domains.iter().any(|d| &d.domain == name.domain()) {
        return Err(ModuleError::NotFound(format!(
            "domain {} is not one of {user}'s",
            name.domain()
        )));
    }
    Ok(())
}

/// Installs a certificate the user brings, after every check; a refusal changes
/// no file.
pub fn install(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &CertName,
    cert: &str,
    key: &str,
    chain: Option<&str>,
) -> Result<CertView> {
    authorize(panel, actor, user, name)?;
    let event = serde_json::json!({ "username": user, "domain": name });
    crate::hooks::around(panel, actor, "installssl", event, || {
        install_now(panel, actor, user, name, cert, key, chain)
    })
}

fn install_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &CertName,
    cert: &str,
    key: &str,
    chain: Option<&str>,
) -> Result<CertView> {
    let _lock = locks::account(&panel.layout, user)?;
    authorize(panel, actor, user, name)?;
    let roots = trusted_roots(panel)?;
    let now = jiff::Timestamp::now().as_second();
    let checked = pki::check_install(name.as_str(), cert, key, chain, &roots, now)
        .map_err(ModuleError::Invalid)?;
    deploy(panel, name, &checked.bundle)?;
    write_state(panel, user, &new_state(name, Source::Installed))?;
    view(panel, user, name)?.ok_or_else(|| ModuleError::Internal("installed, then gone".into()))
}

/// The system's roots and the configured extra ones (a sandbox: pebble's).
fn trusted_roots(panel: &Panel) -> Result<Vec<Vec<u8>>> {
    let mut files = vec![std::path::Path::new(hs_services::tls::SYSTEM_ROOTS)];
    if let Some(extra) = &panel.config.ssl.extra_roots {
        files.push(extra.as_path());
    }
    hs_services::tls::read_roots(&files).map_err(ModuleError::Internal)
}

/// Every certificate of the account: each domain's, and wildcards.
pub fn list(panel: &Panel, actor: &Actor, user: &Username) -> Result<Vec<CertView>> {
    account::load_managed(panel, actor, user)?;
    let mut names: Vec<CertName> =
        panel.store.domains(user)?.iter().map(|d| CertName::of(&d.domain)).collect();
    for domain in panel.store.domains(user)? {
        if let Ok(wild) = format!("*.{}", domain.domain).parse::<CertName>()
            && panel.layout.nginx_cert_map(&wild).exists()
        {
            names.push(wild);
        }
    }
    let mut out = Vec::new();
    for name in names {
        if let Some(v) = view(panel, user, &name)? {
            out.push(v);
        }
    }
    Ok(out)
}

fn view(panel: &Panel, user: &Username, name: &CertName) -> Result<Option<CertView>> {
    let Some(file) = current_file(panel, name) else { return Ok(None) };
    let pem = std::fs::read_to_string(pem_path(panel, &file)).map_err(ModuleError::internal)?;
    let ders = pki::certificates(&pem).map_err(ModuleError::Internal)?;
    let leaf = ders.first().ok_or_else(|| ModuleError::Internal(format!("{file}: empty")))?;
    let info = pki::info(leaf).map_err(ModuleError::Internal)?;
    let state = read_state(panel, user, name)?;
    let time = |s: i64| jiff::Timestamp::from_second(s).map(|t| t.to_string()).unwrap_or_default();
    Ok(Some(CertView {
        domain: name.to_string(),
        source: state.as_ref().map(|s| s.source).unwrap_or(Source::SelfSigned),
        names: info.names.clone(),
        issuer: info.issuer.clone(),
        serial: info.serial.clone(),
        not_before: time(info.not_before),
        not_after: time(info.not_after),
        days_left: (info.not_after - jiff::Timestamp::now().as_second()).div_euclid(86_400),
        self_signed: info.self_signed,
        last_error: state.and_then(|s| s.last_error),
    }))
}

/// Puts a fresh self-signed certificate back (a wildcard simply goes).
pub fn delete(panel: &Panel, actor: &Actor, user: &Username, name: &CertName) -> Result<()> {
    authorize(panel, actor, user, name)?;
    let event = serde_json::json!({ "username": user, "domain": name });
    crate::hooks::around(panel, actor, "deletessl", event, || delete_now(panel, actor, user, name))
}

fn delete_now(panel: &Panel, actor: &Actor, user: &Username, name: &CertName) -> Result<()> {
    let _lock = locks::account(&panel.layout, user)?;
    authorize(panel, actor, user, name)?;
    if name.is_wildcard() {
        let map = panel.layout.nginx_cert_map(name);
        if !map.exists() {
            return Err(ModuleError::NotFound(format!("{name} has no certificate")));
        }
        crate::web::apply_nginx(panel, &[FileChange::remove(map)])?;
    } else {
        deploy(panel, name, &self_signed_bundle(name)?)?;
    }
    fsutil::remove_if_exists(&panel.layout.ssl_state(user, name)).map_err(ModuleError::internal)
}

/// Orders a certificate for `name` from the configured ACME CA and serves it.
/// On failure the serving certificate stays and the error is recorded.
pub fn autossl(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &CertName,
    progress: Progress<'_>,
) -> Result<CertView> {
    authorize(panel, actor, user, name)?;
    let event = serde_json::json!({ "username": user, "domain": name });
    crate::hooks::around(panel, actor, "autossl", event, || {
        let _lock = locks::account(&panel.layout, user)?;
        authorize(panel, actor, user, name)?;
        order_and_record(panel, user, name, progress)
    })
}

/// Renews `name` now: orders again if it came from ACME, makes a new self-signed
/// one if it was self-signed. An installed certificate is renewed by installing.
pub fn renew(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    name: &CertName,
    progress: Progress<'_>,
) -> Result<CertView> {
    let _lock = locks::account(&panel.layout, user)?;
    authorize(panel, actor, user, name)?;
    renew_locked(panel, user, name, progress)
}

fn renew_locked(
    panel: &Panel,
    user: &Username,
    name: &CertName,
    progress: Progress<'_>,
) -> Result<CertView> {
    if current_file(panel, name).is_none() {
        return Err(ModuleError::NotFound(format!("{name} has no certificate")));
    }
    let source = read_state(panel, user, name)?.map(|s| s.source).unwrap_or(Source::SelfSigned);
    match source {
        Source::Acme => order_and_record(panel, user, name, progress),
        Source::SelfSigned => {
            progress(50, "making a new self-signed certificate");
            deploy(panel, name, &self_signed_bundle(name)?)?;
            progress(100, "done");
            view(panel, user, name)?.ok_or_else(|| ModuleError::Internal("gone".into()))
        }
        Source::Installed => Err(ModuleError::Conflict(format!(
            "{name} was installed by hand; install its new certificate"
        ))),
    }
}

/// What [`renew_due`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RenewReport {
    pub checked: usize,
    pub renewed: Vec<String>,
    pub failed: Vec<(String, String)>,
}

/// Renews every certificate of every account that expires within `within`
/// seconds ([`RENEW_WITHIN`] for the scheduled run) and did not come from the
/// user. A failure is recorded on its certificate and does not stop the others.
pub fn renew_due(panel: &Panel, within: i64, progress: Progress<'_>) -> Result<RenewReport> {
    let mut report = RenewReport::default();
    let accounts = panel.store.accounts()?;
    let total = accounts.len().max(1);
    for (i, account) in accounts.iter().enumerate() {
        let user = &account.username;
        let percent = u8::try_from(i * 100 / total).unwrap_or(99);
        progress(percent, &format!("checking {user}"));
        let _lock = locks::account(&panel.layout, user)?;
        let mut names: Vec<CertName> =
            panel.store.domains(user)?.iter().map(|d| CertName::of(&d.domain)).collect();
        for d in panel.store.domains(user)? {
            if let Ok(wild) = format!("*.{}", d.domain).parse::<CertName>() {
                names.push(wild);
            }
        }
        for name in names {
            let Some(v) = view(panel, user, &name)? else { continue };
            report.checked += 1;
            let left = days_left_secs(&v);
            if left > within || v.source == Source::Installed {
                continue;
            }
            match renew_locked(panel, user, &name, &mut |_, _| {}) {
                Ok(_) => report.renewed.push(name.to_string()),
                Err(e) => report.failed.push((name.to_string(), e.to_string())),
            }
        }
    }
    progress(100, "done");
    Ok(report)
}

fn days_left_secs(v: &CertView) -> i64 {
    v.not_after
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_second() - jiff::Timestamp::now().as_second())
        .unwrap_or(0)
}

fn order_and_record(
    panel: &Panel,
    user: &Username,
    name: &CertName,
    progress: Progress<'_>,
) -> Result<CertView> {
    let previous = read_state(panel, user, name)?;
    match order(panel, user, name, progress) {
        Ok(bundle) => {
            deploy(panel, name, &bundle)?;
            write_state(panel, user, &new_state(name, Source::Acme))?;
            view(panel, user, name)?.ok_or_else(|| ModuleError::Internal("gone".into()))
        }
        Err(message) => {
            // The serving certificate stays; the failure is kept for `list`.
            let mut state = previous.unwrap_or_else(|| new_state(name, Source::SelfSigned));
            state.last_error =
                Some(Failure { at: jiff::Timestamp::now(), message: message.clone() });
            write_state(panel, user, &state)?;
            tracing::warn!(user = %user, name = %name, "certificate order failed: {message}");
            Err(ModuleError::Service(format!(
                "the certificate for {name} was not issued: {message}"
            )))
        }
    }
}

/// The panel's ACME account key for the configured CA, made on first use.
fn account_key(panel: &Panel) -> std::result::Result<Vec<u8>, String> {
    let directory = &panel.config.ssl.acme_directory;
    let digest = sha2::Sha256::digest(directory.as_bytes());
    let id: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let path = panel.layout.acme_accounts().join(format!("account-{id}.key"));
    if let Ok(bytes) = std::fs::read(&path) {
        return Ok(bytes);
    }
    let key = acme::new_account_key()?;
    fsutil::write_atomic(&path, &key, 0o600).map_err(|e| e.to_string())?;
    Ok(key)
}

/// One ACME order for `name`: the key and the chain, as one PEM bundle.
fn order(
    panel: &Panel,
    user: &Username,
    name: &CertName,
    progress: Progress<'_>,
) -> std::result::Result<String, String> {
    progress(5, "contacting the CA");
    let extra: Vec<&std::path::Path> =
        panel.config.ssl.acme_server_ca.iter().map(|p| p.as_path()).collect();
    let agent = hs_services::tls::agent(&extra, Duration::from_secs(30))?;
    let key = account_key(panel)?;
    let mut client = acme::Client::connect(agent, &panel.config.ssl.acme_directory, &key)?;

    let names = hosts_of(name);
    progress(15, "placing the order");
    let order = client.new_order(&names)?;
    let count = order.authorizations.len().max(1);
    for (i, url) in order.authorizations.iter().enumerate() {
        let authz = client.authorization(url)?;
        if authz.status == "valid" {
            continue;
        }
        let percent = u8::try_from(20 + i * 50 / count).unwrap_or(70);
        progress(percent, &format!("proving control of {}", authz.domain));
        prove(panel, user, name, &mut client, &authz)?;
    }

    progress(80, "finalizing");
    let cert_key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let params = rcgen::CertificateParams::new(names.clone()).map_err(|e| e.to_string())?;
    let csr = params.serialize_request(&cert_key).map_err(|e| e.to_string())?;
    let chain = client.finalize(&order, csr.der())?;
    progress(95, "installing");
    // What the CA sent passes the checks a user's certificate passes: the key
    // matches, the names cover, the dates hold, the chain is whole.
    let roots = trusted_roots(panel).map_err(|e| e.to_string())?;
    let now = jiff::Timestamp::now().as_second();
    let key_pem = cert_key.serialize_pem();
    let checked = pki::check_install(name.as_str(), &chain, &key_pem, None, &roots, now)
        .map_err(|e| format!("the CA's certificate fails a check: {e}"))?;
    Ok(checked.bundle)
}

/// Answers one authorization: dns-01 for a wildcard, http-01 otherwise.
fn prove(
    panel: &Panel,
    user: &Username,
    name: &CertName,
    client: &mut acme::Client,
    authz: &acme::Authorization,
) -> std::result::Result<(), String> {
    let kind = if authz.wildcard { "dns-01" } else { "http-01" };
    let challenge = authz
        .challenges
        .iter()
        .find(|c| c.kind == kind)
        .ok_or_else(|| format!("the CA offers no {kind} challenge for {}", authz.domain))?;
    let safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if challenge.token.is_empty() || !challenge.token.chars().all(safe) {
        return Err("the CA sent a malformed token".into());
    }
    if kind == "http-01" {
        let dir = panel.layout.acme_webroot().join(".well-known/acme-challenge");
        let path = dir.join(&challenge.token);
        let body = client.key_authorization(&challenge.token);
        fsutil::write_atomic(&path, body.as_bytes(), 0o644).map_err(|e| e.to_string())?;
        let result = client.validate(challenge, &authz.url);
        let _ = fsutil::remove_if_exists(&path);
        return result;
    }

    let zone = name.domain();
    let record = |value: String| -> std::result::Result<DnsRecord, String> {
        let owner = RecordName::in_zone("_acme-challenge", zone).map_err(|e| e.to_string())?;
        let data = RecordData::parse(RecordType::Txt, &format!("\"{value}\""))
            .map_err(|e| e.to_string())?;
        DnsRecord::new(owner, Ttl::default(), data).map_err(|e| e.to_string())
    };
    let txt = record(client.dns_value(&challenge.token))?;
    let published =
        crate::dns::publish(panel, user, zone, DNS_SOURCE, vec![txt]).map_err(|e| e.to_string())?;
    if !published {
        return Err(format!("{zone} has no DNS zone here for the dns-01 challenge"));
    }
    let result = client.validate(challenge, &authz.url);
    if let Err(e) = crate::dns::publish(panel, user, zone, DNS_SOURCE, Vec::new()) {
        tracing::warn!(zone = %zone, "cannot remove the challenge record: {e}");
    }
    result
}
