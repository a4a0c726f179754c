//! The byte-level parser of the panel's access log format `hspanel`:
//!
//! ```text
//! $host $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
//!     "$http_referer" "$http_user_agent"
//! ```
//!
//! nginx escapes `"`, `\` and every byte outside printable ASCII as `\xHH`, so a
//! line it wrote holds printable ASCII only and no raw quote inside a quoted field.
//! Anything else (binary bytes, a stray quote, a line past [`MAX_LINE`]) was not
//! written by nginx and is rejected whole: a rejected line contributes nothing.
//! The parser borrows from the line and allocates nothing.

/// Longest line accepted, newline excluded. nginx's own request line limit is 8 KiB.
pub const MAX_LINE: usize = 16 * 1024;

/// One parsed line; every slice is printable ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub host: &'a [u8],
    pub addr: &'a [u8],
    /// Seconds since the epoch, UTC.
    pub time: i64,
    pub method: Option<&'a [u8]>,
    /// The request target without its query string; `None` for a malformed request.
    pub path: Option<&'a [u8]>,
    pub status: u16,
    pub bytes: u64,
    /// `None` for `-`.
    pub referrer: Option<&'a [u8]>,
    pub agent: &'a [u8],
}

/// Why a line was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// A byte outside printable ASCII, or a line too long.
    Bytes,
    /// The fields are not where the format puts them.
    Shape,
    /// A field has the wrong syntax (time, status, byte count).
    Value,
}

/// Parses one line (without its newline).
pub fn parse(line: &[u8]) -> Result<Record<'_>, Reject> {
    if line.len() > MAX_LINE || !line.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(Reject::Bytes);
    }
    let mut c = Cursor { s: line, i: 0 };
    let host = c.word()?;
    let addr = c.word()?;
    c.word()?; // "-"
    c.word()?; // $remote_user, no spaces (nginx escapes nothing there but spaces are not sent)
    let time = c.bracketed()?;
    c.space()?;
    let request = c.quoted()?;
    c.space()?;
    let status = c.word()?;
    let bytes = c.word()?;
    let referrer = c.quoted()?;
    c.space()?;
    let agent = c.quoted()?;
    if c.i != line.len() {
        return Err(Reject::Shape);
    }

    if host.is_empty() || addr.is_empty() {
        return Err(Reject::Shape);
    }
    let status = parse_status(status).ok_or(Reject::Value)?;
    let bytes = parse_u64(bytes).ok_or(Reject::Value)?;
    let time = parse_time(time).ok_or(Reject::Value)?;
    let (method, path) = split_request(request);
    let referrer = (referrer != b"-" && !referrer.is_empty()).then_some(referrer);
    Ok(Record { host, addr, time, method, path, status, bytes, referrer, agent })
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    /// Up to the next space, which is consumed.
    fn word(&mut self) -> Result<&'a [u8], Reject> {
        let rest = &self.s[self.i..];
        let end = rest.iter().position(|b| *b == b' ').ok_or(Reject::Shape)?;
        self.i += end + 1;
        Ok(&rest[..end])
    }

    fn space(&mut self) -> Result<(), Reject> {
        if self.s.get(self.i) == Some(&b' ') {
            self.i += 1;
            Ok(())
        } else {
            Err(Reject::Shape)
        }
    }

    fn delimited(&mut self, open: u8, close: u8) -> Result<&'a [u8], Reject> {
        if self.s.get(self.i) != Some(&open) {
            return Err(Reject::Shape);
        }
        let rest = &self.s[self.i + 1..];
        let end = rest.iter().position(|b| *b == close).ok_or(Reject::Shape)?;
        self.i += end + 2;
        Ok(&rest[..end])
    }

    fn bracketed(&mut self) -> Result<&'a [u8], Reject> {
        self.delimited(b'[', b']')
    }

    /// A quoted field; nginx escapes quotes inside, so the next quote closes it.
    fn quoted(&mut self) -> Result<&'a [u8], Reject> {
        self.delimited(b'"', b'"')
    }
}

fn parse_status(s: &[u8]) -> Option<u16> {
    if s.len() != 3 {
        return None;
    }
    let n = parse_u64(s)?;
    (100..=999).contains(&n).then_some(n as u16)
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, b| b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0')))
}

/// Decimal digits (at most 19) as a number; anything else is `None`.
pub(crate) fn num(s: &[u8]) -> Option<i64> {
    parse_u64(s).map(|n| n as i64)
}

/// Where `needle` first starts in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `03/Dec/2026:17:43:10 +0000` to seconds since the epoch.
pub fn parse_time(s: &[u8]) -> Option<i64> {
    if s.len() != 26 || s[2] != b'/' || s[6] != b'/' || s[11] != b':' || s[20] != b' ' {
        return None;
    }
    let day = num(&s[0..2])?;
    let month = month_number(&s[3..6])?;
    let year = num(&s[7..11])?;
    let hour = num(&s[12..14])?;
    let minute = num(&s[15..17])?;
    let second = num(&s[18..20])?;
    if s[14] != b':' || s[17] != b':' || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let sign = match s[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset = sign * (num(&s[22..24])? * 3600 + num(&s[24..26])? * 60);
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn month_number(m: &[u8]) -> Option<i64> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS.iter().position(|name| name.as_slice() == m).map(|i| i as i64 + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (if month <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, month, day)
}

/// `GET /a/b?x=1 HTTP/1.1` to (`GET`, `/a/b`). A request line that is not one
/// (TLS bytes sent to the HTTP port, `-`) still counts as a hit, with no page.
fn split_request(request: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let mut parts = request.splitn(3, |b| *b == b' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return (None, None);
    };
    if method.is_empty() || method.len() > 16 || !method.iter().all(u8::is_ascii_uppercase) {
        return (None, None);
    }
    if !target.starts_with(b"/") {
        return (Some(method), None);
    }
    let end = target.iter().position(|b| *b == b'?' || *b == b'#').unwrap_or(target.len());
    (Some(method), Some(&target[..end]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = concat!(
        r#"alice.test 127.0.0.1 - - [03/Dec/2026:17:43:10 +0000] "#,
        r#""GET /a/b.php?x=1 HTTP/1.1" 200 612 "-" "curl/7.88.1""#
    );

    /// A line's fields after the host, address, user and time.
    macro_rules! p {
        ($rest:literal) => {
            concat!("b.test 1.2.3.4 - - [03/Dec/2026:17:43:10 +0000] ", $rest)
        };
    }

    #[test]
    fn a_good_line_parses() {
        let r = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(r.host, b"alice.test");
        assert_eq!(r.addr, b"127.0.0.1");
        assert_eq!(r.path, Some(&b"/a/b.php"[..]));
        assert_eq!(r.status, 200);
        assert_eq!(r.bytes, 612);
        assert_eq!(r.referrer, None);
        assert_eq!(r.agent, b"curl/7.88.1");
        assert_eq!(r.time, 1_796_319_790);
    }

    #[test]
    fn lines_are_accepted_or_rejected_as_the_table_says() {
        let cases: &[(&str, Result<(), Reject>)] = &[
            (GOOD, Ok(())),
            (
                concat!(
                    r#"b.test ::1 - bob [03/Dec/2026:17:43:10 -0130] "POST / HTTP/2.0" 404 0 "#,
                    r#""https://x.test/?q=\x22" "Mozilla/5.0 (X11)""#
                ),
                Ok(()),
            ),
            (p!(r#""\x16\x03\x01" 400 150 "-" "-""#), Ok(())),
            (p!(r#""GET / HTTP/1.1" 200 1 "-" "a"b""#), Err(Reject::Shape)),
            (p!(r#""GET /"} HTTP/1.1" 200 1 "-" "a""#), Err(Reject::Shape)),
            (p!(r#""GET / HTTP/1.1" 2000 1 "-" "a""#), Err(Reject::Value)),
            (p!(r#""GET / HTTP/1.1" 200 -1 "-" "a""#), Err(Reject::Value)),
            (
                r#"b.test 1.2.3.4 - - [33/Dec/2026:17:43:10 +0000] "GET / HTTP/1.1" 200 1 "-" "a""#,
                Err(Reject::Value),
            ),
            (p!(r#""GET / HTTP/1.1" 200 1 "-""#), Err(Reject::Shape)),
            (p!("\"GET /\u{1b}[31m HTTP/1.1\" 200 1 \"-\" \"a\""), Err(Reject::Bytes)),
            ("", Err(Reject::Shape)),
            ("{\"host\":\"x\"}", Err(Reject::Shape)),
        ];
        for (line, expected) in cases {
            assert_eq!(parse(line.as_bytes()).map(|_| ()), *expected, "{line}");
        }
        let long = format!("{}{}", GOOD, "x".repeat(MAX_LINE));
        assert_eq!(parse(long.as_bytes()).map(|_| ()), Err(Reject::Bytes));
        assert_eq!(parse(b"a.test \xff\xfe - - [x]").map(|_| ()), Err(Reject::Bytes));
    }

    #[test]
    fn calendar_conversions_round_trip() {
        for days in [-1000, 0, 59, 60, 365, 10_957, 20_000, 20_790] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
