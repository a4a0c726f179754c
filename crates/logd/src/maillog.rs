//! Parsers of the mail logs: Postfix's own log file (`maillog_file`, Postfix ≥ 3.4,
//! written by `postlogd`) and Dovecot's (`log_path`). Both start with a syslog-style
//! local time without a year:
//!
//! ```text
//! Dec 03 20:01:42 mail postfix/pickup[11362]: 99D5799A4C1: uid=0 from=<bob@x.test>
//! Dec 03 20:01:42 lmtp(carol@x.test)<7405><Wc8gIX>: Info: msgid=<1@x.test>: saved mail to INBOX
//! Dec 04 17:03:44 lmtp(i@x.test)<84><Fa>: Info: sieve: msgid=<2@vm>: stored mail into mailbox 'Junk'
//! ```
//!
//! Only a few line kinds count, one event per line and never state across lines
//! (a queue id is not followed from line to line, so nothing can be matched wrong):
//! - Postfix `sent`: an authenticated submission (`smtpd ... sasl_username=X`) or a
//!   local one (`pickup ... from=<X>`), for the sending mailbox X;
//! - Postfix `received`: a final delivery (`lmtp`, `virtual`, `local`, `pipe`) with
//!   `status=sent` to X;
//! - Dovecot `stored`: `lmtp(X)` or `lda(X)` saved a message (so a message Postfix
//!   hands to Dovecot is `received` once and `stored` once: two facts, not a double);
//! - Dovecot `logins`: `imap-login`/`pop3-login`/`submission-login` `Login: user=<X>`.
//!
//! Every other line of the right shape is *ignored*; a line of the wrong shape, with
//! bytes outside printable ASCII, or with an address that is not a valid
//! [`hs_types::EmailAddress`] is *rejected*. Addresses are returned raw; the tally
//! validates them and counts only hosted domains.

use crate::parse::{MAX_LINE, Reject, find};

/// A local time without its year: (month 1-12, day 1-31, seconds into the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub month: i64,
    pub day: i64,
    pub secs: i64,
}

/// What a counted line says, with the address it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailEvent<'a> {
    Sent(&'a [u8]),
    Received(&'a [u8]),
    Stored(&'a [u8]),
    Login(&'a [u8]),
}

impl MailEvent<'_> {
    pub fn counter(&self) -> &'static str {
        match self {
            MailEvent::Sent(_) => "sent",
            MailEvent::Received(_) => "received",
            MailEvent::Stored(_) => "stored",
            MailEvent::Login(_) => "logins",
        }
    }

    pub fn address(&self) -> &[u8] {
        match self {
            MailEvent::Sent(a) | MailEvent::Received(a) | MailEvent::Stored(a) => a,
            MailEvent::Login(a) => a,
        }
    }
}

/// A parsed line: its time, and the event when it is one that counts.
pub type Parsed<'a> = (Stamp, Option<MailEvent<'a>>);

pub(crate) fn month(m: &[u8]) -> Option<i64> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS.iter().position(|name| name.as_slice() == m).map(|i| i as i64 + 1)
}

fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 4 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0')))
}

/// `HH:MM:SS` to seconds into the day.
pub(crate) fn clock(s: &[u8]) -> Option<i64> {
    if s.len() != 8 || s[2] != b':' || s[5] != b':' {
        return None;
    }
    let (h, m, sec) = (digits(&s[0..2])?, digits(&s[3..5])?, digits(&s[6..8])?);
    (h <= 23 && m <= 59 && sec <= 60).then_some(h * 3600 + m * 60 + sec)
}

/// `Dec 03 20:01:42 ` or `Dec  3 20:01:42.123456 `: the stamp and the rest.
fn stamp(line: &[u8]) -> Result<(Stamp, &[u8]), Reject> {
    let head = line.get(..16).ok_or(Reject::Shape)?;
    if head[3] != b' ' || head[6] != b' ' {
        return Err(Reject::Shape);
    }
    let month = month(&head[0..3]).ok_or(Reject::Shape)?;
    let day_text = if head[4] == b' ' { &head[5..6] } else { &head[4..6] };
    let day = digits(day_text).filter(|d| (1..=31).contains(d)).ok_or(Reject::Value)?;
    let secs = clock(&head[7..15]).ok_or(Reject::Value)?;
    let mut rest = &line[15..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return Err(Reject::Value);
        }
        rest = &frac[n..];
    }
    let rest = rest.strip_prefix(b" ").ok_or(Reject::Shape)?;
    Ok((Stamp { month, day, secs }, rest))
}

fn printable(line: &[u8]) -> Result<(), Reject> {
    if line.len() > MAX_LINE || !line.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(Reject::Bytes);
    }
    Ok(())
}

/// `<X>` at the start of `s`: X (no `<`, `>` or space inside) and what follows.
fn angle(s: &[u8]) -> Result<(&[u8], &[u8]), Reject> {
    let inner = s.strip_prefix(b"<").ok_or(Reject::Shape)?;
    let end = inner.iter().position(|b| *b == b'>').ok_or(Reject::Shape)?;
    let value = &inner[..end];
    if value.iter().any(|b| matches!(b, b'<' | b' ')) {
        return Err(Reject::Value);
    }
    Ok((value, &inner[end + 1..]))
}

/// A Postfix queue id: 5 to 20 letters and digits.
fn queue_id(s: &[u8]) -> bool {
    (5..=20).contains(&s.len()) && s.iter().all(u8::is_ascii_alphanumeric)
}

/// Parses one line of Postfix's log (without its newline).
pub fn parse_postfix(line: &[u8]) -> Result<Parsed<'_>, Reject> {
    printable(line)?;
    let (stamp, rest) = stamp(line)?;
    // HOST PROGRAM[PID]: MESSAGE
    let sp = rest.iter().position(|b| *b == b' ').ok_or(Reject::Shape)?;
    let rest = &rest[sp + 1..];
    let colon = find(rest, b": ").ok_or(Reject::Shape)?;
    let (program, message) = (&rest[..colon], &rest[colon + 2..]);
    let open = program.iter().position(|b| *b == b'[').ok_or(Reject::Shape)?;
    let (name, pid) = (&program[..open], &program[open..]);
    if pid.len() < 3
        || !pid.ends_with(b"]")
        || !pid[1..pid.len() - 1].iter().all(u8::is_ascii_digit)
    {
        return Err(Reject::Shape);
    }
    if !name.starts_with(b"postfix") {
        return Ok((stamp, None)); // another program's line in a shared file
    }
    let daemon = name.rsplit(|b| *b == b'/').next().unwrap_or(name);
    let Some(qcolon) = find(message, b": ") else { return Ok((stamp, None)) };
    if !queue_id(&message[..qcolon]) {
        return Ok((stamp, None));
    }
    let body = &message[qcolon + 2..];
    let event = match daemon {
        b"smtpd" => match find(body, b", sasl_username=") {
            Some(at) if body.starts_with(b"client=") => {
                let value = &body[at + b", sasl_username=".len()..];
                let end = value.iter().position(|b| *b == b',').unwrap_or(value.len());
                Some(MailEvent::Sent(&value[..end]))
            }
            _ => None,
        },
        b"pickup" => match find(body, b" from=") {
            Some(at) if body.starts_with(b"uid=") => {
                let (from, after) = angle(&body[at + b" from=".len()..])?;
                if !after.is_empty() {
                    return Err(Reject::Shape);
                }
                Some(MailEvent::Sent(from))
            }
            _ => None,
        },
        b"lmtp" | b"virtual" | b"local" | b"pipe" => match body.strip_prefix(b"to=") {
            Some(to) => {
                let (to, after) = angle(to)?;
                // `status=` is the field after `dsn=`: a quoted `orig_to` cannot fake it.
                let dsn = find(after, b", dsn=").ok_or(Reject::Shape)?;
                let after_dsn = &after[dsn + 6..];
                let status = find(after_dsn, b", status=").ok_or(Reject::Shape)?;
                if after_dsn[..status].contains(&b',') {
                    return Err(Reject::Shape);
                }
                let sent = after_dsn[status + 9..].starts_with(b"sent ");
                sent.then_some(MailEvent::Received(to))
            }
            None => None,
        },
        _ => None,
    };
    Ok((stamp, event))
}

/// Parses one line of Dovecot's log (without its newline).
pub fn parse_dovecot(line: &[u8]) -> Result<Parsed<'_>, Reject> {
    printable(line)?;
    let (stamp, rest) = stamp(line)?;
    // SERVICE[(USER)][<PID><SESSION>]: LEVEL: MESSAGE
    let colon = find(rest, b": ").ok_or(Reject::Shape)?;
    let (prefix, after) = (&rest[..colon], &rest[colon + 2..]);
    let level_end = find(after, b": ").ok_or(Reject::Shape)?;
    let (level, message) = (&after[..level_end], &after[level_end + 2..]);
    let levels: [&[u8]; 6] = [b"Info", b"Warning", b"Error", b"Fatal", b"Panic", b"Debug"];
    if !levels.contains(&level) {
        return Err(Reject::Shape);
    }
    let service_end = prefix.iter().position(|b| matches!(b, b'(' | b'<')).unwrap_or(prefix.len());
    let service = &prefix[..service_end];
    if service.is_empty() || !service.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return Err(Reject::Shape);
    }
    let user = || -> Result<&[u8], Reject> {
        let inner = prefix[service_end..].strip_prefix(b"(").ok_or(Reject::Shape)?;
        let end = inner.iter().position(|b| *b == b')').ok_or(Reject::Shape)?;
        Ok(&inner[..end])
    };
    let event = match service {
        // Without a Sieve script Dovecot says `saved mail to`; through one (every
        // panel mailbox has one) Pigeonhole says `stored mail into mailbox`.
        b"lmtp" | b"lda"
            if level == b"Info"
                && (find(message, b": saved mail to ").is_some()
                    || find(message, b": stored mail into mailbox ").is_some()) =>
        {
            Some(MailEvent::Stored(user()?))
        }
        b"imap-login" | b"pop3-login" | b"submission-login" if level == b"Info" => {
            match message.strip_prefix(b"Login: user=") {
                Some(rest) => Some(MailEvent::Login(angle(rest)?.0)),
                None => None,
            }
        }
        _ => None,
    };
    Ok((stamp, event))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    type Expected = Result<Option<(&'static str, &'static str)>, Reject>;

    fn shown(r: Result<Parsed<'_>, Reject>) -> Result<Option<(&'static str, String)>, Reject> {
        r.map(|(_, e)| e.map(|e| (e.counter(), String::from_utf8(e.address().to_vec()).unwrap())))
    }

    fn check(parse: fn(&[u8]) -> Result<Parsed<'_>, Reject>, cases: &[(&str, Expected)]) {
        for (line, expected) in cases {
            let expected = expected.map(|o| o.map(|(c, a)| (c, a.to_string())));
            assert_eq!(shown(parse(line.as_bytes())), expected, "{line}");
        }
    }

    #[test]
    fn postfix_lines_count_as_the_table_says() {
        // The first five as Postfix 3.7 wrote them with `maillog_file`.
        check(
            parse_postfix,
            &[
                (
                    "Dec 03 20:01:42 mail postfix/pickup[11362]: 99D5799A4C1: uid=0 \
                     from=<bob@x.test>",
                    Ok(Some(("sent", "bob@x.test"))),
                ),
                (
                    "Dec 03 20:01:42 mail postfix/virtual[11370]: 99D5799A4C1: \
                     to=<carol@x.test>, relay=virtual, delay=0.07, delays=0.05/0.02/0/0, \
                     dsn=2.0.0, status=sent (delivered to maildir)",
                    Ok(Some(("received", "carol@x.test"))),
                ),
                (
                    "Dec 03 20:01:42 mail postfix/qmgr[11363]: 99D5799A4C1: from=<bob@x.test>, \
                     size=252, nrcpt=1 (queue active)",
                    Ok(None),
                ),
                (
                    "Dec 03 20:01:42 mail postfix/master[11359]: daemon started -- version \
                     3.7.11, configuration /tmp/pfx/etc",
                    Ok(None),
                ),
                ("Dec 03 20:01:42 mail postfix/qmgr[11363]: 99D5799A4C1: removed", Ok(None)),
                (
                    "Dec  3 20:01:42 mail postfix/submission/smtpd[20]: 4FqX1Z2abc: \
                     client=localhost[127.0.0.1], sasl_method=PLAIN, sasl_username=Bob@X.test",
                    Ok(Some(("sent", "Bob@X.test"))),
                ),
                (
                    "Dec 03 20:01:42.123456 mail postfix/lmtp[31]: 4FqX1Z2abc: \
                     to=<carol@x.test>, relay=mail.x.test[private/dovecot-lmtp], delay=0.1, \
                     delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <carol@x.test> Saved)",
                    Ok(Some(("received", "carol@x.test"))),
                ),
                (
                    "Dec 03 20:01:42 mail postfix/lmtp[31]: 4FqX1Z2abc: to=<carol@x.test>, \
                     relay=none, delay=0.1, delays=0/0/0/0.1, dsn=4.4.1, status=deferred \
                     (connect to x: status=sent )",
                    Ok(None),
                ),
                (
                    "Dec 03 20:01:42 mail postfix/smtp[31]: 4FqX1Z2abc: to=<x@far.test>, \
                     relay=far.test[1.2.3.4]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, \
                     status=sent (250 ok)",
                    Ok(None),
                ),
                (
                    "Dec 03 20:01:42 mail postfix/virtual[1]: 4FqX1Z2abc: to=<a\"},{\"b@x.test>\
                     \"}, relay=virtual, dsn=2.0.0, status=sent (x)",
                    Ok(Some(("received", "a\"},{\"b@x.test"))),
                ),
                (
                    "Dec 03 20:01:42 mail postfix/virtual[1]: 4FqX1Z2abc: to=<a b@x.test>, \
                     dsn=2.0.0, status=sent (x)",
                    Err(Reject::Value),
                ),
                (
                    "Dec 03 20:01:42 mail postfix/pickup[1]: 4FqX1Z2abc: uid=0 from=<a",
                    Err(Reject::Shape),
                ),
                ("Dec 33 20:01:42 mail postfix/pickup[1]: x", Err(Reject::Value)),
                ("Dec 03 20:01:42 mail postfix/pickup: 4FqX1Z2abc: uid=0", Err(Reject::Shape)),
                ("{\"mailbox\":\"bob@x.test\",\"sent\":1000}", Err(Reject::Shape)),
                ("Dec 03 20:01:42 mail postfix/pickup[1]: \u{1b}[2J", Err(Reject::Bytes)),
                ("Dec 03 20:01:42 mail dovecot[1]: imap-login: Info: x", Ok(None)),
                ("", Err(Reject::Shape)),
            ],
        );
    }

    #[test]
    fn dovecot_lines_count_as_the_table_says() {
        check(
            parse_dovecot,
            &[
                (
                    "Dec 03 20:01:42 lmtp(carol@x.test)<7405><Wc8gIXqKUmntHAAAXyz>: Info: \
                     msgid=<20261203200142.99D5799A4C1@mail.x.test>: saved mail to INBOX",
                    Ok(Some(("stored", "carol@x.test"))),
                ),
                (
                    "Dec 04 17:03:44 lmtp(info@x.test)<17084><FatcMHDyEmu8QgAAg+zDdQ>: Info: \
                     sieve: msgid=<20261204170344.017074@vm>: stored mail into mailbox 'Junk'",
                    Ok(Some(("stored", "info@x.test"))),
                ),
                (
                    "Dec 03 20:01:43 imap-login: Info: Login: user=<carol@x.test>, method=PLAIN, \
                     rip=127.0.0.1, lip=127.0.0.1, mpid=7410, session=<abc>",
                    Ok(Some(("logins", "carol@x.test"))),
                ),
                (
                    "Dec 03 20:01:44 imap(carol@x.test)<7410><abc>: Info: Disconnected: Logged \
                     out in=30 out=421 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 \
                     body_count=0 body_bytes=0",
                    Ok(None),
                ),
                (
                    "Dec 03 20:01:44 imap-login: Info: Disconnected (auth failed, 1 attempts in \
                     2 secs): user=<carol@x.test>, method=PLAIN, rip=127.0.0.1",
                    Ok(None),
                ),
                ("Dec 03 20:01:44 master: Info: Dovecot v2.3.19.1 starting up", Ok(None)),
                (
                    "Dec 03 20:01:44 lmtp(carol@x.test)<1><x>: Error: msgid=<a>: saved mail to \
                     INBOX",
                    Ok(None),
                ),
                ("Dec 03 20:01:44 imap-login: Info: Login: user=<a\u{7}b>", Err(Reject::Bytes)),
                ("Dec 03 20:01:44 imap-login: Notice: Login: user=<a@x.test>", Err(Reject::Shape)),
                ("Dec 03 20:01:44 {\"x\":1}: Info: Login: user=<a@x.test>", Err(Reject::Shape)),
                ("Dec 03 20:01:44 imap-login: Info: Login: user=<a@x.test", Err(Reject::Shape)),
            ],
        );
    }
}
