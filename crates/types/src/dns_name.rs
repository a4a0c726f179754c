//! Names inside a DNS zone: [`RecordName`], the owner of a record relative to its
//! zone (`@`, `www`, `_dmarc`, `sel._domainkey`, `*.dev`), and [`Target`], a name a
//! record points to (`mail`, `mx.example.net.`, `.`).
//!
//! Both are stored in lowercase. Underscore labels are legal DNS but not legal host
//! names, so the record type decides whether they are allowed (see
//! [`crate::dns_record`]). An IP address is never a name.

use crate::DomainName;
use crate::error::{InvalidValue, describe_char, string_value_impls};
use crate::host_label::MAX_LABEL_LEN;

const OWNER: &str = "record name";
const TARGET: &str = "target host name";

/// Longest name in presentation form without its trailing dot (RFC 1035).
const MAX_NAME_LEN: usize = 253;

/// Checks one label of a DNS name: 1 to 63 bytes of letters, digits, `-` and
/// (where `underscore` allows) `_`; no hyphen at either end.
fn check_label(label: &str, underscore: bool) -> Result<(), String> {
    if label.is_empty() {
        return Err("has an empty label (two dots in a row, or a dot at the start)".into());
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(format!("has a label longer than {MAX_LABEL_LEN} characters"));
    }
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (underscore && c == '_')
    };
    if let Some(bad) = label.chars().find(|&c| !allowed(c)) {
        let extra = if underscore { ", '_'" } else { "" };
        return Err(format!(
            "contains {}; only letters a-z, digits 0-9, '-'{extra} are allowed in a label",
            describe_char(bad)
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err("has a label that starts or ends with a hyphen".into());
    }
    Ok(())
}

fn looks_like_ip(name: &str) -> bool {
    let bare = name.strip_suffix('.').unwrap_or(name);
    bare.parse::<std::net::IpAddr>().is_ok()
}

/// The owner of a record, relative to its zone: `@` for the apex, otherwise one or
/// more labels (`www`, `_dmarc`, `sel._domainkey`, `_sip._tcp`); `*` may be the
/// first label (a wildcard). Underscores are allowed here; whether a record type
/// accepts them is the record's rule.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct RecordName(String);

impl RecordName {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(OWNER, reason);
        if input.len() > MAX_NAME_LEN {
            return Err(err(format!("is longer than {MAX_NAME_LEN} characters")));
        }
        if input.is_empty() {
            return Err(err("must not be empty; use @ for the zone itself".into()));
        }
        if input == "@" {
            return Ok(Self("@".into()));
        }
        if input.ends_with('.') {
            return Err(err("is absolute; give it relative to the zone, or use in_zone".into()));
        }
        let lower = input.to_ascii_lowercase();
        for (i, label) in lower.split('.').enumerate() {
            if i == 0 && label == "*" {
                continue;
            }
            check_label(label, true).map_err(err)?;
        }
        if looks_like_ip(&lower) {
            return Err(err("must be a name, not an IP address".into()));
        }
        Ok(Self(lower))
    }

    /// Reads a name as a zone file does: `@`, a name relative to `zone`, or an
    /// absolute name (trailing dot) that must be the zone or lie inside it.
    pub fn in_zone(input: &str, zone: &DomainName) -> Result<RecordName, InvalidValue> {
        let Some(absolute) = input.strip_suffix('.') else {
            return input.parse();
        };
        let lower = absolute.to_ascii_lowercase();
        if lower == zone.as_str() {
            return Ok(Self("@".into()));
        }
        match lower.strip_suffix(zone.as_str()).and_then(|head| head.strip_suffix('.')) {
            Some(relative) if !relative.is_empty() => relative.parse(),
            _ => Err(InvalidValue::new(OWNER, format!("{lower}. is not inside the zone {zone}"))),
        }
    }

    pub fn apex() -> RecordName {
        Self("@".into())
    }

    pub fn is_apex(&self) -> bool {
        self.0 == "@"
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Whether a label other than a leading `*` holds an underscore.
    pub fn has_underscore(&self) -> bool {
        self.0.contains('_')
    }

    pub fn is_wildcard(&self) -> bool {
        self.0 == "*" || self.0.starts_with("*.")
    }

    /// The first label, `None` at the apex.
    pub fn first_label(&self) -> Option<&str> {
        (!self.is_apex()).then(|| self.0.split('.').next().unwrap_or_default())
    }

    /// The full name with its trailing dot, e.g. `www.example.com.`.
    pub fn fqdn(&self, zone: &DomainName) -> String {
        if self.is_apex() { format!("{zone}.") } else { format!("{}.{zone}.", self.0) }
    }

    /// Whether this name is `other` or lies below it (`a.b` is below `b`).
    pub fn is_at_or_below(&self, other: &RecordName) -> bool {
        other.is_apex()
            || self == other
            || self.0.strip_suffix(&other.0).is_some_and(|head| head.ends_with('.'))
    }
}

string_value_impls!(RecordName);

/// A name a record points to, as written in a zone file: relative to the zone
/// (`mail`), absolute (`mx.example.net.`), or the root `.` (no service, RFC 7505 /
/// RFC 2782). Host names (MX, NS, SRV) must be letters, digits and hyphens; a
/// CNAME target may hold underscores. An IP address is refused.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Target(String);

impl Target {
    /// A host name (MX, NS, SRV targets): no underscores.
    pub fn host(input: &str) -> Result<Target, InvalidValue> {
        Self::parse(input, false)
    }

    /// Any DNS name (CNAME targets): underscores allowed.
    pub fn any(input: &str) -> Result<Target, InvalidValue> {
        Self::parse(input, true)
    }

    fn parse(input: &str, underscore: bool) -> Result<Target, InvalidValue> {
        let err = |reason: String| InvalidValue::new(TARGET, reason);
        if input == "." {
            return Ok(Target(".".into()));
        }
        if input.is_empty() {
            return Err(err("must not be empty".into()));
        }
        if looks_like_ip(input) {
            return Err(err(format!("must be a host name, not the IP address {input}")));
        }
        let bare = input.strip_suffix('.').unwrap_or(input);
        if bare.len() > MAX_NAME_LEN {
            return Err(err(format!("is longer than {MAX_NAME_LEN} characters")));
        }
        let lower = input.to_ascii_lowercase();
        for label in bare.to_ascii_lowercase().split('.') {
            check_label(label, underscore).map_err(err)?;
        }
        let tld = bare.rsplit('.').next().unwrap_or_default();
        if input.ends_with('.') && tld.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("must not end in an all-digit label".into()));
        }
        Ok(Target(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0 == "."
    }

    /// The name relative to `zone` when it lies inside it (`@` for the apex).
    pub fn in_zone(&self, zone: &DomainName) -> Option<RecordName> {
        if self.is_root() {
            return None;
        }
        match self.0.strip_suffix('.') {
            None => self.0.parse().ok(),
            Some(abs) => RecordName::in_zone(&format!("{abs}."), zone).ok(),
        }
    }

    /// Its length once completed with `zone`, to check the 253-character limit.
    pub fn full_len(&self, zone: &DomainName) -> usize {
        if self.0.ends_with('.') {
            self.0.len() - 1
        } else {
            self.0.len() + 1 + zone.as_str().len()
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<RecordName>(OWNER, input, expected);
    }

    #[test]
    fn owner_names() {
        check("@", Ok("@"));
        check("www", Ok("www"));
        check("WWW", Ok("www"));
        check("_dmarc", Ok("_dmarc"));
        check("sel._domainkey", Ok("sel._domainkey"));
        check("_sip._tcp", Ok("_sip._tcp"));
        check("*", Ok("*"));
        check("*.dev", Ok("*.dev"));
        check("a.b.c", Ok("a.b.c"));
        check("", Err("must not be empty"));
        check("a..b", Err("empty label"));
        check(".a", Err("empty label"));
        check("a.*", Err("'*'"));
        check("-a", Err("hyphen"));
        check("a b", Err("a space"));
        check("a\nb", Err("a line break"));
        check("a;b", Err("';'"));
        check("www.", Err("is absolute"));
        check(&"a".repeat(64), Err("longer than 63"));
        check("1.2.3.4", Err("not an IP address"));
    }

    #[test]
    fn owner_in_zone() {
        let zone: DomainName = "example.com".parse().unwrap();
        let in_zone = |s: &str| RecordName::in_zone(s, &zone).map(|n| n.to_string());
        assert_eq!(in_zone("example.com.").unwrap(), "@");
        assert_eq!(in_zone("WWW.example.com.").unwrap(), "www");
        assert_eq!(in_zone("www").unwrap(), "www");
        assert!(in_zone("www.other.com.").unwrap_err().reason.contains("not inside"));
        assert!(in_zone("badexample.com.").is_err());
        let www: RecordName = "www".parse().unwrap();
        assert_eq!(www.fqdn(&zone), "www.example.com.");
        assert!("a.www".parse::<RecordName>().unwrap().is_at_or_below(&www));
        assert!(!"awww".parse::<RecordName>().unwrap().is_at_or_below(&www));
    }

    #[test]
    fn targets() {
        for ok in ["mail", "mail.example.com.", ".", "MX1.Example.NET."] {
            assert!(Target::host(ok).is_ok(), "{ok}");
        }
        let cases = [
            ("1.2.3.4", "not the IP address"),
            ("1.2.3.4.", "not the IP address"),
            ("::1", "not the IP address"),
            ("a..b", "empty label"),
            ("_sip.example.com.", "'_'"),
            ("mail example", "a space"),
            ("", "must not be empty"),
            ("a.123.", "all-digit"),
        ];
        for (bad, want) in cases {
            let err = Target::host(bad).unwrap_err();
            assert!(err.reason.contains(want), "{bad}: {err}");
        }
        assert!(Target::any("x._domainkey.example.net.").is_ok());
        let zone: DomainName = "example.com".parse().unwrap();
        assert_eq!(Target::host("mail").unwrap().in_zone(&zone).unwrap().as_str(), "mail");
        assert!(Target::host("mx.other.net.").unwrap().in_zone(&zone).is_none());
        assert_eq!(Target::host("mail").unwrap().full_len(&zone), "mail.example.com".len());
    }
}
