//! One DNS record as a user gives it: [`RecordType`], [`Ttl`] and the typed data
//! ([`RecordData`]) parsed from its zone-file form (`10 mail` for an MX).
//!
//! The data's canonical zone-file form ([`RecordData::to_zone`]) is what the panel
//! stores and renders, and it parses back to the same value. Rules that need the
//! rest of the zone (no CNAME beside other data, ...) are the zone's business.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::dns_name::{RecordName, Target};
use crate::error::{InvalidValue, describe_char};

/// Bounds of a record's TTL, in seconds.
pub const MIN_TTL: u32 = 30;
pub const MAX_TTL: u32 = 604_800;
/// The TTL of the spec's zone template (`$TTL 14400`).
pub const DEFAULT_TTL: u32 = 14_400;
/// One TXT character-string holds at most 255 bytes (RFC 1035 §3.3).
pub const TXT_CHUNK: usize = 255;
/// The most text one TXT record may carry, all strings together.
pub const MAX_TXT_LEN: usize = 4096;

#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Srv,
    Caa,
    Ns,
}

impl RecordType {
    pub const ALL: [RecordType; 8] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Srv,
        RecordType::Caa,
        RecordType::Ns,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Srv => "SRV",
            RecordType::Caa => "CAA",
            RecordType::Ns => "NS",
        }
    }

    /// Whether the owner must be a host name (BIND's `check-names` for a primary
    /// zone refuses `_x A ...`): A, AAAA and MX owners hold no underscore.
    pub fn owner_is_host(self) -> bool {
        matches!(self, RecordType::A | RecordType::Aaaa | RecordType::Mx | RecordType::Ns)
    }
}

impl std::str::FromStr for RecordType {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let upper = s.to_ascii_uppercase();
        RecordType::ALL.into_iter().find(|t| t.as_str() == upper).ok_or_else(|| {
            let known: Vec<&str> = RecordType::ALL.iter().map(|t| t.as_str()).collect();
            let shown: String = s.chars().filter(|c| c.is_ascii_graphic()).take(16).collect();
            let reason = format!("{shown:?} is not supported; use one of {}", known.join(", "));
            InvalidValue::new("record type", reason)
        })
    }
}

impl TryFrom<String> for RecordType {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        s.parse()
    }
}

impl From<RecordType> for String {
    fn from(t: RecordType) -> String {
        t.as_str().to_string()
    }
}

impl std::fmt::Display for RecordType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A record's time to live, in seconds, between [`MIN_TTL`] and [`MAX_TTL`].
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i64", into = "u32")]
pub struct Ttl(u32);

impl Ttl {
    pub fn get(self) -> u32 {
        self.0
    }

    /// Reads a zone file's TTL: seconds, or BIND units (`1h30m`, `2d`, `1w`).
    pub fn parse_zone(text: &str) -> Result<Ttl, InvalidValue> {
        let err = || InvalidValue::new("TTL", format!("{:?} is not a number of seconds", text));
        if text.is_empty() || text.len() > 20 {
            return Err(err());
        }
        let mut total: i64 = 0;
        let mut number: Option<i64> = None;
        for c in text.chars() {
            if let Some(d) = c.to_digit(10) {
                number = Some(number.unwrap_or(0) * 10 + i64::from(d));
                continue;
            }
            let unit = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return Err(err()),
            };
            total += number.take().ok_or_else(err)? * unit;
        }
        total += number.unwrap_or(0);
        Ttl::try_from(total)
    }
}

impl TryFrom<i64> for Ttl {
    type Error = InvalidValue;
    fn try_from(secs: i64) -> Result<Ttl, InvalidValue> {
        if (i64::from(MIN_TTL)..=i64::from(MAX_TTL)).contains(&secs) {
            Ok(Ttl(secs as u32))
        } else {
            Err(InvalidValue::new(
                "TTL",
                format!("{secs} is out of bounds; use {MIN_TTL} to {MAX_TTL} seconds"),
            ))
        }
    }
}

impl From<Ttl> for u32 {
    fn from(t: Ttl) -> u32 {
        t.0
    }
}

impl Default for Ttl {
    fn default() -> Ttl {
        Ttl(DEFAULT_TTL)
    }
}

/// The typed data of a record.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(Target),
    Mx {
        preference: u16,
        exchange: Target,
    },
    /// The character-strings, each at most 255 bytes.
    Txt(Vec<Vec<u8>>),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: Target,
    },
    Caa {
        flags: u8,
        tag: String,
        value: Vec<u8>,
    },
    Ns(Target),
}

fn invalid(rtype: RecordType, reason: impl Into<String>) -> InvalidValue {
    let what = match rtype {
        RecordType::A => "A record",
        RecordType::Aaaa => "AAAA record",
        RecordType::Cname => "CNAME record",
        RecordType::Mx => "MX record",
        RecordType::Txt => "TXT record",
        RecordType::Srv => "SRV record",
        RecordType::Caa => "CAA record",
        RecordType::Ns => "NS record",
    };
    InvalidValue::new(what, reason)
}

/// Refuses control characters anywhere in a value: a newline would end the line
/// in the zone file.
fn no_controls(rtype: RecordType, value: &str) -> Result<(), InvalidValue> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(invalid(rtype, format!("contains {}", describe_char(c)))),
        None => Ok(()),
    }
}

fn number<T: std::str::FromStr>(
    rtype: RecordType,
    what: &str,
    s: Option<&str>,
) -> Result<T, InvalidValue> {
    let s = s.ok_or_else(|| invalid(rtype, format!("the {what} is missing")))?;
    s.parse().map_err(|_| invalid(rtype, format!("the {what} {s:?} is not a valid number")))
}

impl RecordData {
    /// Parses a value in zone-file form. For TXT, a value that does not start
    /// with `"` is taken as plain text (split into 255-byte strings); one that
    /// does is read as quoted strings with `\"`, `\\` and `\DDD` escapes.
    pub fn parse(rtype: RecordType, value: &str) -> Result<RecordData, InvalidValue> {
        no_controls(rtype, value)?;
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid(rtype, "the value is empty"));
        }
        let mut words = value.split_whitespace();
        let data = match rtype {
            RecordType::A => RecordData::A(value.parse().map_err(|_| {
                invalid(rtype, format!("{value:?} is not an IPv4 address like 192.0.2.1"))
            })?),
            RecordType::Aaaa => RecordData::Aaaa(value.parse().map_err(|_| {
                invalid(rtype, format!("{value:?} is not an IPv6 address like 2001:db8::1"))
            })?),
            RecordType::Cname => RecordData::Cname(one_target(rtype, value, Target::any)?),
            RecordType::Ns => RecordData::Ns(one_target(rtype, value, Target::host)?),
            RecordType::Mx => {
                let preference = number(rtype, "preference", words.next())?;
                let rest: Vec<&str> = words.collect();
                let exchange = one_target(rtype, &rest.join(" "), Target::host)?;
                RecordData::Mx { preference, exchange }
            }
            RecordType::Srv => {
                let priority = number(rtype, "priority", words.next())?;
                let weight = number(rtype, "weight", words.next())?;
                let port = number(rtype, "port", words.next())?;
                let rest: Vec<&str> = words.collect();
                let target = one_target(rtype, &rest.join(" "), Target::host)?;
                RecordData::Srv { priority, weight, port, target }
            }
            RecordType::Caa => parse_caa(value)?,
            RecordType::Txt => RecordData::Txt(parse_txt(value)?),
        };
        Ok(data)
    }

    pub fn rtype(&self) -> RecordType {
        match self {
            RecordData::A(_) => RecordType::A,
            RecordData::Aaaa(_) => RecordType::Aaaa,
            RecordData::Cname(_) => RecordType::Cname,
            RecordData::Mx { .. } => RecordType::Mx,
            RecordData::Txt(_) => RecordType::Txt,
            RecordData::Srv { .. } => RecordType::Srv,
            RecordData::Caa { .. } => RecordType::Caa,
            RecordData::Ns(_) => RecordType::Ns,
        }
    }

    /// The name this record points to, if any.
    pub fn target(&self) -> Option<&Target> {
        match self {
            RecordData::Cname(t) | RecordData::Ns(t) => Some(t),
            RecordData::Mx { exchange, .. } => Some(exchange),
            RecordData::Srv { target, .. } => Some(target),
            _ => None,
        }
    }

    /// The canonical zone-file form; parsing it gives this value back.
    pub fn to_zone(&self) -> String {
        match self {
            RecordData::A(ip) => ip.to_string(),
            RecordData::Aaaa(ip) => ip.to_string(),
            RecordData::Cname(t) | RecordData::Ns(t) => t.to_string(),
            RecordData::Mx { preference, exchange } => format!("{preference} {exchange}"),
            RecordData::Srv { priority, weight, port, target } => {
                format!("{priority} {weight} {port} {target}")
            }
            RecordData::Caa { flags, tag, value } => format!("{flags} {tag} {}", quote(value)),
            RecordData::Txt(strings) => {
                strings.iter().map(|s| quote(s)).collect::<Vec<_>>().join(" ")
            }
        }
    }

    /// A TXT record's strings joined: the text as a user reads it.
    pub fn txt_text(&self) -> Option<String> {
        match self {
            RecordData::Txt(strings) => Some(String::from_utf8_lossy(&strings.concat()).into()),
            _ => None,
        }
    }
}

fn one_target(
    rtype: RecordType,
    value: &str,
    parse: fn(&str) -> Result<Target, InvalidValue>,
) -> Result<Target, InvalidValue> {
    let words: Vec<&str> = value.split_whitespace().collect();
    match words.as_slice() {
        [one] => parse(one).map_err(|e| invalid(rtype, e.to_string())),
        [] => Err(invalid(rtype, "the target host name is missing")),
        _ => Err(invalid(rtype, "expected one target host name")),
    }
}

/// Quotes one character-string: `"` and `\` escaped, bytes outside printable
/// ASCII as `\DDD`.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// Reads one or more quoted strings (or plain text, split into 255-byte pieces).
fn parse_txt(value: &str) -> Result<Vec<Vec<u8>>, InvalidValue> {
    let rtype = RecordType::Txt;
    let strings = if value.starts_with('"') {
        let strings = quoted_strings(rtype, value)?;
        if let Some(long) = strings.iter().find(|s| s.len() > TXT_CHUNK) {
            let msg = format!("a quoted string is {} bytes; the limit is {TXT_CHUNK}", long.len());
            return Err(invalid(rtype, msg));
        }
        strings
    } else {
        value.as_bytes().chunks(TXT_CHUNK).map(<[u8]>::to_vec).collect()
    };
    let total: usize = strings.iter().map(Vec::len).sum();
    if total > MAX_TXT_LEN {
        return Err(invalid(rtype, format!("is {total} bytes; the limit is {MAX_TXT_LEN}")));
    }
    if strings.iter().flatten().any(|b| b.is_ascii_control()) {
        return Err(invalid(rtype, "contains a control character"));
    }
    Ok(strings)
}

/// Parses `"a" "b\"c" "\012"` into its strings; only whitespace between them.
fn quoted_strings(rtype: RecordType, value: &str) -> Result<Vec<Vec<u8>>, InvalidValue> {
    let bytes = value.as_bytes();
    let mut strings = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if bytes[i] != b'"' {
            return Err(invalid(rtype, "text outside the quotes; quote every string"));
        }
        i += 1;
        let mut current = Vec::new();
        loop {
            let Some(&b) = bytes.get(i) else {
                return Err(invalid(rtype, "a quoted string is not closed"));
            };
            i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let (byte, used) = unescape(&bytes[i..])
                        .ok_or_else(|| invalid(rtype, "a backslash escape is incomplete"))?;
                    current.push(byte);
                    i += used;
                }
                _ => current.push(b),
            }
        }
        strings.push(current);
    }
    Ok(strings)
}

/// After a backslash: `\DDD` (a decimal byte) or `\X` (X itself). Returns the
/// byte and how many input bytes it used.
pub fn unescape(rest: &[u8]) -> Option<(u8, usize)> {
    let first = *rest.first()?;
    if first.is_ascii_digit() {
        let digits = rest.get(..3)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        return u8::try_from(n).ok().map(|b| (b, 3));
    }
    Some((first, 1))
}

fn parse_caa(value: &str) -> Result<RecordData, InvalidValue> {
    let rtype = RecordType::Caa;
    let mut parts = value.splitn(3, char::is_whitespace);
    let flags: u8 = number(rtype, "flags", parts.next())?;
    let tag = parts.next().unwrap_or_default().to_ascii_lowercase();
    if tag.is_empty() || tag.len() > 15 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(rtype, "the tag must be 1 to 15 letters or digits, e.g. issue"));
    }
    let raw = parts.next().unwrap_or_default().trim();
    let value = if raw.starts_with('"') {
        let mut strings = quoted_strings(rtype, raw)?;
        if strings.len() != 1 {
            return Err(invalid(rtype, "the value must be one quoted string"));
        }
        strings.remove(0)
    } else if raw.contains(char::is_whitespace) || raw.contains('"') {
        return Err(invalid(rtype, "quote a value that holds spaces"));
    } else {
        raw.as_bytes().to_vec()
    };
    if value.len() > TXT_CHUNK || value.iter().any(u8::is_ascii_control) {
        return Err(invalid(rtype, "the value must be at most 255 printable bytes"));
    }
    Ok(RecordData::Caa { flags, tag, value })
}

/// A record without its place in a zone: owner, TTL and data.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DnsRecord {
    pub name: RecordName,
    pub ttl: Ttl,
    pub data: RecordData,
}

impl DnsRecord {
    /// Builds a record, applying the rules that involve both owner and type.
    pub fn new(name: RecordName, ttl: Ttl, data: RecordData) -> Result<DnsRecord, InvalidValue> {
        let rtype = data.rtype();
        if rtype.owner_is_host() && name.has_underscore() {
            let msg = format!("the name {name} holds '_', which a host name may not");
            return Err(invalid(rtype, msg));
        }
        if rtype == RecordType::Srv {
            let labels: Vec<&str> = name.as_str().split('.').collect();
            let ok = labels.len() >= 2 && labels[0].starts_with('_') && labels[1].starts_with('_');
            if !ok {
                return Err(invalid(rtype, "the name must be _service._proto, e.g. _sip._tcp"));
            }
        }
        if rtype == RecordType::Cname && name.is_apex() {
            return Err(invalid(rtype, "a CNAME cannot be at the zone apex (@)"));
        }
        if rtype == RecordType::Ns && name.is_wildcard() {
            return Err(invalid(rtype, "a delegation cannot have a wildcard name"));
        }
        Ok(DnsRecord { name, ttl, data })
    }

    pub fn rtype(&self) -> RecordType {
        self.data.rtype()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Parses `value` as `rtype` and checks the canonical form, or the error.
    fn check(rtype: &str, value: &str, expected: Result<&str, &str>) {
        let rtype: RecordType = rtype.parse().unwrap();
        match (RecordData::parse(rtype, value), expected) {
            (Ok(data), Ok(want)) => {
                assert_eq!(data.to_zone(), want, "{rtype} {value:?}");
                let again = RecordData::parse(rtype, &data.to_zone()).unwrap();
                assert_eq!(again, data, "{rtype} {value:?} is not stable");
            }
            (Err(e), Err(want)) => {
                assert!(e.reason.contains(want), "{rtype} {value:?}: {e} lacks {want:?}")
            }
            (got, want) => panic!("{rtype} {value:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn values() {
        check("A", "192.0.2.1", Ok("192.0.2.1"));
        check("A", "1.2.3.999", Err("not an IPv4 address"));
        check("A", "example.com", Err("not an IPv4 address"));
        check("AAAA", "2001:DB8::1", Ok("2001:db8::1"));
        check("AAAA", "192.0.2.1", Err("not an IPv6 address"));
        check("CNAME", "Target.Example.NET.", Ok("target.example.net."));
        check("CNAME", "x._domainkey.example.net.", Ok("x._domainkey.example.net."));
        check("CNAME", "a b", Err("one target"));
        check("MX", "10 mail", Ok("10 mail"));
        check("MX", "10  mx.example.net.", Ok("10 mx.example.net."));
        check("MX", "0 .", Ok("0 ."));
        check("MX", "10 1.2.3.4", Err("not the IP address"));
        check("MX", "mail", Err("preference \"mail\" is not a valid number"));
        check("MX", "70000 mail", Err("not a valid number"));
        check("MX", "10", Err("target host name is missing"));
        check("NS", "ns1.example.net.", Ok("ns1.example.net."));
        check("NS", "_x.example.net.", Err("'_'"));
        check("SRV", "10 5 5060 sip.example.com.", Ok("10 5 5060 sip.example.com."));
        check("SRV", "10 5 sip", Err("port \"sip\""));
        check("CAA", "0 issue \"letsencrypt.org\"", Ok("0 issue \"letsencrypt.org\""));
        check("CAA", "0 ISSUE letsencrypt.org", Ok("0 issue \"letsencrypt.org\""));
        check("CAA", "128 iodef \"mailto:a@b.test\"", Ok("128 iodef \"mailto:a@b.test\""));
        check("CAA", "0 is-sue \"x\"", Err("tag"));
        check("CAA", "256 issue \"x\"", Err("flags"));
        check("TXT", "v=spf1 -all", Ok("\"v=spf1 -all\""));
        check("TXT", "say \"hi\" \\o/", Ok(r#""say \"hi\" \\o/""#));
        check("TXT", "\"a\" \"b\"", Ok("\"a\" \"b\""));
        check("TXT", "\"caf\\195\\169\"", Ok("\"caf\\195\\169\""));
        check("TXT", "café", Ok("\"caf\\195\\169\""));
        check("TXT", "line\nbreak", Err("a line break"));
        check("TXT", "tab\there", Err("a tab"));
        check("TXT", "\"\\010\"", Err("control character"));
        check("TXT", "\"open", Err("not closed"));
        check("TXT", "\"a\" b", Err("outside the quotes"));
        check("TXT", "", Err("empty"));
        check("TXT", &"x".repeat(5000), Err("limit is 4096"));
        check("TXT", &format!("\"{}\"", "x".repeat(256)), Err("limit is 255"));
    }

    #[test]
    fn long_txt_splits_at_255_bytes() {
        let long = "k".repeat(600);
        let data = RecordData::parse(RecordType::Txt, &long).unwrap();
        let RecordData::Txt(strings) = &data else { panic!() };
        assert_eq!(strings.iter().map(Vec::len).collect::<Vec<_>>(), [255, 255, 90]);
        assert_eq!(data.txt_text().unwrap(), long);
    }

    #[test]
    fn ttls() {
        assert_eq!(Ttl::try_from(300).unwrap().get(), 300);
        assert!(Ttl::try_from(-1).unwrap_err().reason.contains("out of bounds"));
        assert!(Ttl::try_from(0).is_err());
        assert!(Ttl::try_from(i64::from(MAX_TTL) + 1).is_err());
        assert_eq!(Ttl::parse_zone("1h30m").unwrap().get(), 5400);
        assert_eq!(Ttl::parse_zone("2D").unwrap().get(), 172_800);
        assert_eq!(Ttl::parse_zone("86400").unwrap().get(), 86_400);
        assert!(Ttl::parse_zone("h").is_err());
        assert!(Ttl::parse_zone("1x").is_err());
        assert!(serde_json::from_str::<Ttl>("-1").is_err());
    }

    #[test]
    fn owner_rules() {
        let rec = |name: &str, t: &str, v: &str| {
            let rtype: RecordType = t.parse().unwrap();
            DnsRecord::new(name.parse().unwrap(), Ttl::default(), RecordData::parse(rtype, v)?)
        };
        assert!(rec("_dmarc", "TXT", "v=DMARC1; p=none").is_ok());
        assert!(rec("sel._domainkey", "TXT", "v=DKIM1; k=rsa; p=AAAA").is_ok());
        assert!(rec("_sip._tcp", "SRV", "10 5 5060 sip").is_ok());
        assert!(rec("sip", "SRV", "10 5 5060 sip").unwrap_err().reason.contains("_service"));
        assert!(rec("_x", "A", "192.0.2.1").unwrap_err().reason.contains("'_'"));
        assert!(rec("@", "CNAME", "x.example.net.").unwrap_err().reason.contains("apex"));
        assert!(rec("*", "A", "192.0.2.1").is_ok());
        assert!("mx".parse::<RecordType>().is_ok());
        assert!("SOA".parse::<RecordType>().unwrap_err().reason.contains("not supported"));
    }
}
