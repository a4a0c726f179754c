//! HS::Mail's desired state and the files rendered from it.
//!
//! `userdata/{user}/mail.yaml` lists an account's mail domains: per domain the
//! mailboxes (local part, SHA-512 crypt hash, quota, spam threshold, optional
//! autoresponder), the forwarders and the catch-all. Every value is a validated
//! type, parsed again when the file is read.
//!
//! The files the spec names are rendered here by pure functions, from every
//! account's state: Postfix's `virtual_mailbox_domains`, `virtual_mailbox_maps`,
//! `virtual_alias_maps` (and `hspanel_hold`, which holds a suspended
//! account's mail), one Dovecot passwd-file per domain, OpenDKIM's `KeyTable`
//! and `SigningTable`, a mailbox's Sieve script and its SpamAssassin
//! `user_prefs`. No user value can start a line or add a field: local parts and
//! addresses hold no `:`, `,`, space or line break (see `hs_types::email`), and
//! Sieve strings are quoted.

use std::path::Path;

use hs_types::{
    DomainName, EmailAddress, MailQuota, MailboxName, SpamThreshold, Username, VacationBody,
    VacationSubject,
};
use serde::{Deserialize, Serialize};

use crate::ftp::CryptHash;
use crate::state::{STATE_VERSION, StateStore};
use crate::{StateError, yaml};

/// The DKIM selector of every mail domain: `hspanel._domainkey.{domain}`.
pub const DKIM_SELECTOR: &str = "hspanel";

/// An automatic reply (Sieve `vacation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoresponder {
    pub subject: VacationSubject,
    pub body: VacationBody,
    /// First day it answers (server time); absent: from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<jiff::civil::Date>,
    /// Last day it answers; absent: until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<jiff::civil::Date>,
    /// One reply per sender per this many hours.
    pub interval_hours: u32,
}

/// One mailbox of a mail domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    pub user: MailboxName,
    pub hash: CryptHash,
    pub quota: MailQuota,
    #[serde(default)]
    pub spam_threshold: SpamThreshold,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoresponder: Option<Autoresponder>,
    pub created: jiff::Timestamp,
}

/// `source@domain` delivered to every destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forwarder {
    pub source: MailboxName,
    pub dest: Vec<EmailAddress>,
}

/// A domain that receives mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailDomain {
    pub domain: DomainName,
    #[serde(default)]
    pub mailboxes: Vec<Mailbox>,
    #[serde(default)]
    pub forwarders: Vec<Forwarder>,
    /// Where mail to an unknown local part goes; empty: it is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catchall: Vec<EmailAddress>,
}

impl MailDomain {
    pub fn new(domain: DomainName) -> MailDomain {
        MailDomain { domain, mailboxes: Vec::new(), forwarders: Vec::new(), catchall: Vec::new() }
    }

    pub fn mailbox(&self, user: &MailboxName) -> Option<&Mailbox> {
        self.mailboxes.iter().find(|m| &m.user == user)
    }
}

/// An account's mail domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailTable {
    pub version: u32,
    pub username: Username,
    pub domains: Vec<MailDomain>,
}

impl MailTable {
    pub fn empty(user: &Username) -> MailTable {
        MailTable { version: STATE_VERSION, username: user.clone(), domains: Vec::new() }
    }

    pub fn domain(&self, domain: &DomainName) -> Option<&MailDomain> {
        self.domains.iter().find(|d| &d.domain == domain)
    }

    /// The domain's entry, added when missing.
    pub fn domain_mut(&mut self, domain: &DomainName) -> &mut MailDomain {
        let at = match self.domains.iter().position(|d| &d.domain == domain) {
            Some(at) => at,
            None => {
                self.domains.push(MailDomain::new(domain.clone()));
                self.domains.len() - 1
            }
        };
        &mut self.domains[at]
    }
}

impl StateStore {
    /// The account's mail; an empty table when it has none.
    pub fn mail_table(&self, user: &Username) -> Result<MailTable, StateError> {
        let path = self.layout().mail_file(user);
        let Some(table) = yaml::read::<MailTable>(&path)? else {
            return Ok(MailTable::empty(user));
        };
        if table.version != STATE_VERSION {
            let reason = format!("unsupported version {}", table.version);
            return Err(StateError::corrupt(&path, reason));
        }
        if &table.username != user {
            return Err(StateError::corrupt(&path, "record does not match its folder".into()));
        }
        Ok(table)
    }
}

/// A mail domain as the server-wide maps see it.
#[derive(Debug, Clone, Copy)]
pub struct DomainView<'a> {
    pub domain: &'a MailDomain,
    /// The account is suspended: logins refused, mail deferred.
    pub suspended: bool,
}

/// `virtual_mailbox_domains`: one `domain OK` line per mail domain.
pub fn render_domains(domains: &[DomainView<'_>]) -> String {
    let mut out = String::from("# Generated by HS-Panel; edits are overwritten.\n");
    for d in domains {
        out.push_str(&format!("{} OK\n", d.domain.domain));
    }
    out
}

/// `virtual_mailbox_maps`: every mailbox and its maildir, relative to the
/// mail root (Dovecot delivers through LMTP; Postfix uses the map to know
/// which recipients exist).
pub fn render_mailbox_maps(domains: &[DomainView<'_>]) -> String {
    let mut out = String::from("# Generated by HS-Panel; edits are overwritten.\n");
    for d in domains {
        let name = &d.domain.domain;
        for m in &d.domain.mailboxes {
            out.push_str(&format!("{}@{name} {name}/{}/Maildir/\n", m.user, m.user));
        }
    }
    out
}

/// `virtual_alias_maps`: forwarders, catch-alls, and for a domain with a
/// catch-all each mailbox to itself (else the catch-all would take its mail).
/// A forwarder whose source is a mailbox keeps a copy in the mailbox.
pub fn render_alias_maps(domains: &[DomainView<'_>]) -> String {
    let mut out = String::from("# Generated by HS-Panel; edits are overwritten.\n");
    for d in domains {
        let name = &d.domain.domain;
        let forwarded = |user: &MailboxName| d.domain.forwarders.iter().any(|f| &f.source == user);
        for f in &d.domain.forwarders {
            let mut dest: Vec<String> = Vec::new();
            if d.domain.mailbox(&f.source).is_some() {
                dest.push(format!("{}@{name}", f.source));
            }
            dest.extend(f.dest.iter().map(|a| a.to_string()));
            out.push_str(&format!("{}@{name} {}\n", f.source, dest.join(", ")));
        }
        if d.domain.catchall.is_empty() {
            continue;
        }
        for m in d.domain.mailboxes.iter().filter(|m| !forwarded(&m.user)) {
            out.push_str(&format!("{0}@{name} {0}@{name}\n", m.user));
        }
        let dest: Vec<String> = d.domain.catchall.iter().map(|a| a.to_string()).collect();
        out.push_str(&format!("@{name} {}\n", dest.join(", ")));
    }
    out
}

/// `hspanel_hold` (a recipient access map): mail to a suspended account's
/// domains is accepted and put on Postfix's hold queue (deferred, not lost)
/// until the account is unsuspended.
pub fn render_hold(domains: &[DomainView<'_>]) -> String {
    let mut out = String::from("# Generated by HS-Panel; edits are overwritten.\n");
    for d in domains.iter().filter(|d| d.suspended) {
        out.push_str(&format!("{} HOLD account suspended\n", d.domain.domain));
    }
    out
}

/// One domain's Dovecot passwd-file: `user:{SHA512-CRYPT}hash` and the quota
/// rule as a userdb field. A suspended account's lines get a password no
/// password matches (`{CRYPT}!`), so every login fails.
pub fn render_passwd(domain: &MailDomain, suspended: bool) -> String {
    let mut out = String::new();
    for m in &domain.mailboxes {
        let password = if suspended {
            "{CRYPT}!".to_owned()
        } else {
            format!("{{SHA512-CRYPT}}{}", m.hash.as_str())
        };
        let quota = match m.quota.as_str() {
            "unlimited" => "*:storage=0".to_owned(),
            q => format!("*:storage={q}"),
        };
        out.push_str(&format!("{}:{password}::::::userdb_quota_rule={quota}\n", m.user));
    }
    out
}

/// OpenDKIM's `KeyTable`: `hspanel._domainkey.{domain} {domain}:hspanel:{key}`.
pub fn render_key_table(domains: &[(&DomainName, &Path)]) -> String {
    let mut out = String::new();
    for (domain, key) in domains {
        out.push_str(&format!(
            "{DKIM_SELECTOR}._domainkey.{domain} {domain}:{DKIM_SELECTOR}:{}\n",
            key.display()
        ));
    }
    out
}

/// OpenDKIM's `SigningTable` (a `refile:`): mail from any address of the
/// domain is signed with its key.
pub fn render_signing_table(domains: &[&DomainName]) -> String {
    let mut out = String::new();
    for domain in domains {
        out.push_str(&format!("*@{domain} {DKIM_SELECTOR}._domainkey.{domain}\n"));
    }
    out
}

/// A Sieve quoted string (RFC 5228 §2.4.2): `"` and `\` escaped.
fn sieve_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A mailbox's Sieve script: spam (SpamAssassin's `X-Spam-Flag: YES`, set
/// with the mailbox's own threshold) goes to Junk; then the autoresponder, if
/// any, between its dates, once per sender per interval. Pigeonhole's
/// `vacation` never answers lists, bounces or automatic mail.
pub fn render_sieve(mailbox: &Mailbox, address: &EmailAddress) -> String {
    let mut out = String::from(
        "# Generated by HS-Panel; edits are overwritten.\n\
         require [\"fileinto\", \"mailbox\", \"vacation\", \"vacation-seconds\", \
         \"date\", \"relational\"];\n\
         if header :is \"X-Spam-Flag\" \"YES\" {\n  fileinto :create \"Junk\";\n  stop;\n}\n",
    );
    let Some(auto) = &mailbox.autoresponder else {
        return out;
    };
    let mut tests = Vec::new();
    if let Some(start) = auto.start {
        tests.push(format!("currentdate :value \"ge\" \"date\" \"{start}\""));
    }
    if let Some(end) = auto.end {
        tests.push(format!("currentdate :value \"le\" \"date\" \"{end}\""));
    }
    let seconds = u64::from(auto.interval_hours) * 3600;
    let vacation = format!(
        "vacation :seconds {seconds} :from {} :subject {} {};\n",
        sieve_string(address.as_str()),
        sieve_string(auto.subject.as_str()),
        sieve_string(auto.body.as_str())
    );
    if tests.is_empty() {
        out.push_str(&vacation);
    } else {
        out.push_str(&format!("if allof({}) {{\n  {vacation}}}\n", tests.join(", ")));
    }
    out
}

/// A mailbox's SpamAssassin `user_prefs` (spamd's virtual config folder).
pub fn render_user_prefs(threshold: &SpamThreshold) -> String {
    format!("# Generated by HS-Panel; edits are overwritten.\nrequired_score {threshold}\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn mailbox(user: &str, quota: &str) -> Mailbox {
        Mailbox {
            user: user.parse().unwrap(),
            hash: "$6$salt$hash".parse().unwrap(),
            quota: quota.parse().unwrap(),
            spam_threshold: SpamThreshold::default(),
            autoresponder: None,
            created: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn domain() -> MailDomain {
        let mut d = MailDomain::new("alice.test".parse().unwrap());
        d.mailboxes.push(mailbox("info", "1024M"));
        d.mailboxes.push(mailbox("sales", "unlimited"));
        d.forwarders.push(Forwarder {
            source: "sales".parse().unwrap(),
            dest: vec!["boss@example.com".parse().unwrap()],
        });
        d.forwarders.push(Forwarder {
            source: "team".parse().unwrap(),
            dest: vec!["a@example.com".parse().unwrap(), "info@alice.test".parse().unwrap()],
        });
        d
    }

    #[test]
    fn maps() {
        let d = domain();
        let view = [DomainView { domain: &d, suspended: false }];
        let body = |s: String| s.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(body(render_domains(&view)), ["alice.test OK"]);
        assert_eq!(
            body(render_mailbox_maps(&view)),
            [
                "info@alice.test alice.test/info/Maildir/",
                "sales@alice.test alice.test/sales/Maildir/"
            ]
        );
        assert_eq!(
            body(render_alias_maps(&view)),
            [
                "sales@alice.test sales@alice.test, boss@example.com",
                "team@alice.test a@example.com, info@alice.test"
            ]
        );
        assert!(body(render_hold(&view)).is_empty());

        let mut c = d.clone();
        c.catchall = vec!["info@alice.test".parse().unwrap()];
        let view = [DomainView { domain: &c, suspended: true }];
        let aliases = body(render_alias_maps(&view));
        assert_eq!(aliases[2], "info@alice.test info@alice.test");
        assert_eq!(aliases[3], "@alice.test info@alice.test");
        assert_eq!(body(render_hold(&view)), ["alice.test HOLD account suspended"]);
    }

    #[test]
    fn passwd() {
        let d = domain();
        assert_eq!(
            render_passwd(&d, false),
            "info:{SHA512-CRYPT}$6$salt$hash::::::userdb_quota_rule=*:storage=1024M\n\
             sales:{SHA512-CRYPT}$6$salt$hash::::::userdb_quota_rule=*:storage=0\n"
        );
        assert!(render_passwd(&d, true).starts_with("info:{CRYPT}!::::::"));
    }

    #[test]
    fn dkim_tables() {
        let d: DomainName = "alice.test".parse().unwrap();
        let key = Path::new("/etc/opendkim/keys/alice.test/hspanel.private");
        assert_eq!(
            render_key_table(&[(&d, key)]),
            "hspanel._domainkey.alice.test alice.test:hspanel:\
             /etc/opendkim/keys/alice.test/hspanel.private\n"
        );
        assert_eq!(render_signing_table(&[&d]), "*@alice.test hspanel._domainkey.alice.test\n");
    }

    #[test]
    fn sieve() {
        let mut m = mailbox("info", "1M");
        let addr: EmailAddress = "info@alice.test".parse().unwrap();
        let plain = render_sieve(&m, &addr);
        assert!(plain.contains("fileinto :create \"Junk\""));
        assert!(!plain.contains("vacation :"));

        m.autoresponder = Some(Autoresponder {
            subject: "Away \"now\"".parse().unwrap(),
            body: "Back \\ soon;\n}".parse().unwrap(),
            start: Some("2026-12-01".parse().unwrap()),
            end: None,
            interval_hours: 24,
        });
        let text = render_sieve(&m, &addr);
        assert!(text.contains(
            "if allof(currentdate :value \"ge\" \"date\" \"2026-12-01\") {\n  vacation :seconds \
             86400 :from \"info@alice.test\" :subject \"Away \\\"now\\\"\" \"Back \\\\ soon;\n}\";\n}\n"
        ), "{text}");
    }

    #[test]
    fn user_prefs() {
        let t: SpamThreshold = "7.5".parse().unwrap();
        assert!(render_user_prefs(&t).ends_with("required_score 7.5\n"));
    }
}
