//! The parser of nginx's error log, as nginx writes it for a request:
//!
//! ```text
//! 2026/12/04 16:57:28 [error] 4211#4211: *7 open() "/home/a/public_html/x" failed \
//!     (2: No such file or directory), client: 127.0.0.1, server: _, \
//!     request: "GET /x HTTP/1.1", host: "alice.test", referrer: "http://r.test/"
//! ```
//!
//! A line counts for the name in its `host:` field, by level. Lines without a
//! request (start-up, reload, worker notices) have no host and count for none.
//! The time is the server's local time. The parser borrows from the line and
//! allocates nothing.
//!
//! nginx does not escape the fields: a decoded URI in the message or a referrer
//! may hold the text `, host: "`. The host is the first such field after the
//! first `, request: "`, and it must be a valid host name.
//! FIXME: a crafted URI can still make its own error line count for another
//! hosted domain (never create a file or a key: both are checked).

use crate::parse::{Reject, days_from_civil, find, num};

/// The levels kept, in nginx's order; `info` and `debug` count for nothing.
pub const LEVELS: &[&str] = &["emerg", "alert", "crit", "error", "warn", "notice"];

/// One error line: when, how bad, and for which host (as logged, any case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLine<'a> {
    /// Local seconds since the epoch (the caller applies the time zone).
    pub local_time: i64,
    pub level: &'static str,
    pub host: &'a [u8],
}

/// Parses one line (without its newline). `Ok(None)`: a well-formed line that
/// names no host, or a level below `notice`.
pub fn parse(line: &[u8]) -> Result<Option<ErrorLine<'_>>, Reject> {
    if line.len() > crate::parse::MAX_LINE || !line.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(Reject::Bytes);
    }
    // `YYYY/MM/DD HH:MM:SS [level] `
    let stamp = line.get(..19).ok_or(Reject::Shape)?;
    let local_time = parse_stamp(stamp).ok_or(Reject::Shape)?;
    let rest = line.get(19..).ok_or(Reject::Shape)?.strip_prefix(b" [").ok_or(Reject::Shape)?;
    let close = rest.iter().position(|b| *b == b']').ok_or(Reject::Shape)?;
    let level = &rest[..close];
    if level == b"info" || level == b"debug" {
        return Ok(None);
    }
    let level = LEVELS.iter().find(|l| l.as_bytes() == level).ok_or(Reject::Value)?;

    let Some(request) = find(rest, b", request: \"") else { return Ok(None) };
    let after = &rest[request..];
    let Some(at) = find(after, b", host: \"") else { return Ok(None) };
    let value = &after[at + b", host: \"".len()..];
    let end = value.iter().position(|b| *b == b'"').ok_or(Reject::Shape)?;
    let host = &value[..end];
    let valid = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':');
    if host.is_empty() || host.len() > 253 + 6 || !host.iter().all(valid) {
        return Err(Reject::Value);
    }
    // A port (`alice.test:8443`) is not part of the name.
    let host = host.split(|b| *b == b':').next().unwrap_or(host);
    Ok(Some(ErrorLine { local_time, level, host }))
}

/// `2026/12/04 16:57:28` to local seconds since the epoch.
fn parse_stamp(s: &[u8]) -> Option<i64> {
    if s.len() != 19 || s[4] != b'/' || s[7] != b'/' || s[10] != b' ' {
        return None;
    }
    let (year, month, day) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let secs = crate::maillog::clock(&s[11..19])?;
    Some(days_from_civil(year, month, day) * 86_400 + secs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    type Case = (&'static str, Result<Option<(&'static str, &'static str)>, Reject>);

    #[test]
    fn lines_are_accepted_or_rejected_as_the_table_says() {
        let cases: &[Case] = &[
            (
                "2026/12/04 16:57:28 [error] 4211#4211: *7 open() \"/home/a/public_html/x\" \
                 failed (2: No such file or directory), client: 127.0.0.1, server: _, \
                 request: \"GET /x HTTP/1.1\", host: \"Alice.test\"",
                Ok(Some(("error", "Alice.test"))),
            ),
            (
                "2026/12/04 16:57:29 [crit] 4211#4211: *9 connect() to unix:/run/php/a.sock \
                 failed, client: ::1, server: _, request: \"GET /i.php HTTP/1.1\", \
                 upstream: \"fastcgi://unix:/run/php/a.sock:\", host: \"a.test:8443\", \
                 referrer: \"x\\\", host: \\\"b.test\"",
                Ok(Some(("crit", "a.test"))),
            ),
            // A decoded URI in the message cannot name the host: it comes before
            // the request field.
            (
                "2026/12/04 16:57:30 [error] 1#1: *2 open() \"/x, host: \"evil.test\"\" failed, \
                 client: 127.0.0.1, server: _, request: \"GET /x HTTP/1.1\", host: \"a.test\"",
                Ok(Some(("error", "a.test"))),
            ),
            ("2026/12/04 16:57:31 [notice] 1#1: signal process started", Ok(None)),
            ("2026/12/04 16:57:31 [info] 1#1: *3 client closed keepalive connection", Ok(None)),
            ("2026/12/04 16:57:31 [shout] 1#1: nonsense", Err(Reject::Value)),
            ("2026/13/04 16:57:31 [error] 1#1: x", Err(Reject::Shape)),
            ("yesterday [error] x", Err(Reject::Shape)),
            ("2026/12/04 16:57:31 [error] \u{1b}[31m", Err(Reject::Bytes)),
            (
                "2026/12/04 16:57:32 [error] 1#1: *4 x, client: 1.2.3.4, server: _, \
                 request: \"GET / HTTP/1.1\", host: \"{a}.test\"",
                Err(Reject::Value),
            ),
        ];
        for (line, want) in cases {
            let got = parse(line.as_bytes())
                .map(|o| o.map(|e| (e.level, std::str::from_utf8(e.host).unwrap())));
            assert_eq!(&got, want, "{line}");
        }
    }

    #[test]
    fn the_time_is_read_as_written() {
        let line = b"2026/12/04 16:57:28 [warn] 1#1: *1 x, client: 1.2.3.4, server: _, \
                     request: \"GET / HTTP/1.1\", host: \"a.test\"";
        let parsed = parse(line).unwrap().unwrap();
        assert_eq!(
            parsed.local_time,
            days_from_civil(2026, 12, 4) * 86_400 + 16 * 3600 + 57 * 60 + 28
        );
    }
}
