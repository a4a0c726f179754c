//! The desired state of one DNS zone (`userdata/{user}/dns/{domain}.yaml`): its
//! records, each with a stable id, and its SOA serial. The zone file is rendered
//! from it and never read back.
//!
//! [`Zone::check`] holds the rules that involve more than one record (CNAME alone
//! at its name, glue for in-zone delegations, ...); [`next_serial`] the serial
//! policy (`YYYYMMDDNN`, RFC 1982 arithmetic, never backwards).

use std::collections::{BTreeMap, BTreeSet};

use hs_types::{DnsRecord, DomainName, RecordData, RecordName, RecordType, Ttl, Username};
use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::state::STATE_VERSION;
use crate::{StateError, fsutil, yaml};

/// The most records one zone may hold.
pub const MAX_RECORDS: usize = 5000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    pub version: u32,
    pub domain: DomainName,
    pub owner: Username,
    pub serial: u32,
    /// The id the next record gets; ids are never reused.
    pub next_id: u64,
    pub records: Vec<ZoneRecord>,
    /// Whether named signs the zone (absent in older files: unsigned).
    #[serde(default, skip_serializing_if = "Dnssec::is_unsigned")]
    pub dnssec: Dnssec,
}

/// A zone's DNSSEC: never signed, signed by named (`dnssec-policy default`, keys
/// and signatures kept up by named), or going back to unsigned
/// (`dnssec-policy insecure`, BIND's safe way out: signatures stay until
/// resolvers can no longer hold the DS the parent had).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dnssec {
    #[default]
    Unsigned,
    Signed,
    Unsigning,
}

impl Dnssec {
    pub fn is_unsigned(&self) -> bool {
        *self == Dnssec::Unsigned
    }

    /// The `dnssec-policy` of the zone's declaration.
    pub fn policy(&self) -> Option<&'static str> {
        match self {
            Dnssec::Unsigned => None,
            Dnssec::Signed => Some("default"),
            Dnssec::Unsigning => Some("insecure"),
        }
    }
}

/// A record in a zone: its id, and who put it there when a module did (`mail`,
/// `subdomain`), so that module can replace its own records and no others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRecord", into = "RawRecord")]
pub struct ZoneRecord {
    pub id: u64,
    pub record: DnsRecord,
    pub source: Option<RecordSource>,
}

/// The YAML form of a record; every field is validated again when read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    id: u64,
    name: RecordName,
    #[serde(rename = "type")]
    rtype: RecordType,
    value: String,
    ttl: Ttl,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<RecordSource>,
}

impl TryFrom<RawRecord> for ZoneRecord {
    type Error = hs_types::InvalidValue;
    fn try_from(raw: RawRecord) -> Result<ZoneRecord, Self::Error> {
        let data = RecordData::parse(raw.rtype, &raw.value)?;
        let record = DnsRecord::new(raw.name, raw.ttl, data)?;
        Ok(ZoneRecord { id: raw.id, record, source: raw.source })
    }
}

impl From<ZoneRecord> for RawRecord {
    fn from(r: ZoneRecord) -> RawRecord {
        RawRecord {
            id: r.id,
            name: r.record.name.clone(),
            rtype: r.record.rtype(),
            value: r.record.data.to_zone(),
            ttl: r.record.ttl,
            source: r.source,
        }
    }
}

/// Which module published a record: 1 to 32 of `a-z 0-9 - _ . :`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordSource(String);

impl RecordSource {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for RecordSource {
    type Err = hs_types::InvalidValue;
    fn from_str(s: &str) -> Result<RecordSource, Self::Err> {
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.:".contains(c);
        if s.is_empty() || s.len() > 32 || !s.chars().all(ok) {
            return Err(hs_types::InvalidValue::new("record source", "must be 1-32 of a-z0-9-_.:"));
        }
        Ok(RecordSource(s.to_string()))
    }
}

impl TryFrom<String> for RecordSource {
    type Error = hs_types::InvalidValue;
    fn try_from(s: String) -> Result<RecordSource, Self::Error> {
        s.parse()
    }
}

impl From<RecordSource> for String {
    fn from(s: RecordSource) -> String {
        s.0
    }
}

/// Why a zone is refused: a broken rule (the caller's records) or a duplicate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneRuleError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Duplicate(String),
}

impl Zone {
    pub fn new(domain: DomainName, owner: Username, serial: u32) -> Zone {
        Zone {
            version: STATE_VERSION,
            domain,
            owner,
            serial,
            next_id: 1,
            records: Vec::new(),
            dnssec: Dnssec::Unsigned,
        }
    }

    /// Adds a record with a fresh id and returns the id.
    pub fn push(&mut self, record: DnsRecord, source: Option<RecordSource>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.records.push(ZoneRecord { id, record, source });
        id
    }

    pub fn find(&self, id: u64) -> Option<&ZoneRecord> {
        self.records.iter().find(|r| r.id == id)
    }

    /// Every rule that involves the whole zone. The records themselves are valid
    /// by construction ([`DnsRecord::new`]).
    pub fn check(&self) -> Result<(), ZoneRuleError> {
        let bad = |msg: String| Err(ZoneRuleError::Invalid(msg));
        if self.records.len() > MAX_RECORDS {
            return bad(format!("a zone holds at most {MAX_RECORDS} records"));
        }

        let zone = &self.domain;
        let mut by_name: BTreeMap<&RecordName, Vec<&DnsRecord>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for r in &self.records {
            let rec = &r.record;
            if rec.name.fqdn(zone).len() > 254 {
                return bad(format!("{} is longer than 253 characters", rec.name.fqdn(zone)));
            }
            if let Some(target) = rec.data.target()
                && target.full_len(zone) > 253
            {
                return bad(format!("the target of {} is too long", rec.name));
            }
            let key = (rec.name.clone(), rec.rtype(), rec.data.to_zone());
            if !seen.insert(key) {
                return Err(ZoneRuleError::Duplicate(format!(
                    "{} {} {} exists already",
                    rec.name,
                    rec.rtype(),
                    rec.data.to_zone()
                )));
            }
            by_name.entry(&rec.name).or_default().push(rec);
        }

        for (name, records) in &by_name {
            let cnames = records.iter().filter(|r| r.rtype() == RecordType::Cname).count();
            if cnames > 0 && records.len() > 1 {
                return bad(format!("{name} has a CNAME, so it can have no other record"));
            }
        }
        let apex_ns = by_name
            .get(&RecordName::apex())
            .is_some_and(|rs| rs.iter().any(|r| r.rtype() == RecordType::Ns));
        if !apex_ns {
            return bad("the zone needs at least one NS record at @".into());
        }

        let has_address = |name: &RecordName| {
            by_name.get(name).is_some_and(|rs| {
                rs.iter().any(|r| matches!(r.rtype(), RecordType::A | RecordType::Aaaa))
            })
        };
        let is_cname = |name: &RecordName| {
            by_name.get(name).is_some_and(|rs| rs.iter().any(|r| r.rtype() == RecordType::Cname))
        };
        for r in &self.records {
            let rec = &r.record;
            let Some(inside) = rec.data.target().and_then(|t| t.in_zone(zone)) else {
                continue;
            };
            let pointer = matches!(rec.rtype(), RecordType::Mx | RecordType::Srv | RecordType::Ns);
            if pointer && is_cname(&inside) {
                let msg =
                    format!("{} {} points to {inside}, which is a CNAME", rec.name, rec.rtype());
                return bad(msg);
            }
            // A delegation to a server inside the delegated name needs glue.
            let delegation = rec.rtype() == RecordType::Ns && !rec.name.is_apex();
            if delegation && inside.is_at_or_below(&rec.name) && !has_address(&inside) {
                return bad(format!(
                    "the delegation {} needs an A or AAAA record for {inside}",
                    rec.name
                ));
            }
        }
        Ok(())
    }
}

/// The serial after a change: `YYYYMMDD00` of `today` when that is ahead of `old`
/// in RFC 1982 arithmetic, else `old + 1` (past `NN = 99`, or when the clock went
/// back). So it always grows, also across midnight and across 2^32.
pub fn next_serial(old: u32, today: jiff::civil::Date) -> u32 {
    let base = (today.year().max(0) as u32)
        .saturating_mul(1_000_000)
        .saturating_add(today.month() as u32 * 10_000)
        .saturating_add(today.day() as u32 * 100);
    if serial_gt(base, old) { base } else { old.wrapping_add(1) }
}

/// `a > b` in serial number arithmetic (RFC 1982, SERIAL_BITS = 32).
pub fn serial_gt(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < (1 << 31)
}

/// Reads a zone's state; `Ok(None)` when it has none. The record must match its
/// file's place.
pub fn read(
    layout: &Layout,
    user: &Username,
    domain: &DomainName,
) -> Result<Option<Zone>, StateError> {
    let path = layout.zone_state(user, domain);
    let zone: Option<Zone> = yaml::read(&path)?;
    if let Some(z) = &zone
        && (z.version != STATE_VERSION || &z.domain != domain || &z.owner != user)
    {
        return Err(StateError::corrupt(&path, "record does not match its file name".into()));
    }
    Ok(zone)
}

/// Writes a zone's state, keeping the previous version as `.bak`.
pub fn write(layout: &Layout, zone: &Zone) -> Result<(), StateError> {
    yaml::write(&layout.zone_state(&zone.owner, &zone.domain), zone)
}

pub fn remove(layout: &Layout, user: &Username, domain: &DomainName) -> Result<(), StateError> {
    let path = layout.zone_state(user, domain);
    fsutil::remove_if_exists(&path).map_err(|e| StateError::io(&path, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(s: &str) -> jiff::civil::Date {
        s.parse().unwrap()
    }

    #[test]
    fn serials() {
        let cases = [
            (0, "2026-12-03", 2026120300),
            (2026120300, "2026-12-03", 2026120301),
            (2026120398, "2026-12-03", 2026120399),
            (2026120399, "2026-12-03", 2026120400),
            (2026120400, "2026-12-03", 2026120401),
            (2026120401, "2026-12-04", 2026120402),
            (2026120399, "2026-12-05", 2026120500),
            (2026123199, "2027-01-01", 2027010100),
            (2030010100, "2026-12-03", 2030010101),
            (u32::MAX, "2026-12-03", 2026120300),
            (2026120300u32.wrapping_add(1 << 31), "2026-12-03", 4173603949),
        ];
        for (old, today, want) in cases {
            let got = next_serial(old, date(today));
            assert_eq!(got, want, "{old} on {today}");
            assert!(serial_gt(got, old), "{got} is not after {old}");
        }
        assert!(serial_gt(1, u32::MAX));
        assert!(!serial_gt(5, 5));
        assert!(!serial_gt(4, 5));
    }

    fn zone(lines: &[(&str, &str, &str)]) -> Zone {
        let mut z = Zone::new("example.com".parse().unwrap(), "alice".parse().unwrap(), 1);
        for (name, t, v) in lines {
            let rtype: RecordType = t.parse().unwrap();
            let data = RecordData::parse(rtype, v).unwrap();
            z.push(DnsRecord::new(name.parse().unwrap(), Ttl::default(), data).unwrap(), None);
        }
        z
    }

    #[test]
    fn zone_rules() {
        let base = [("@", "NS", "ns1.example.net."), ("@", "A", "192.0.2.1")];
        let check = |extra: &[(&str, &str, &str)]| {
            let mut lines = base.to_vec();
            lines.extend_from_slice(extra);
            zone(&lines).check()
        };
        assert!(check(&[("www", "CNAME", "example.net.")]).is_ok());
        let err = check(&[("www", "CNAME", "example.net."), ("www", "A", "192.0.2.2")]);
        assert!(err.unwrap_err().to_string().contains("has a CNAME"));
        let dup = check(&[("www", "A", "192.0.2.2"), ("www", "A", "192.0.2.2")]);
        assert!(matches!(dup, Err(ZoneRuleError::Duplicate(_))));
        let mx = check(&[("mx", "CNAME", "x.example.net."), ("@", "MX", "10 mx")]);
        assert!(mx.unwrap_err().to_string().contains("is a CNAME"));
        let glue = check(&[("sub", "NS", "ns.sub")]);
        assert!(glue.unwrap_err().to_string().contains("needs an A or AAAA"));
        assert!(check(&[("sub", "NS", "ns.sub"), ("ns.sub", "A", "192.0.2.9")]).is_ok());
        assert!(zone(&[("@", "A", "192.0.2.1")]).check().unwrap_err().to_string().contains("NS"));
    }

    #[test]
    fn yaml_round_trip() {
        let z = zone(&[("@", "NS", "ns1.example.net."), ("_dmarc", "TXT", "v=DMARC1; p=none")]);
        let text = yaml::to_string(&z).unwrap();
        let back: Zone = yaml::from_str(&text).unwrap();
        assert_eq!(back, z);
        let evil = "version: 1\ndomain: example.com\nowner: alice\nserial: 1\nnext_id: 2\n\
                    records:\n- id: 1\n  name: x\n  type: TXT\n  value: \"a\\nb\"\n  ttl: 300\n";
        assert!(yaml::from_str::<Zone>(evil).unwrap_err().contains("line break"));
    }
}
