//! HS::Backup: full and incremental backups of one account, restores (whole,
//! one file or folder, one database, one mailbox, one zone), verification,
//! remote destinations and schedules.
//!
//! A **full** backup is one plain `tar` + `zstd` file (`backup/{user}/{id}.tar.zst`)
//! that standard tools unpack: `home/` (owners, modes, times, symlinks and
//! hardlinks kept), `userdata/` (the account's state YAML), `dns/{zone}.db`,
//! `cron/crontab.txt`, `mysql/{db}.sql` (`mariadb-dump --single-transaction`)
//! and `mysql/users.json`, `mail/{domain}/` (the maildirs), `dkim/{domain}.private`,
//! `certs/{stem}.pem` (what nginx serves, key and chain), and `manifest.json`
//! last (with a listing of the home and the dumps' SHA-256). An **incremental**
//! backup is a restic snapshot of the home, the same parts staged in a folder,
//! and the maildirs, in the account's repository (local, SFTP or S3; always
//! encrypted). Every backup has an index file `backup/{user}/{id}.json`.
//!
//! Operations are synchronous and take a progress callback; the API runs them on
//! a blocking thread or queues them for hs-taskd (`Task::Backup`,
//! `Task::BackupScheduled`). They are idempotent where
//! it matters (a whole-account, file, database or mailbox restore refuses to
//! overwrite unless asked, a zone restore replaces the zone's own records;
//! deleting twice is a 404). Backups run at idle I/O priority.

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use hs_config::fsutil;
use hs_config::state::{Account, DomainKind, Owner, Role};
use hs_config::yaml;
use hs_fileop::proto::{self, Request, Response};
use hs_fileop::tree::{self, ListEntry, Owners, Selection};
use hs_services::mariadb::MariaDb;
use hs_services::restic::{self, Repo};
use hs_types::{
    BackupId, CertName, DbName, DestinationName, DomainName, EmailAddress, FilePath, Username,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};
use crate::{account, cron, dns, domain, ftp};

/// Progress: percent done and what is happening.
pub type Progress<'a> = &'a mut dyn FnMut(u8, &str);

/// The index of one backup, `backup/{user}/{id}.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupIndex {
    pub version: u32,
    pub id: BackupId,
    pub user: Username,
    pub owner: Owner,
    pub incremental: bool,
    /// Remote destination of an incremental backup (local repository when absent).
    #[serde(default)]
    pub destination: Option<DestinationName>,
    /// restic's snapshot id (incremental backups).
    #[serde(default)]
    pub snapshot: Option<String>,
    pub created: jiff::Timestamp,
    /// Archive size (full) or data added to the repository (incremental).
    pub size: u64,
    /// Bytes of the home and parts read.
    pub source_bytes: u64,
    pub warnings: Vec<String>,
    pub contents: Contents,
    /// The staging folder restic saw (incremental), to find the parts again.
    #[serde(default)]
    pub staged: Option<PathBuf>,
    #[serde(default)]
    pub home: Option<PathBuf>,
}

/// What a backup holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contents {
    pub domains: Vec<DomainName>,
    pub databases: Vec<DbName>,
    pub zones: Vec<DomainName>,
    pub mail_domains: Vec<DomainName>,
    pub ssl_domains: Vec<DomainName>,
    pub files: u64,
}

/// `manifest.json` inside an archive or snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub id: BackupId,
    pub user: Username,
    pub created: jiff::Timestamp,
    pub contents: Contents,
    /// SHA-256 of each `mysql/{db}.sql`.
    pub dumps: HashMap<String, String>,
    #[serde(default)]
    pub home: Vec<ListEntry>,
    pub warnings: Vec<String>,
}

const FORMAT: &str = "hspanel-backup/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DbUserBackup {
    user: String,
    hosts: Vec<String>,
    hash: Option<String>,
    grants: Vec<(String, Vec<String>)>,
}

// --- paths, ids, authorisation ---------------------------------------------------

fn index_path(panel: &Panel, user: &Username, id: &BackupId) -> PathBuf {
    panel.layout.backup_dir(user).join(format!("{id}.json"))
}

fn archive_path(panel: &Panel, user: &Username, id: &BackupId) -> PathBuf {
    panel.layout.backup_dir(user).join(format!("{id}.tar.zst"))
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(ModuleError::internal)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn new_id(incremental: bool) -> Result<BackupId> {
    let now = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let tag: String = random_hex(3)?;
    Ok(BackupId::new(&now, incremental, &tag)?)
}

fn mkdir_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path).map_err(io_err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(io_err)
}

fn io_err(e: io::Error) -> ModuleError {
    ModuleError::internal(e)
}

/// A root-only scratch folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(panel: &Panel, what: &str) -> Result<Scratch> {
        let dir = panel.layout.backup_scratch().join(format!("{what}-{}", random_hex(6)?));
        mkdir_private(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The index of a backup the actor may see; others' look missing.
fn load_index(panel: &Panel, actor: &Actor, user: &Username, id: &BackupId) -> Result<BackupIndex> {
    let missing = || ModuleError::NotFound(format!("backup {id} of {user} does not exist"));
    let index: BackupIndex = match std::fs::read(index_path(panel, user, id)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(ModuleError::internal)?,
        Err(_) => return Err(missing()),
    };
    if index.user != *user || index.id != *id || !actor.may_manage(user, &index.owner) {
        return Err(missing());
    }
    Ok(index)
}

/// Runs `f` at idle I/O priority.
fn low_io<T>(f: impl FnOnce() -> T) -> T {
    let old = tree::idle_io_priority();
    let out = f();
    tree::restore_io_priority(old);
    out
}

// --- what is backed up ---------------------------------------------------------------

/// The parts other than the home, staged in `stage`: state, zones, crontab,
/// DKIM keys, served certificates, database dumps. Returns the contents and
/// the dumps' digests.
fn stage_parts(
    panel: &Panel,
    account: &Account,
    stage: &Path,
    warnings: &mut Vec<String>,
    progress: Progress<'_>,
) -> Result<(Contents, HashMap<String, String>)> {
    let user = &account.username;
    let mut contents = Contents::default();
    // The account's state, file by file (each parsed again on restore).
    copy_tree(&panel.layout.user_dir(user), &stage.join("userdata"))?;
    for d in panel.store.domains(user)? {
        contents.domains.push(d.domain.clone());
        if panel.layout.mail_domain_dir(&d.domain).is_dir() {
            contents.mail_domains.push(d.domain.clone());
        }
        // The DKIM key, so the restored zone's selector record still signs.
        if let Ok(key) = std::fs::read(panel.layout.dkim_key(&d.domain)) {
            write_file(&stage.join("dkim").join(format!("{}.private", d.domain)), &key)?;
        }
        // The certificates nginx serves (key and chain in one PEM each).
        let served = crate::ssl::served_bundles(panel, &d.domain)?;
        for (name, bundle) in &served {
            let file = stage.join("certs").join(format!("{}.pem", name.file_stem()));
            write_file(&file, bundle.as_bytes())?;
        }
        if !served.is_empty() {
            contents.ssl_domains.push(d.domain.clone());
        }
        if matches!(d.kind, DomainKind::Sub { .. }) {
            continue;
        }
        let zone = panel.layout.zone_file(&d.domain);
        if let Ok(text) = std::fs::read(&zone) {
            write_file(&stage.join("dns").join(format!("{}.db", d.domain)), &text)?;
            contents.zones.push(d.domain.clone());
        }
    }
    progress(3, "cron jobs");
    match hs_services::cron::Cron::new(&panel.layout).installed(user) {
        Ok(Some(text)) => write_file(&stage.join("cron/crontab.txt"), text.as_bytes())?,
        Ok(None) => {}
        Err(e) => warnings.push(format!("crontab: {e}")),
    }
    progress(4, "databases");
    let mut dumps = HashMap::new();
    let mut admin = match MariaDb::new(&panel.layout).connect() {
        Ok(a) => Some(a),
        Err(e) => {
            warnings.push(format!("MariaDB is not reachable, no database was dumped: {e}"));
            None
        }
    };
    if let Some(admin) = admin.as_mut() {
        let dbs = admin.databases_with_prefix(user.as_str()).map_err(ModuleError::internal)?;
        mkdir_private(&stage.join("mysql"))?;
        for (db, _) in dbs {
            let file = stage.join("mysql").join(format!("{db}.sql"));
            dump_database(panel, &db, &file)?;
            dumps.insert(db.to_string(), sha256_file(&file)?);
            contents.databases.push(db);
        }
        let mut users = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (db_user, _) in admin.users_with_prefix(user.as_str()).map_err(ModuleError::internal)? {
            if seen.contains(&db_user.to_string()) {
                continue;
            }
            seen.push(db_user.to_string());
            let hosts = admin.user_hosts(&db_user).map_err(ModuleError::internal)?;
            let Some(first) = hosts.first() else { continue };
            let hash = admin.password_hash(&db_user, first).map_err(ModuleError::internal)?;
            let grants = admin.grants(&db_user, first).map_err(ModuleError::internal)?;
            users.push(DbUserBackup {
                user: db_user.to_string(),
                hosts: hosts.iter().map(|h| h.as_str().to_string()).collect(),
                hash: hash.map(|h| h.as_text().to_string()),
                grants: grants
                    .iter()
                    .map(|(db, p)| (db.to_string(), p.iter().map(|p| p.to_string()).collect()))
                    .collect(),
            });
        }
        let text = serde_json::to_vec_pretty(&users).map_err(ModuleError::internal)?;
        write_file(&stage.join("mysql/users.json"), &text)?;
    }
    Ok((contents, dumps))
}

fn dump_database(panel: &Panel, db: &DbName, file: &Path) -> Result<()> {
    let socket = format!("--socket={}", panel.layout.mysql_socket().display());
    let result = format!("--result-file={}", file.display());
    hs_automation::exec::Cmd::new("ionice")?
        .args(["-c", "3", "mariadb-dump", "--no-defaults"])
        .arg(socket)
        .args(["--user=root", "--single-transaction", "--routines", "--triggers"])
        .args(["--default-character-set=utf8mb4", "--skip-dump-date"])
        .arg(result)
        .arg(db.as_str())
        .timeout(std::time::Duration::from_secs(6 * 3600))
        .run()?;
    Ok(())
}

fn sha256_file(path: &Path) -> Result<String> {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    io::copy(&mut file, &mut hash).map_err(io_err)?;
    Ok(hex::encode(hash.finalize()))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        mkdir_private(parent)?;
    }
    fsutil::write_atomic(path, bytes, 0o600).map_err(io_err)
}

/// Copies the regular files of a small root-owned tree (the account's state).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    mkdir_private(to)?;
    let Ok(entries) = std::fs::read_dir(from) else { return Ok(()) };
    for entry in entries.flatten() {
        let meta = std::fs::symlink_metadata(entry.path()).map_err(io_err)?;
        let target = to.join(entry.file_name());
        if meta.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if meta.is_file() && !entry.file_name().to_string_lossy().ends_with(".lock") {
            let bytes = std::fs::read(entry.path()).map_err(io_err)?;
            write_file(&target, &bytes)?;
        }
    }
    Ok(())
}

// --- create ----------------------------------------------------------------------------

/// What `create` is asked for.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreateRequest {
    #[serde(default)]
    pub incremental: bool,
    #[serde(default)]
    pub destination: Option<DestinationName>,
}

/// Removes the `.part` archives a crash left in an account's backup folder.
/// Called under the account's backup lock, so no backup is being written.
fn remove_unfinished(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().ends_with(".part") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// A backup as the API shows it.
pub fn view(index: &BackupIndex) -> Value {
    json!({
        "id": index.id,
        "user": index.user,
        "kind": if index.incremental { "incremental" } else { "full" },
        "destination": index.destination.as_ref().map_or("local", |d| d.as_str()),
        "created": index.created.to_string(),
        "size": index.size,
        "source_bytes": index.source_bytes,
        "warnings": index.warnings,
        "contents": index.contents,
    })
}

/// Backs up the account, inside the plugin hooks of `backupacct`.
pub fn create(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    req: CreateRequest,
    progress: Progress<'_>,
) -> Result<Value> {
    account::load_managed(panel, actor, user)?;
    let event = json!({ "username": user, "incremental": req.incremental,
                        "destination": req.destination });
    crate::hooks::around(panel, actor, "backupacct", event, || {
        create_now(panel, actor, user, req, progress)
    })
}

fn create_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    req: CreateRequest,
    progress: Progress<'_>,
) -> Result<Value> {
    let account = account::load_managed(panel, actor, user)?;
    if !req.incremental && req.destination.is_some() {
        return Err(ModuleError::Invalid(
            "remote destinations take incremental (encrypted) backups; add \"incremental\": true"
                .into(),
        ));
    }
    let dest = match &req.destination {
        Some(name) => Some(load_destination(panel, name)?),
        None => None,
    };
    let _lock =
        fsutil::FileLock::acquire(&panel.layout.locks().join(format!("backup-{user}.lock")))
            .map_err(io_err)?;
    mkdir_private(&panel.layout.backups())?;
    mkdir_private(&panel.layout.backup_dir(user))?;
    remove_unfinished(&panel.layout.backup_dir(user));
    let id = new_id(req.incremental)?;
    progress(1, "starting");
    let index = low_io(|| {
        if req.incremental {
            create_incremental(panel, &account, &id, dest.as_ref(), progress)
        } else {
            create_full(panel, &account, &id, progress)
        }
    })?;
    let bytes = serde_json::to_vec_pretty(&index).map_err(ModuleError::internal)?;
    fsutil::write_atomic(&index_path(panel, user, &id), &bytes, 0o600).map_err(io_err)?;
    progress(100, "done");
    tracing::info!(user = %user, id = %id, warnings = index.warnings.len(), "backup created");
    Ok(view(&index))
}

fn create_full(
    panel: &Panel,
    account: &Account,
    id: &BackupId,
    progress: Progress<'_>,
) -> Result<BackupIndex> {
    let user = &account.username;
    let scratch = Scratch::new(panel, "create")?;
    let mut warnings = Vec::new();
    let (mut contents, dumps) = stage_parts(panel, account, &scratch.0, &mut warnings, progress)?;

    let final_path = archive_path(panel, user, id);
    let part = final_path.with_extension("zst.part");
    let file = open_private(&part)?;
    let mut encoder = zstd::Encoder::new(file, 3).map_err(io_err)?;
    let _ = encoder.multithread(2);
    let _ = encoder.include_checksum(true);
    let mut tar = tar::Builder::new(encoder);
    tar.mode(tar::HeaderMode::Complete);
    tar.follow_symlinks(false);

    progress(10, "account state, zones, crontab and database dumps");
    let parts = tree::pack(&mut tar, &scratch.0, "", &mut |_| {}).map_err(io_err)?;
    warnings.extend(parts.warnings);

    let home = panel.layout.home(user);
    let total = estimate_bytes(panel, user).max(1);
    progress(15, "home");
    let home_report = {
        let mut tick = |done: u64| {
            let pct = 15 + (done.saturating_mul(70) / total).min(70);
            progress(u8::try_from(pct).unwrap_or(85), "home");
        };
        tree::pack(&mut tar, &home, "home", &mut tick).map_err(io_err)?
    };
    warnings.extend(home_report.warnings.iter().cloned());
    contents.files = home_report.entries;

    progress(86, "mail");
    for d in &contents.mail_domains {
        let r = tree::pack(
            &mut tar,
            &panel.layout.mail_domain_dir(d),
            &format!("mail/{d}"),
            &mut |_| {},
        )
        .map_err(io_err)?;
        warnings.extend(r.warnings);
    }

    let created = jiff::Timestamp::now();
    let manifest = Manifest {
        format: FORMAT.into(),
        id: id.clone(),
        user: user.clone(),
        created,
        contents: contents.clone(),
        dumps,
        home: home_report.listing,
        warnings: warnings.clone(),
    };
    let text = serde_json::to_vec(&manifest).map_err(ModuleError::internal)?;
    let mut h = tar::Header::new_gnu();
    h.set_size(text.len() as u64);
    h.set_mode(0o600);
    h.set_mtime(u64::try_from(created.as_second()).unwrap_or(0));
    tar.append_data(&mut h, "manifest.json", text.as_slice()).map_err(io_err)?;
    let encoder = tar.into_inner().map_err(io_err)?;
    let file = encoder.finish().map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    let size = file.metadata().map_err(io_err)?.len();
    std::fs::rename(&part, &final_path).map_err(io_err)?;
    Ok(BackupIndex {
        version: 1,
        id: id.clone(),
        user: user.clone(),
        owner: account.owner.clone(),
        incremental: false,
        destination: None,
        snapshot: None,
        created,
        size,
        source_bytes: home_report.bytes + parts.bytes,
        warnings,
        contents,
        staged: None,
        home: None,
    })
}

fn open_private(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err)
}

/// For progress: the bytes the last backup read (walking the home first would
/// cost a second pass), else 1 GiB.
fn estimate_bytes(panel: &Panel, user: &Username) -> u64 {
    let admin = Actor::admin("backup-progress");
    list(panel, &admin, Some(user))
        .ok()
        .and_then(|l| l.first().and_then(|b| b["source_bytes"].as_u64()))
        .filter(|b| *b > 0)
        .unwrap_or(1 << 30)
}

fn create_incremental(
    panel: &Panel,
    account: &Account,
    id: &BackupId,
    dest: Option<&Destination>,
    progress: Progress<'_>,
) -> Result<BackupIndex> {
    let user = &account.username;
    // A fixed staging folder per account, so restic compares with the last run.
    let stage = panel.layout.backup_scratch().join(format!("stage-{user}"));
    let _ = std::fs::remove_dir_all(&stage);
    mkdir_private(&stage)?;
    let mut warnings = Vec::new();
    let (contents, dumps) = stage_parts(panel, account, &stage, &mut warnings, progress)?;
    let created = jiff::Timestamp::now();
    let manifest = Manifest {
        format: FORMAT.into(),
        id: id.clone(),
        user: user.clone(),
        created,
        contents: contents.clone(),
        dumps,
        home: Vec::new(),
        warnings: Vec::new(),
    };
    let text = serde_json::to_vec(&manifest).map_err(ModuleError::internal)?;
    write_file(&stage.join("manifest.json"), &text)?;

    progress(15, "preparing the repository");
    let repo = repo_for(panel, user, dest)?;
    repo.ensure_init().map_err(ModuleError::Service)?;
    let home = panel.layout.home(user);
    let mut paths = vec![home.clone(), stage.clone()];
    for d in &contents.mail_domains {
        paths.push(panel.layout.mail_domain_dir(d));
    }
    progress(20, "home (incremental)");
    let outcome = repo.backup(&paths, &[format!("id={id}")]).map_err(ModuleError::Service)?;
    let _ = std::fs::remove_dir_all(&stage);
    warnings.extend(outcome.warnings);
    let s = &outcome.summary;
    Ok(BackupIndex {
        version: 1,
        id: id.clone(),
        user: user.clone(),
        owner: account.owner.clone(),
        incremental: true,
        destination: dest.map(|d| d.name.clone()),
        snapshot: Some(s.snapshot_id.clone()),
        created,
        size: s.data_added,
        source_bytes: s.total_bytes_processed,
        warnings,
        contents: Contents {
            files: s.files_new + s.files_changed + s.files_unmodified,
            ..contents
        },
        staged: Some(stage),
        home: Some(home),
    })
}

// --- list, delete --------------------------------------------------------------------

/// Backups the actor may see: one account's, or every one the actor manages.
pub fn list(panel: &Panel, actor: &Actor, user: Option<&Username>) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let users: Vec<Username> = match user {
        Some(u) => vec![u.clone()],
        None => std::fs::read_dir(panel.layout.backups())
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
                    .collect()
            })
            .unwrap_or_default(),
    };
    for u in users {
        let Ok(rd) = std::fs::read_dir(panel.layout.backup_dir(&u)) else { continue };
        let mut indexes: Vec<BackupIndex> = rd
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let id: BackupId = name.strip_suffix(".json")?.parse().ok()?;
                load_index(panel, actor, &u, &id).ok()
            })
            .collect();
        indexes.sort_by(|a, b| b.id.cmp(&a.id));
        out.extend(indexes.iter().map(view));
    }
    if out.is_empty()
        && let Some(u) = user
    {
        // A user who may not see the account gets the same answer as for a missing one.
        if actor.role == Role::User && actor.name != u.as_str() {
            return Err(ModuleError::NotFound(format!("account {u} does not exist")));
        }
    }
    Ok(out)
}

pub fn delete(panel: &Panel, actor: &Actor, user: &Username, id: &BackupId) -> Result<()> {
    let index = load_index(panel, actor, user, id)?;
    if let Some(snapshot) = &index.snapshot {
        let dest = match &index.destination {
            Some(name) => Some(load_destination(panel, name)?),
            None => None,
        };
        repo_for(panel, user, dest.as_ref())?.forget(snapshot).map_err(ModuleError::Service)?;
    }
    fsutil::remove_if_exists(&archive_path(panel, user, id)).map_err(io_err)?;
    fsutil::remove_if_exists(&index_path(panel, user, id)).map_err(io_err)?;
    Ok(())
}

// --- reading a backup back ------------------------------------------------------------

/// A backup's content as one tar stream: the archive itself, or (incremental)
/// a tar built from the snapshot restored into a scratch folder.
struct Source {
    path: PathBuf,
    compressed: bool,
    _scratch: Option<Scratch>,
}

impl Source {
    fn open(&self) -> Result<Box<dyn Read>> {
        let file = BufReader::new(std::fs::File::open(&self.path).map_err(io_err)?);
        if self.compressed {
            Ok(Box::new(zstd::Decoder::with_buffer(file).map_err(io_err)?))
        } else {
            Ok(Box::new(file))
        }
    }
}

fn source(panel: &Panel, index: &BackupIndex, progress: Progress<'_>) -> Result<Source> {
    if !index.incremental {
        let path = archive_path(panel, &index.user, &index.id);
        if !path.is_file() {
            return Err(ModuleError::NotFound(format!("the archive of {} is missing", index.id)));
        }
        return Ok(Source { path, compressed: true, _scratch: None });
    }
    let (Some(snapshot), Some(staged), Some(home)) = (&index.snapshot, &index.staged, &index.home)
    else {
        return Err(ModuleError::internal("the backup's index is incomplete"));
    };
    let dest = match &index.destination {
        Some(name) => Some(load_destination(panel, name)?),
        None => None,
    };
    progress(5, "restoring the snapshot into a scratch folder");
    let scratch = Scratch::new(panel, "snapshot")?;
    let target = scratch.0.join("root");
    mkdir_private(&target)?;
    let repo = repo_for(panel, &index.user, dest.as_ref())?;
    repo.restore(snapshot, &target).map_err(ModuleError::Service)?;
    let inside = |p: &Path| target.join(p.strip_prefix("/").unwrap_or(p));
    let tar_path = scratch.0.join("snapshot.tar");
    let mut tar = tar::Builder::new(io::BufWriter::new(open_private(&tar_path)?));
    progress(15, "reading the snapshot");
    tree::pack(&mut tar, &inside(staged), "", &mut |_| {}).map_err(io_err)?;
    if inside(home).is_dir() {
        tree::pack(&mut tar, &inside(home), "home", &mut |_| {}).map_err(io_err)?;
    }
    for d in &index.contents.mail_domains {
        let dir = inside(&panel.layout.mail_domain_dir(d));
        tree::pack(&mut tar, &dir, &format!("mail/{d}"), &mut |_| {}).map_err(io_err)?;
    }
    let mut w = tar.into_inner().map_err(io_err)?;
    w.flush().map_err(io_err)?;
    let _ = std::fs::remove_dir_all(&target);
    Ok(Source { path: tar_path, compressed: false, _scratch: Some(scratch) })
}

/// Unpacks the selection into `dest` as root (state, dumps, mail, certificates).
fn unpack_root(
    src: &Source,
    dest: &Path,
    sel: Selection,
    owners: &Owners,
) -> Result<tree::UnpackReport> {
    let fd = tree::open_dest(dest).map_err(io_err)?;
    tree::unpack(&fd, src.open()?, sel, owners).map_err(io_err)
}

fn sel(from: &str, to: &str, overwrite: bool) -> Selection {
    Selection { from: from.into(), to: to.into(), overwrite, skip: Vec::new() }
}

/// The parts other than home and mail (state, dumps, keys, certificates), into
/// a scratch folder.
fn meta(panel: &Panel, src: &Source) -> Result<(Scratch, Manifest)> {
    let scratch = Scratch::new(panel, "meta")?;
    let mut s = sel("", "", false);
    s.skip = vec!["home".into(), "mail".into()];
    unpack_root(src, &scratch.0, s, &Owners::Own)?;
    let bytes = std::fs::read(scratch.0.join("manifest.json"))
        .map_err(|_| ModuleError::Invalid("the backup has no manifest".into()))?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| ModuleError::Invalid(format!("the backup's manifest is damaged: {e}")))?;
    if manifest.format != FORMAT {
        return Err(ModuleError::Invalid(format!("unknown backup format {}", manifest.format)));
    }
    Ok((scratch, manifest))
}

// --- restore: whole account ----------------------------------------------------------

/// Options of a whole-account restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Terminate an existing account first (else an existing account is a 409).
    pub replace: bool,
    /// Restore only this zone into the existing account.
    pub zone: Option<DomainName>,
}

/// Restores a whole account (inside the plugin hooks of `restoreacct`), or
/// with `opts.zone` one zone.
pub fn restore(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    id: &BackupId,
    opts: RestoreOptions,
    op_id: &str,
    progress: Progress<'_>,
) -> Result<Value> {
    load_index(panel, actor, user, id)?;
    if opts.zone.is_some() {
        return restore_now(panel, actor, user, id, opts, op_id, progress);
    }
    let event = json!({ "username": user, "backup": id, "replace": opts.replace });
    crate::hooks::around(panel, actor, "restoreacct", event, || {
        restore_now(panel, actor, user, id, opts, op_id, progress)
    })
}

fn restore_now(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    id: &BackupId,
    opts: RestoreOptions,
    op_id: &str,
    progress: Progress<'_>,
) -> Result<Value> {
    let index = load_index(panel, actor, user, id)?;
    if let Some(zone) = &opts.zone {
        return restore_zone(panel, actor, &index, zone, progress);
    }
    if actor.role == Role::User {
        return Err(ModuleError::Forbidden(
            "account holders restore files, databases, mailboxes and zones; \
             a whole account is restored by its administrator or reseller"
                .into(),
        ));
    }
    let exists = panel.store.account(user)?.is_some();
    if exists && !opts.replace {
        return Err(ModuleError::Conflict(format!(
            "account {user} exists; restore single parts, or set \"replace\": true to \
             terminate it and restore the backup in its place"
        )));
    }
    let src = source(panel, &index, progress)?;
    progress(20, "reading the backup");
    let (meta_dir, manifest) = meta(panel, &src)?;
    let m = &meta_dir.0;
    let saved: Account = read_yaml(&m.join("userdata/account.yaml"))?;
    if saved.username != *user || manifest.user != *user {
        return Err(ModuleError::Invalid("the backup belongs to another account".into()));
    }
    if exists {
        progress(22, "terminating the existing account");
        account::terminate(panel, actor, user, &format!("{op_id}-terminate"))?;
    }

    progress(25, "account");
    let password: hs_types::Password =
        format!("Rb9!{}", random_hex(12)?).parse().map_err(ModuleError::internal)?;
    let request = account::CreateAccount {
        username: user.clone(),
        domain: saved.primary_domain.clone(),
        password,
        plan: Some(saved.plan.clone()),
        reseller: saved.role == Role::Reseller,
        max_accounts: saved.reseller.as_ref().and_then(|r| r.max_accounts),
    };
    account::create(panel, actor, request, op_id)?;
    let mut acct = panel
        .store
        .account(user)?
        .ok_or_else(|| ModuleError::internal("the account vanished while it was restored"))?;
    acct.password_hash = saved.password_hash.clone();
    acct.created = saved.created;
    if actor.role == Role::Admin {
        let owner_ok = match &saved.owner {
            Owner::Admin => true,
            Owner::Reseller(r) => panel.store.account(r)?.is_some(),
        };
        if owner_ok {
            acct.owner = saved.owner.clone();
        }
    }
    panel.store.write_account(&acct)?;

    progress(30, "domains");
    let admin = Actor::admin("backup-restore");
    let mut saved_domains = Vec::new();
    if let Ok(rd) = std::fs::read_dir(m.join("userdata")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "account.yaml" || !name.ends_with(".yaml") {
                continue;
            }
            if let Ok(d) = read_yaml::<hs_config::state::Domain>(&e.path()) {
                saved_domains.push(d);
            }
        }
    }
    let rank = |k: &DomainKind| match k {
        DomainKind::Main => 0,
        DomainKind::Addon => 1,
        DomainKind::Sub { .. } => 2,
        DomainKind::Parked { .. } => 3,
    };
    saved_domains.sort_by_key(|d| rank(&d.kind));
    let mut warnings = Vec::new();
    for d in saved_domains {
        let step = format!("{op_id}-{}", d.domain);
        let added = match &d.kind {
            DomainKind::Main => Ok(()),
            DomainKind::Addon => {
                domain::add_addon(panel, &admin, user, d.domain.clone(), &step).map(|_| ())
            }
            DomainKind::Sub { parent, label } => {
                domain::add_subdomain(panel, &admin, user, parent.clone(), label.clone(), &step)
                    .map(|_| ())
            }
            DomainKind::Parked { target } => {
                domain::park(panel, &admin, user, d.domain.clone(), target.clone(), &step)
                    .map(|_| ())
            }
        };
        if let Err(e) = added {
            warnings.push(format!("domain {}: {e}", d.domain));
        }
    }

    progress(35, "zones");
    for zone in &manifest.contents.zones {
        if let Ok(text) = std::fs::read_to_string(m.join("dns").join(format!("{zone}.db")))
            && let Err(e) = dns::import_zone(panel, &admin, user, zone, &text)
        {
            warnings.push(format!("zone {zone}: {e}"));
        }
    }

    progress(40, "home");
    restore_home(panel, &acct, &src, &manifest)?;

    progress(75, "databases");
    restore_databases(panel, user, m, &manifest.contents.databases, None, &mut warnings)?;
    if let Ok(text) = std::fs::read_to_string(m.join("userdata/databases.yaml")) {
        let parsed: hs_config::databases::Databases =
            yaml::from_str(&text).map_err(ModuleError::Invalid)?;
        yaml::write(&panel.layout.databases_file(user), &parsed)?;
    }

    progress(85, "cron jobs and FTP accounts");
    if let Ok(text) = std::fs::read_to_string(m.join("userdata/cron.yaml")) {
        let table: hs_config::cron::CronTable =
            yaml::from_str(&text).map_err(ModuleError::Invalid)?;
        panel.store.write_cron_table(&table)?;
        cron::sync(panel, &acct)?;
    }
    if let Ok(text) = std::fs::read_to_string(m.join("userdata/ftp.yaml")) {
        let table: hs_config::ftp::FtpTable =
            yaml::from_str(&text).map_err(ModuleError::Invalid)?;
        yaml::write(&panel.layout.ftp_file(user), &table)?;
        ftp::rebuild(panel)?;
    }
    if let Ok(text) = std::fs::read_to_string(m.join("userdata/backup-schedule.yaml")) {
        let schedule: Schedule = yaml::from_str(&text).map_err(ModuleError::Invalid)?;
        yaml::write(&schedule_path(panel, Some(user)), &schedule)?;
    }

    progress(90, "mail and certificates");
    for d in &manifest.contents.mail_domains {
        let dir = panel.layout.mail_domain_dir(d);
        mkdir_private(&dir)?;
        let r = unpack_root(&src, &dir, sel(&format!("mail/{d}"), "", true), &Owners::System)?;
        warnings.extend(r.skipped);
    }
    if let Ok(saved) = std::fs::read_to_string(m.join("userdata/mail.yaml")) {
        let _lock = hs_config::locks::account(&panel.layout, user)?;
        if let Err(e) = crate::mail::restore_state(panel, user, &saved, &m.join("dkim")) {
            warnings.push(format!("mail: {e}"));
        }
    }
    for d in &manifest.contents.ssl_domains {
        for name in [CertName::of(d), format!("*.{d}").parse::<CertName>()?] {
            let stem = name.file_stem();
            let Ok(bundle) = std::fs::read_to_string(m.join(format!("certs/{stem}.pem"))) else {
                continue;
            };
            let state = std::fs::read_to_string(m.join(format!("userdata/ssl/{stem}.yaml"))).ok();
            if let Err(e) =
                crate::ssl::restore_served(panel, user, &name, &bundle, state.as_deref())
            {
                warnings.push(format!("certificate {name}: {e}"));
            }
        }
    }
    progress(100, "done");
    tracing::info!(user = %user, id = %id, "account restored");
    Ok(json!({ "restored": user, "id": id, "warnings": warnings }))
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|_| ModuleError::Invalid(format!("the backup lacks {}", path.display())))?;
    yaml::from_str(&text).map_err(|e| ModuleError::Invalid(format!("in the backup: {e}")))
}

/// Empties the new account's home through the helper (as the user), then
/// unpacks the archive's home as root, beneath the home's descriptor, with
/// only the account's and the web server's ids.
fn restore_home(panel: &Panel, acct: &Account, src: &Source, manifest: &Manifest) -> Result<()> {
    let user = &acct.username;
    let home = panel.layout.home(user);
    if let Ok(rd) = std::fs::read_dir(&home) {
        for e in rd.flatten() {
            let path = format!("/{}", e.file_name().to_string_lossy());
            helper(panel, user, &Request::Delete { path }, None)?;
        }
    }
    let web_group = &panel.config.web.web_user;
    let web_gid = crate::system::gid_of_group(web_group)?;
    let owners = Owners::Map {
        users: HashMap::from([(user.to_string(), acct.uid)]),
        groups: HashMap::from([(user.to_string(), acct.gid), (web_group.clone(), web_gid)]),
        fallback: (acct.uid, acct.gid),
    };
    let report = unpack_root(src, &home, sel("home", "", true), &owners)?;
    if !report.skipped.is_empty() {
        tracing::warn!(user = %user, skipped = ?report.skipped, "restore skipped entries");
    }
    let _ = manifest;
    Ok(())
}

fn restore_databases(
    panel: &Panel,
    user: &Username,
    meta_dir: &Path,
    dbs: &[DbName],
    rename: Option<(&DbName, &DbName, bool)>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut admin = MariaDb::new(&panel.layout).connect().map_err(ModuleError::internal)?;
    for db in dbs {
        let (target, replace) = match rename {
            Some((from, to, replace)) if from == db => (to.clone(), replace),
            Some(_) => continue,
            None => (db.clone(), false),
        };
        let dump = meta_dir.join("mysql").join(format!("{db}.sql"));
        if !dump.is_file() {
            warnings.push(format!("database {db}: no dump in the backup"));
            continue;
        }
        if admin.database_exists(&target).map_err(ModuleError::internal)? {
            if !replace {
                return Err(ModuleError::Conflict(format!(
                    "database {target} exists; set \"replace\": true to replace it"
                )));
            }
            admin.drop_database(&target).map_err(ModuleError::internal)?;
        }
        admin.create_database(&target).map_err(ModuleError::internal)?;
        // FIXME: the dump is loaded as root; a crafted dump could reach other
        // databases. Load it as a user granted this database only.
        let socket = format!("--socket={}", panel.layout.mysql_socket().display());
        hs_automation::exec::Cmd::new("mariadb")?
            .args(["--no-defaults", "--user=root", "--default-character-set=utf8mb4"])
            .arg(socket)
            .arg(format!("--execute=source {}", dump.display()))
            .arg(target.as_str())
            .timeout(std::time::Duration::from_secs(6 * 3600))
            .run()?;
    }
    if rename.is_some() {
        return Ok(());
    }
    let Ok(bytes) = std::fs::read(meta_dir.join("mysql/users.json")) else { return Ok(()) };
    let users: Vec<DbUserBackup> = serde_json::from_slice(&bytes)
        .map_err(|e| ModuleError::Invalid(format!("mysql/users.json: {e}")))?;
    for u in users {
        let Ok(name) = u.user.parse::<hs_types::DbUser>() else { continue };
        if !name.as_str().starts_with(&format!("{user}_")) {
            warnings.push(format!("database user {}: not the account's; skipped", u.user));
            continue;
        }
        let hosts: Vec<hs_services::sql::Host> =
            u.hosts.iter().filter_map(|h| hs_services::sql::Host::from_reported(h)).collect();
        let Some(hash) = u.hash.as_deref().and_then(hs_services::sql::NativeHash::parse) else {
            warnings.push(format!("database user {}: no usable password hash", u.user));
            continue;
        };
        let existing = admin.user_hosts(&name).map_err(ModuleError::internal)?;
        admin.drop_user(&name, &existing).map_err(ModuleError::internal)?;
        admin.create_user(&name, &hosts, &hash, false).map_err(ModuleError::internal)?;
        for (db, privileges) in u.grants {
            let Ok(db) = db.parse::<DbName>() else { continue };
            if !db.is_owned_by(user) {
                continue;
            }
            let privs: Vec<hs_types::DbPrivilege> =
                privileges.iter().filter_map(|p| p.parse().ok()).collect();
            admin.grant(&name, &hosts, &db, &privs).map_err(ModuleError::internal)?;
        }
    }
    Ok(())
}

// --- restore: granular ----------------------------------------------------------------

/// Runs one helper operation as the account's user; `stream` follows the request.
fn helper(
    panel: &Panel,
    user: &Username,
    request: &Request,
    stream: Option<Box<dyn Read>>,
) -> Result<Value> {
    let program = crate::fileman::helper_path()?;
    let cmd = hs_automation::exec::Cmd::new(&program.to_string_lossy())?
        .arg(user.as_str())
        .arg(panel.layout.home(user).as_os_str());
    let mut child = cmd.spawn_piped()?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(ModuleError::internal("the file helper has no pipes"));
    };
    let _ = proto::write_line(&mut stdin, request);
    if let Some(mut stream) = stream {
        // A helper that stops reading (done, or refused) closes the pipe: not an error here.
        let _ = io::copy(&mut stream, &mut stdin);
    }
    drop(stdin);
    let mut out = BufReader::new(stdout);
    let answer: io::Result<Response> = proto::read_line(&mut out);
    let _ = child.wait();
    match answer
        .map_err(|e| ModuleError::internal(format!("the file helper did not answer: {e}")))?
    {
        Response::Ok { result } => Ok(result),
        Response::Error { message, .. } => Err(ModuleError::Invalid(message)),
    }
}

/// One file or folder of the home, restored as the account's user beside the
/// original (`NAME.restored-ID`) or, with `replace`, over it.
pub fn restore_file(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    id: &BackupId,
    path: &FilePath,
    replace: bool,
    progress: Progress<'_>,
) -> Result<Value> {
    account::load_managed(panel, actor, user)?;
    let index = load_index(panel, actor, user, id)?;
    let rel = path.as_str().trim_start_matches('/').to_string();
    let src = source(panel, &index, progress)?;
    let from = if rel.is_empty() { "home".to_string() } else { format!("home/{rel}") };
    let to = if replace || rel.is_empty() { rel.clone() } else { format!("{rel}.restored-{id}") };
    progress(50, "restoring as the account's user");
    let request = Request::RestoreTree { from, to: to.clone(), overwrite: replace };
    let result = helper(panel, user, &request, Some(src.open()?))?;
    if result["entries"].as_u64() == Some(0) {
        return Err(ModuleError::NotFound(format!("{} is not in backup {id}", path.as_str())));
    }
    progress(100, "done");
    Ok(json!({ "restored": format!("/{to}"), "entries": result["entries"],
               "skipped": result["skipped"] }))
}

/// One database, beside (`{name}_restored`) or, with `replace`, in its place.
pub fn restore_db(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    id: &BackupId,
    db: &DbName,
    replace: bool,
    progress: Progress<'_>,
) -> Result<Value> {
    account::load_managed(panel, actor, user)?;
    let index = load_index(panel, actor, user, id)?;
    if !index.contents.databases.contains(db) {
        return Err(ModuleError::NotFound(format!("database {db} is not in backup {id}")));
    }
    let target: DbName = if replace {
        db.clone()
    } else {
        format!("{db}_restored").parse().map_err(|_| {
            ModuleError::Invalid(format!("{db}_restored is too long; restore with replace"))
        })?
    };
    let src = source(panel, &index, progress)?;
    progress(40, "reading the dump");
    let scratch = Scratch::new(panel, "db")?;
    let dump = format!("mysql/{db}.sql");
    unpack_root(&src, &scratch.0, sel(&dump, &dump, true), &Owners::Own)?;
    progress(60, "loading the dump");
    let _lock = hs_config::locks::account(&panel.layout, user)?;
    let mut warnings = Vec::new();
    restore_databases(
        panel,
        user,
        &scratch.0,
        std::slice::from_ref(db),
        Some((db, &target, replace)),
        &mut warnings,
    )?;
    progress(100, "done");
    Ok(json!({ "restored": target, "warnings": warnings }))
}

/// One mailbox's maildir, beside (`{local}.restored-ID`) or over it.
pub fn restore_mailbox(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    id: &BackupId,
    mailbox: &EmailAddress,
    replace: bool,
    progress: Progress<'_>,
) -> Result<Value> {
    account::load_managed(panel, actor, user)?;
    let index = load_index(panel, actor, user, id)?;
    let d = mailbox.domain();
    if !index.contents.mail_domains.contains(d) || panel.store.domain(user, d)?.is_none() {
        return Err(ModuleError::NotFound(format!("no mail of {d} in backup {id}")));
    }
    let src = source(panel, &index, progress)?;
    let local = mailbox.local();
    let to = if replace { local.to_string() } else { format!("{local}.restored-{id}") };
    let dir = panel.layout.mail_domain_dir(d);
    mkdir_private(&dir)?;
    progress(50, "restoring the maildir");
    let r =
        unpack_root(&src, &dir, sel(&format!("mail/{d}/{local}"), &to, replace), &Owners::System)?;
    if r.entries == 0 {
        return Err(ModuleError::NotFound(format!("mailbox {mailbox} is not in backup {id}")));
    }
    progress(100, "done");
    Ok(json!({ "restored": mailbox, "into": to, "entries": r.entries, "skipped": r.skipped }))
}

fn restore_zone(
    panel: &Panel,
    actor: &Actor,
    index: &BackupIndex,
    zone: &DomainName,
    progress: Progress<'_>,
) -> Result<Value> {
    if !index.contents.zones.contains(zone) {
        return Err(ModuleError::NotFound(format!("zone {zone} is not in backup {}", index.id)));
    }
    let src = source(panel, index, progress)?;
    let scratch = Scratch::new(panel, "zone")?;
    let file = format!("dns/{zone}.db");
    unpack_root(&src, &scratch.0, sel(&file, &file, true), &Owners::Own)?;
    let text = std::fs::read_to_string(scratch.0.join(&file))
        .map_err(|_| ModuleError::Invalid(format!("the backup lacks {file}")))?;
    let view = dns::import_zone(panel, actor, &index.user, zone, &text)?;
    progress(100, "done");
    Ok(json!({ "restored_zone": zone, "zone": view }))
}

// --- verify ----------------------------------------------------------------------------

/// Restores the backup into a scratch folder and compares it with its manifest:
/// the home's listing (modes, times, sizes, checksums, links) and the dumps'
/// checksums. Incremental backups also get `restic check`.
pub fn verify(
    panel: &Panel,
    actor: &Actor,
    user: &Username,
    id: &BackupId,
    progress: Progress<'_>,
) -> Result<Value> {
    let index = load_index(panel, actor, user, id)?;
    let src = low_io(|| source(panel, &index, progress))?;
    progress(30, "reading the backup");
    let (meta_dir, manifest) = meta(panel, &src)?;
    let mut problems = Vec::new();
    for (db, want) in &manifest.dumps {
        match sha256_file(&meta_dir.0.join("mysql").join(format!("{db}.sql"))) {
            Ok(got) if &got == want => {}
            _ => problems.push(format!("mysql/{db}.sql: differs from the manifest")),
        }
    }
    if !index.incremental {
        progress(50, "restoring the home into a scratch folder");
        let scratch = Scratch::new(panel, "verify")?;
        let home = scratch.0.join("home");
        mkdir_private(&home)?;
        unpack_root(&src, &home, sel("home", "", true), &Owners::Numeric)?;
        let blank = |mut l: Vec<ListEntry>| {
            for e in &mut l {
                e.owner.clear();
                e.group.clear();
            }
            l
        };
        let got = tree::listing(&home).map_err(io_err)?;
        problems.extend(tree::compare(&blank(manifest.home.clone()), &blank(got)));
    } else {
        let dest = match &index.destination {
            Some(name) => Some(load_destination(panel, name)?),
            None => None,
        };
        progress(80, "checking the repository");
        if let Err(e) = repo_for(panel, user, dest.as_ref())?.check() {
            problems.push(format!("restic check: {e}"));
        }
    }
    progress(100, "done");
    Ok(json!({ "id": id, "ok": problems.is_empty(), "problems": problems,
               "files": manifest.home.len(), "databases": manifest.dumps.len() }))
}

// --- destinations -----------------------------------------------------------------------

/// A remote target (no secrets here: they are 0600 files beside it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    pub version: u32,
    pub name: DestinationName,
    pub target: Target,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    Sftp { host: String, port: u16, login: String, path: String },
    S3 { endpoint: String, bucket: String, prefix: String },
}

/// What `add_destination` takes.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewDestination {
    Sftp {
        name: DestinationName,
        host: String,
        #[serde(default = "ssh_port")]
        port: u16,
        login: String,
        path: String,
        /// OpenSSH private key (PEM); stored 0600, never shown again.
        private_key: hs_types::SecretText,
    },
    S3 {
        name: DestinationName,
        endpoint: String,
        bucket: String,
        #[serde(default)]
        prefix: String,
        access_key: hs_types::SecretText,
        secret_key: hs_types::SecretText,
    },
}

fn ssh_port() -> u16 {
    22
}

fn dest_file(panel: &Panel, name: &DestinationName, ext: &str) -> PathBuf {
    panel.layout.backup_state().join("destinations").join(format!("{name}.{ext}"))
}

fn check_host(host: &str) -> Result<()> {
    if host.parse::<std::net::IpAddr>().is_ok() || host.parse::<DomainName>().is_ok() {
        Ok(())
    } else {
        Err(ModuleError::Invalid("host: an IP address or a domain name".into()))
    }
}

fn check_word(what: &str, value: &str, extra: &str, max: usize) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
        && !value.split('/').any(|p| p == "..")
        && !value.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(ModuleError::Invalid(format!(
            "{what}: 1 to {max} characters of a-z, A-Z, 0-9 and {extra:?}, no `..`"
        )))
    }
}

pub fn add_destination(panel: &Panel, actor: &Actor, new: NewDestination) -> Result<Value> {
    if actor.role != Role::Admin {
        return Err(ModuleError::Forbidden("destinations are set by administrators".into()));
    }
    let dir = panel.layout.backup_state().join("destinations");
    mkdir_private(&dir)?;
    let (name, target, secrets): (DestinationName, Target, Vec<(&str, String)>) = match new {
        NewDestination::Sftp { name, host, port, login, path, private_key } => {
            check_host(&host)?;
            check_word("login", &login, "._-", 32)?;
            check_word("path", &path, "/._-", 200)?;
            let key = private_key.expose().trim().to_string();
            if !key.starts_with("-----BEGIN") || key.contains('\0') {
                return Err(ModuleError::Invalid("private_key: an OpenSSH private key".into()));
            }
            (name, Target::Sftp { host, port, login, path }, vec![("key", format!("{key}\n"))])
        }
        NewDestination::S3 { name, endpoint, bucket, prefix, access_key, secret_key } => {
            let rest = endpoint
                .strip_prefix("https://")
                .or_else(|| endpoint.strip_prefix("http://"))
                .ok_or_else(|| ModuleError::Invalid("endpoint: http:// or https:// URL".into()))?;
            let (host, port) = rest.rsplit_once(':').unwrap_or((rest, "443"));
            check_host(host)?;
            port.parse::<u16>().map_err(|_| ModuleError::Invalid("endpoint: bad port".into()))?;
            check_word("bucket", &bucket, ".-", 63)?;
            if !prefix.is_empty() {
                check_word("prefix", &prefix, "/._-", 200)?;
            }
            for k in [&access_key, &secret_key] {
                check_word("access_key/secret_key", k.expose(), "/+=._-", 128)?;
            }
            let creds = format!(
                "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                access_key.expose(),
                secret_key.expose()
            );
            (name, Target::S3 { endpoint, bucket, prefix }, vec![("credentials", creds)])
        }
    };
    let _lock = fsutil::FileLock::acquire(&dir.join(".lock")).map_err(io_err)?;
    if dest_file(panel, &name, "yaml").exists() {
        return Err(ModuleError::Conflict(format!("destination {name} exists")));
    }
    for (ext, text) in secrets {
        fsutil::write_atomic(&dest_file(panel, &name, ext), text.as_bytes(), 0o600)
            .map_err(io_err)?;
    }
    let password = random_hex(32)?;
    fsutil::write_atomic(&dest_file(panel, &name, "password"), password.as_bytes(), 0o600)
        .map_err(io_err)?;
    let dest = Destination { version: 1, name: name.clone(), target };
    let text = yaml::to_string(&dest)?;
    fsutil::write_atomic(&dest_file(panel, &name, "yaml"), text.as_bytes(), 0o600)
        .map_err(io_err)?;
    Ok(destination_view(&dest))
}

fn destination_view(d: &Destination) -> Value {
    json!({ "name": d.name, "target": d.target })
}

fn load_destination(panel: &Panel, name: &DestinationName) -> Result<Destination> {
    let text = std::fs::read_to_string(dest_file(panel, name, "yaml"))
        .map_err(|_| ModuleError::NotFound(format!("destination {name} does not exist")))?;
    let d: Destination = yaml::from_str(&text).map_err(ModuleError::internal)?;
    if d.name != *name {
        return Err(ModuleError::internal("destination file does not match its name"));
    }
    Ok(d)
}

pub fn list_destinations(panel: &Panel, actor: &Actor) -> Result<Vec<Value>> {
    let _ = actor;
    let dir = panel.layout.backup_state().join("destinations");
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        let mut names: Vec<DestinationName> = rd
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_suffix(".yaml")?.parse().ok()
            })
            .collect();
        names.sort();
        for n in names {
            out.push(destination_view(&load_destination(panel, &n)?));
        }
    }
    Ok(out)
}

pub fn delete_destination(panel: &Panel, actor: &Actor, name: &DestinationName) -> Result<()> {
    if actor.role != Role::Admin {
        return Err(ModuleError::Forbidden("destinations are set by administrators".into()));
    }
    load_destination(panel, name)?;
    // Its password is the only key to the backups kept there: while any is
    // listed, the destination stays (delete those backups first).
    let kept =
        list(panel, actor, None)?.iter().filter(|b| b["destination"] == name.as_str()).count();
    if kept > 0 {
        return Err(ModuleError::Conflict(format!(
            "{kept} backups are kept at {name}; delete them first, or its key is lost with it"
        )));
    }
    for ext in ["yaml", "key", "credentials", "password", "known_hosts"] {
        fsutil::remove_if_exists(&dest_file(panel, name, ext)).map_err(io_err)?;
    }
    Ok(())
}

/// The restic repository of `user` at `dest` (the local one when `None`).
fn repo_for(panel: &Panel, user: &Username, dest: Option<&Destination>) -> Result<Repo> {
    let state = panel.layout.backup_state();
    mkdir_private(&state)?;
    let cache_dir = panel.layout.backup_scratch().join("restic-cache");
    mkdir_private(&cache_dir)?;
    let Some(dest) = dest else {
        let password_file = state.join("local.password");
        if !password_file.exists() {
            let _ = fsutil::create_exclusive(&password_file, random_hex(32)?.as_bytes(), 0o600);
        }
        let url = panel.layout.backup_repo(user).display().to_string();
        return Ok(Repo {
            url,
            password_file,
            cache_dir,
            sftp_command: None,
            credentials_file: None,
        });
    };
    let password_file = dest_file(panel, &dest.name, "password");
    Ok(match &dest.target {
        Target::Sftp { host, port, login, path } => {
            let key = dest_file(panel, &dest.name, "key");
            let known = dest_file(panel, &dest.name, "known_hosts");
            let ssh = restic::sftp_command(&key, &known, *port, &format!("{login}@{host}"));
            let path = path.trim_end_matches('/');
            Repo {
                url: format!("sftp:{login}@{host}:{path}/{user}"),
                password_file,
                cache_dir,
                sftp_command: Some(ssh),
                credentials_file: None,
            }
        }
        Target::S3 { endpoint, bucket, prefix } => {
            let prefix = prefix.trim_matches('/');
            let path =
                if prefix.is_empty() { user.to_string() } else { format!("{prefix}/{user}") };
            Repo {
                url: format!("s3:{}/{bucket}/{path}", endpoint.trim_end_matches('/')),
                password_file,
                cache_dir,
                sftp_command: None,
                credentials_file: Some(dest_file(panel, &dest.name, "credentials")),
            }
        }
    })
}

// --- schedules and retention --------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Off,
}

/// A schedule: server-wide (the admin's) or one account's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub version: u32,
    pub frequency: Frequency,
    /// Backups of this schedule's kind kept; older ones are deleted after a run.
    pub keep: u32,
    #[serde(default)]
    pub incremental: bool,
    #[serde(default)]
    pub destination: Option<DestinationName>,
    /// Verify each scheduled backup after it is made.
    #[serde(default)]
    pub verify: bool,
}

/// Most backups an account holder may keep per schedule.
/// FIXME: plans have no backup limits yet; this cap stands in for them.
pub const USER_MAX_KEEP: u32 = 14;

fn schedule_path(panel: &Panel, user: Option<&Username>) -> PathBuf {
    match user {
        Some(u) => panel.layout.user_dir(u).join("backup-schedule.yaml"),
        None => panel.layout.backup_state().join("schedule.yaml"),
    }
}

/// Sets (or, with `frequency: off`, clears) a schedule. `user: None` is the
/// server-wide schedule (administrators only).
pub fn set_schedule(
    panel: &Panel,
    actor: &Actor,
    user: Option<&Username>,
    schedule: Schedule,
) -> Result<Value> {
    match user {
        None if actor.role != Role::Admin => {
            return Err(ModuleError::Forbidden("the server-wide schedule is the admin's".into()));
        }
        Some(u) => {
            account::load_managed(panel, actor, u)?;
        }
        None => {}
    }
    if schedule.keep == 0 || schedule.keep > 365 {
        return Err(ModuleError::Invalid("keep: 1 to 365 backups".into()));
    }
    if actor.role == Role::User && schedule.keep > USER_MAX_KEEP {
        return Err(ModuleError::LimitReached(format!(
            "an account keeps at most {USER_MAX_KEEP} scheduled backups"
        )));
    }
    if let Some(d) = &schedule.destination {
        load_destination(panel, d)?;
        if !schedule.incremental {
            return Err(ModuleError::Invalid(
                "remote destinations take incremental backups".into(),
            ));
        }
    }
    let path = schedule_path(panel, user);
    if let Some(parent) = path.parent() {
        mkdir_private(parent)?;
    }
    let schedule = Schedule { version: 1, ..schedule };
    if schedule.frequency == Frequency::Off {
        fsutil::remove_if_exists(&path).map_err(io_err)?;
    } else {
        yaml::write(&path, &schedule)?;
    }
    Ok(json!({ "scope": user.map_or("server".to_string(), |u| u.to_string()),
               "schedule": schedule }))
}

pub fn get_schedule(panel: &Panel, user: Option<&Username>) -> Result<Option<Schedule>> {
    Ok(yaml::read::<Schedule>(&schedule_path(panel, user))?)
}

/// Deletes the oldest backups of one kind beyond `keep`. Idempotent; hs-taskd
/// runs it after each scheduled backup.
pub fn apply_retention(
    panel: &Panel,
    user: &Username,
    incremental: bool,
    keep: u32,
) -> Result<Vec<BackupId>> {
    let admin = Actor::admin("backup-retention");
    let mut ids: Vec<BackupId> = list(panel, &admin, Some(user))?
        .iter()
        .filter(|v| (v["kind"] == "incremental") == incremental)
        .filter_map(|v| v["id"].as_str()?.parse().ok())
        .collect();
    ids.sort();
    let excess = ids.len().saturating_sub(keep as usize);
    let gone: Vec<BackupId> = ids.into_iter().take(excess).collect();
    for id in &gone {
        delete(panel, &admin, user, id)?;
    }
    Ok(gone)
}

/// Whether a schedule is due, given its last backup (hs-taskd asks this).
pub fn is_due(frequency: Frequency, last: Option<jiff::Timestamp>, now: jiff::Timestamp) -> bool {
    let period = match frequency {
        Frequency::Off => return false,
        Frequency::Daily => 24,
        Frequency::Weekly => 7 * 24,
        Frequency::Monthly => 30 * 24,
    };
    match last {
        None => true,
        Some(t) => now.as_second() - t.as_second() >= period * 3600 - 300,
    }
}

/// Whether `user`'s schedule (its own, else the server-wide one) is due now,
/// going by the newest backup of the schedule's kind.
pub fn schedule_due(panel: &Panel, user: &Username, now: jiff::Timestamp) -> Result<bool> {
    let Some(schedule) = get_schedule(panel, Some(user))?.or(get_schedule(panel, None)?) else {
        return Ok(false);
    };
    let kind = if schedule.incremental { "incremental" } else { "full" };
    let admin = Actor::admin("backup-schedule");
    let last = list(panel, &admin, Some(user))?
        .iter()
        .filter(|v| v["kind"] == kind)
        .filter_map(|v| v["created"].as_str()?.parse::<jiff::Timestamp>().ok())
        .max();
    Ok(is_due(schedule.frequency, last, now))
}

/// One scheduled run for one account: the account's own schedule, else the
/// server-wide one; a backup of the schedule's kind, retention, and a
/// verification when asked. What hs-taskd runs; safe to run again.
pub fn run_scheduled(panel: &Panel, user: &Username, progress: Progress<'_>) -> Result<Value> {
    let Some(schedule) = get_schedule(panel, Some(user))?.or(get_schedule(panel, None)?) else {
        return Ok(json!({ "user": user, "skipped": "no schedule" }));
    };
    let admin = Actor::admin("backup-schedule");
    let req = CreateRequest {
        incremental: schedule.incremental,
        destination: schedule.destination.clone(),
    };
    let made = create(panel, &admin, user, req, progress)?;
    let removed = apply_retention(panel, user, schedule.incremental, schedule.keep)?;
    let verified = if schedule.verify {
        let id: BackupId = made["id"].as_str().unwrap_or_default().parse()?;
        Some(verify(panel, &admin, user, &id, &mut |_, _| {})?)
    } else {
        None
    };
    Ok(json!({ "user": user, "backup": made, "removed": removed, "verified": verified }))
}

/// Copies `src` to `dst` as one uncompressed tar (for tests and tools).
pub fn write_tar_of(src: &Path, prefix: &str, dst: impl Write) -> io::Result<()> {
    let mut b = tar::Builder::new(dst);
    tree::pack(&mut b, src, prefix, &mut |_| {})?;
    b.into_inner()?.flush()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn schedules_fall_due_by_their_period() {
        let now: jiff::Timestamp = "2026-12-03T20:00:00Z".parse().unwrap();
        let ago = |h: i64| Some(now - jiff::SignedDuration::from_hours(h));
        let cases = [
            (Frequency::Daily, None, true),
            (Frequency::Daily, ago(23), false),
            (Frequency::Daily, ago(24), true),
            (Frequency::Weekly, ago(24 * 6), false),
            (Frequency::Weekly, ago(24 * 7), true),
            (Frequency::Monthly, ago(24 * 29), false),
            (Frequency::Monthly, ago(24 * 30), true),
            (Frequency::Off, None, false),
        ];
        for (f, last, due) in cases {
            assert_eq!(is_due(f, last, now), due, "{f:?} {last:?}");
        }
    }
}
