//! The desired state: what the panel has promised, as typed YAML records.
//!
//! `userdata/{user}/account.yaml` holds the account, `userdata/{user}/{domain}.yaml`
//! one record per hosted name, `packages/{plan}.yaml` the plans. Every field that a
//! user once typed is a validated type, so reading a file parses it again.

use std::fs;
use std::path::Path;

use hs_types::{DomainName, HostLabel, PlanName, RedirectStatus, RedirectUrl, Username};
use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::{StateError, fsutil, yaml};

/// The format version written into every record; readers refuse others.
pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Reseller,
    User,
}

/// Who manages an account: the administrator, or one reseller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    Admin,
    Reseller(Username),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    pub reason: String,
    pub since: jiff::Timestamp,
}

/// What a reseller may do: a cap on accounts and the plans it may hand out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ResellerLimits {
    pub max_accounts: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub version: u32,
    pub username: Username,
    pub role: Role,
    pub owner: Owner,
    pub plan: PlanName,
    pub primary_domain: DomainName,
    pub uid: u32,
    pub gid: u32,
    /// An Argon2id PHC string; the password itself is never stored.
    pub password_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<Suspension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller: Option<ResellerLimits>,
    pub created: jiff::Timestamp,
}

/// What a hosted name is to its account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum DomainKind {
    /// The account's first domain; its site lives in `public_html`.
    Main,
    /// Another site of the account, in a folder of its own.
    Addon,
    /// `label.parent`, a site of its own below one of the account's domains.
    Sub { parent: DomainName, label: HostLabel },
    /// Another name for an existing domain: the same site.
    Parked { target: DomainName },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    pub url: RedirectUrl,
    pub status: RedirectStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    pub version: u32,
    pub domain: DomainName,
    pub owner: Username,
    pub kind: DomainKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<Redirect>,
    pub created: jiff::Timestamp,
}

impl Domain {
    /// The site folder below the home, derived from the kind: never typed by a user.
    /// A parked domain has none of its own; it serves its target's.
    pub fn docroot_rel(&self) -> Option<String> {
        match &self.kind {
            DomainKind::Main => Some("public_html".to_string()),
            DomainKind::Addon | DomainKind::Sub { .. } => Some(self.domain.as_str().to_string()),
            DomainKind::Parked { .. } => None,
        }
    }
}

/// Resource limits of a hosting plan. `None` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub disk_mb: Option<u64>,
    pub bandwidth_mb: Option<u64>,
    pub addon_domains: Option<u32>,
    pub subdomains: Option<u32>,
    pub parked_domains: Option<u32>,
    pub mailboxes: Option<u32>,
    pub databases: Option<u32>,
    pub forwarders: Option<u32>,
    pub cron_jobs: Option<u32>,
    /// Records in each of the account's DNS zones, those other modules published
    /// included (the SOA is not a record). Absent in older plan files: unlimited.
    #[serde(default)]
    pub dns_records: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub version: u32,
    pub name: PlanName,
    pub limits: Limits,
    /// Resellers may hand out only plans they own or the admin's shared ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Username>,
}

/// Typed reads and writes of the state tree. Callers hold the account lock
/// ([`crate::locks`]) around any read-modify-write.
#[derive(Debug, Clone)]
pub struct StateStore {
    layout: Layout,
}

impl StateStore {
    pub fn new(layout: Layout) -> StateStore {
        StateStore { layout }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn account(&self, user: &Username) -> Result<Option<Account>, StateError> {
        let account: Option<Account> = yaml::read(&self.layout.account_file(user))?;
        if let Some(a) = &account {
            check_record(&self.layout.account_file(user), a.version, &a.username == user)?;
        }
        Ok(account)
    }

    pub fn write_account(&self, account: &Account) -> Result<(), StateError> {
        yaml::write(&self.layout.account_file(&account.username), account)
    }

    pub fn domain(&self, user: &Username, name: &DomainName) -> Result<Option<Domain>, StateError> {
        let path = self.layout.domain_file(user, name);
        let domain: Option<Domain> = yaml::read(&path)?;
        if let Some(d) = &domain {
            check_record(&path, d.version, &d.domain == name && &d.owner == user)?;
        }
        Ok(domain)
    }

    pub fn write_domain(&self, domain: &Domain) -> Result<(), StateError> {
        yaml::write(&self.layout.domain_file(&domain.owner, &domain.domain), domain)
    }

    pub fn remove_domain(&self, user: &Username, name: &DomainName) -> Result<(), StateError> {
        let path = self.layout.domain_file(user, name);
        fsutil::remove_if_exists(&path).map_err(|e| StateError::io(&path, e))
    }

    /// Every account name with a state folder, sorted.
    pub fn usernames(&self) -> Result<Vec<Username>, StateError> {
        let dir = self.layout.userdata();
        let mut names = Vec::new();
        for name in list_dir(&dir)? {
            // A folder whose name is not a valid username was not made by the panel.
            if let Ok(user) = name.parse::<Username>() {
                names.push(user);
            }
        }
        names.sort();
        Ok(names)
    }

    pub fn accounts(&self) -> Result<Vec<Account>, StateError> {
        let mut accounts = Vec::new();
        for user in self.usernames()? {
            if let Some(account) = self.account(&user)? {
                accounts.push(account);
            }
        }
        Ok(accounts)
    }

    /// All domain records of one account, sorted by name.
    pub fn domains(&self, user: &Username) -> Result<Vec<Domain>, StateError> {
        let dir = self.layout.user_dir(user);
        let mut domains = Vec::new();
        for name in list_dir(&dir)? {
            let Some(stem) = name.strip_suffix(".yaml") else { continue };
            let Ok(domain) = stem.parse::<DomainName>() else { continue };
            if let Some(record) = self.domain(user, &domain)? {
                domains.push(record);
            }
        }
        domains.sort_by(|a, b| a.domain.cmp(&b.domain));
        Ok(domains)
    }

    /// The account that owns `domain`, from its claim file.
    pub fn domain_owner(&self, domain: &DomainName) -> Result<Option<Username>, StateError> {
        let path = self.layout.domain_claim(domain);
        let Some(bytes) = fsutil::read_if_exists(&path).map_err(|e| StateError::io(&path, e))?
        else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        let owner = text.trim().parse::<Username>();
        owner.map(Some).map_err(|e| StateError::corrupt(&path, e.to_string()))
    }

    /// Claims `domain` for `user`; `Ok(false)` when someone already holds it.
    pub fn claim_domain(&self, domain: &DomainName, user: &Username) -> Result<bool, StateError> {
        let path = self.layout.domain_claim(domain);
        let line = format!("{}\n", user.as_str());
        fsutil::create_exclusive(&path, line.as_bytes(), 0o600)
            .map_err(|e| StateError::io(&path, e))
    }

    /// Releases a claim, but only one held by `user`.
    pub fn release_domain(&self, domain: &DomainName, user: &Username) -> Result<(), StateError> {
        if self.domain_owner(domain)?.as_ref() == Some(user) {
            let path = self.layout.domain_claim(domain);
            fsutil::remove_if_exists(&path).map_err(|e| StateError::io(&path, e))?;
        }
        Ok(())
    }

    pub fn plan(&self, name: &PlanName) -> Result<Option<Plan>, StateError> {
        let path = self.layout.packages().join(format!("{}.yaml", name.as_str()));
        let plan: Option<Plan> = yaml::read(&path)?;
        if let Some(p) = &plan {
            check_record(&path, p.version, &p.name == name)?;
        }
        Ok(plan)
    }

    pub fn write_plan(&self, plan: &Plan) -> Result<(), StateError> {
        let path = self.layout.packages().join(format!("{}.yaml", plan.name.as_str()));
        yaml::write(&path, plan)
    }

    pub fn plans(&self) -> Result<Vec<Plan>, StateError> {
        let mut plans = Vec::new();
        for name in list_dir(&self.layout.packages())? {
            let Some(stem) = name.strip_suffix(".yaml") else { continue };
            let Ok(plan) = stem.parse::<PlanName>() else { continue };
            plans.extend(self.plan(&plan)?);
        }
        plans.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(plans)
    }

    /// Removes an account's whole state folder (terminate, or undoing a creation).
    pub fn remove_user_dir(&self, user: &Username) -> Result<(), StateError> {
        let dir = self.layout.user_dir(user);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::io(&dir, e)),
        }
    }
}

/// A record must carry the version we write and agree with the file it is in: a
/// hand-edited `bob.test.yaml` under alice's folder is refused, not believed.
fn check_record(path: &Path, version: u32, matches_place: bool) -> Result<(), StateError> {
    if version != STATE_VERSION {
        return Err(StateError::corrupt(path, format!("unsupported version {version}")));
    }
    if !matches_place {
        return Err(StateError::corrupt(path, "record does not match its file name".into()));
    }
    Ok(())
}

fn list_dir(dir: &Path) -> Result<Vec<String>, StateError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StateError::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StateError::io(dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plan_files_written_before_a_limit_existed_still_load() {
        let cases: [(&str, Option<u32>); 3] = [
            ("version: 1\nname: old\nlimits: {cron_jobs: 3}\n", None),
            ("version: 1\nname: new\nlimits: {dns_records: 40}\n", Some(40)),
            ("version: 1\nname: zero\nlimits: {dns_records: 0}\n", Some(0)),
        ];
        for (text, dns_records) in cases {
            let plan: Plan = yaml::from_str(text).unwrap();
            assert_eq!(plan.limits.dns_records, dns_records, "{text}");
        }
        assert!(yaml::from_str::<Plan>("version: 1\nname: x\nlimits: {dns: 1}\n").is_err());
    }
}
