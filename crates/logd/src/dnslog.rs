//! The parser of BIND's query log (`category queries` to a file channel with
//! `print-time yes`, as the panel's `named.conf` sets it up):
//!
//! ```text
//! 03-Dec-2026 20:01:31.933 client @0x7efca9e6a098 127.0.0.1#37640 (www.x.test): \
//!     query: www.x.test IN A +E(0)K (127.0.0.1)
//! ```
//!
//! named escapes every byte of a query name that is not a printable, unspecial
//! character (`\"`, `\032` for a space, `\255`), so a line it wrote is printable
//! ASCII and the name holds no space. The time is the server's local time. A
//! `view NAME:` before `query:` (servers with views) is skipped. The parser
//! borrows from the line and allocates nothing.

use crate::parse::{Reject, days_from_civil, find, num};

/// One query: when, the name asked (as logged, any case) and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query<'a> {
    /// Local seconds since the epoch (the caller applies the time zone).
    pub local_time: i64,
    pub name: &'a [u8],
    pub qtype: &'a [u8],
}

/// Query types kept as their own counter; any other counts as `other`.
pub const TYPES: &[&str] = &[
    "A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "PTR", "SRV", "CAA", "DS", "DNSKEY", "HTTPS",
    "SVCB", "ANY", "AXFR", "IXFR", "TLSA", "NAPTR",
];

/// Parses one line (without its newline).
pub fn parse(line: &[u8]) -> Result<Query<'_>, Reject> {
    if line.len() > crate::parse::MAX_LINE || !line.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(Reject::Bytes);
    }
    // `DD-Mon-YYYY HH:MM:SS.mmm `
    let stamp = line.get(..24).ok_or(Reject::Shape)?;
    if stamp[2] != b'-' || stamp[6] != b'-' || stamp[11] != b' ' || stamp[20] != b'.' {
        return Err(Reject::Shape);
    }
    let local_time = parse_stamp(stamp).ok_or(Reject::Value)?;
    let rest = line.get(24..).ok_or(Reject::Shape)?;
    let rest = rest.strip_prefix(b" client ").ok_or(Reject::Shape)?;
    let at = find(rest, b": query: ").ok_or(Reject::Shape)?;
    let query = &rest[at + b": query: ".len()..];
    // NAME CLASS TYPE FLAGS (SERVER)
    let mut fields = query.split(|b| *b == b' ');
    let name = fields.next().ok_or(Reject::Shape)?;
    let class = fields.next().ok_or(Reject::Shape)?;
    let qtype = fields.next().ok_or(Reject::Shape)?;
    let flags = fields.next().ok_or(Reject::Shape)?;
    let server = fields.next().ok_or(Reject::Shape)?;
    if fields.next().is_some() || name.is_empty() || !server.starts_with(b"(") {
        return Err(Reject::Shape);
    }
    let word = |s: &[u8]| !s.is_empty() && s.len() <= 16 && s.iter().all(u8::is_ascii_alphanumeric);
    if !word(class) || !word(qtype) || flags.len() > 32 {
        return Err(Reject::Value);
    }
    Ok(Query { local_time, name, qtype })
}

/// `03-Dec-2026 20:01:31.933` to local seconds since the epoch.
fn parse_stamp(s: &[u8]) -> Option<i64> {
    if s.len() != 24 || s[2] != b'-' || s[6] != b'-' || s[11] != b' ' || s[20] != b'.' {
        return None;
    }
    let day = num(&s[0..2])?;
    let month = crate::maillog::month(&s[3..6])?;
    let year = num(&s[7..11])?;
    num(&s[21..24])?;
    let secs = crate::maillog::clock(&s[12..20])?;
    if !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + secs)
}

/// The query type as a counter name: one of [`TYPES`], or `other`.
pub fn type_key(qtype: &[u8]) -> &'static str {
    TYPES.iter().find(|t| t.as_bytes().eq_ignore_ascii_case(qtype)).copied().unwrap_or("other")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    type Case = (&'static str, Result<(&'static str, &'static str), Reject>);

    #[test]
    fn lines_are_accepted_or_rejected_as_the_table_says() {
        // Lines as named 9.18 wrote them (the second name was `we"ird{.x.test`).
        let cases: &[Case] = &[
            (
                "03-Dec-2026 20:01:31.933 client @0x7efca9e6a098 127.0.0.1#37640 (www.X.test): \
                 query: www.X.test IN A +E(0)K (127.0.0.1)",
                Ok(("www.X.test", "A")),
            ),
            (
                "03-Dec-2026 20:01:31.981 client @0x7efca9e6a098 127.0.0.1#43761 \
                 (we\\\"ird{.x.test): query: we\\\"ird{.x.test IN TXT +E(0)K (127.0.0.1)",
                Ok(("we\\\"ird{.x.test", "TXT")),
            ),
            (
                "03-Dec-2026 20:01:32.029 client @0x7efca9e6d898 ::1#38683 (x.test): \
                 view internal: query: x.test IN MX +E(0)TK (::1)",
                Ok(("x.test", "MX")),
            ),
            (
                "03-Dec-2026 20:01:32.029 client @0x7e 1.2.3.4#1 (x.test): query: x.test IN \
                 A\"},{\" +E(0)K (127.0.0.1)",
                Err(Reject::Value),
            ),
            (
                "03-Dec-2026 20:01:32.029 client @0x7e 1.2.3.4#1 (x.test): query: x.test IN A \
                 +E(0)K (127.0.0.1) extra",
                Err(Reject::Shape),
            ),
            (
                "33-Dec-2026 20:01:32.029 client @0x7e 1.2.3.4#1 (x.test): query: x.test IN A \
                 +E(0)K (127.0.0.1)",
                Err(Reject::Value),
            ),
            ("03-Dec-2026 20:01:32.029 general: info: zone x.test/IN: loaded", Err(Reject::Shape)),
            ("{\"zone\":\"x.test\",\"queries\":1000}", Err(Reject::Shape)),
            ("", Err(Reject::Shape)),
            ("03-Dec-2026 20:01:32.029 client \u{1b}[2J", Err(Reject::Bytes)),
        ];
        for (line, expected) in cases {
            let got = parse(line.as_bytes()).map(|q| {
                (std::str::from_utf8(q.name).unwrap(), std::str::from_utf8(q.qtype).unwrap())
            });
            assert_eq!(got, *expected, "{line}");
        }
        let q = parse(cases[0].0.as_bytes()).unwrap();
        assert_eq!(q.local_time, 1_796_328_091);
        assert_eq!(type_key(b"aaaa"), "AAAA");
        assert_eq!(type_key(b"TYPE65534"), "other");
    }
}
