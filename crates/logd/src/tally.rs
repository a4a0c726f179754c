//! Day counts of DNS queries per zone, of mail per mailbox and of web server
//! errors per domain, from BIND's query log, the Postfix and Dovecot logs and
//! nginx's error log, in `dns/{zone}/`, `mail/{domain}/` and `errors/{domain}/`
//! (`{YYYY-MM-DD}.json`) under the panel's log folder.
//!
//! A [`Tally`] takes lines from one or more streams (mail has two: Postfix and
//! Dovecot, each its own file, follower and checkpoint). A day file records, per
//! stream, the position of the last line it counts (`applied_through`), the same
//! exactly-once mark the web day files keep (see [`crate::follow`]).
//!
//! Only hosted names count: a zone with a zone file (`var/named/{zone}.db`; the
//! longest such suffix of the query name), a mailbox whose domain has a claim.
//! Keys are a fixed query type list or a valid [`EmailAddress`], at most
//! [`MAX_KEYS`] a day per domain, so a log line can create neither a file nor an
//! unbounded map.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hs_config::{Layout, fsutil};
use hs_types::{DomainName, EmailAddress};
use serde::{Deserialize, Serialize};

use crate::agg::{Counters, day_name};
use crate::follow::Sink;
use crate::maillog::{self, MailEvent, Stamp};
use crate::parse::{Reject, days_from_civil};
use crate::{dnslog, errlog, parse};

/// Keys (query types, mailboxes) kept per domain and day; more fold into `other`.
pub const MAX_KEYS: usize = 1000;
const REFRESH: Duration = Duration::from_secs(3);
/// Clean days kept in memory after a flush.
const MAX_CLEAN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// BIND's query log; one stream, `named`.
    Dns,
    /// Postfix (stream 0, `postfix`) and Dovecot (stream 1, `dovecot`).
    Mail,
    /// nginx's error log; one stream, `nginx-error`.
    WebErrors,
}

impl Kind {
    pub fn streams(self) -> &'static [&'static str] {
        match self {
            Kind::Dns => &["named"],
            Kind::Mail => &["postfix", "dovecot"],
            Kind::WebErrors => &["nginx-error"],
        }
    }
}

/// Where a kind's day files live: `{logs}/{dns|mail|errors}/{domain}/`.
pub fn tally_dir(layout: &Layout, kind: Kind, domain: &DomainName) -> PathBuf {
    match kind {
        Kind::Dns => layout.dns_stats_dir(domain),
        Kind::Mail => layout.mail_stats_dir(domain),
        Kind::WebErrors => layout.web_errors_dir(domain),
    }
}

/// A day file. DNS: `by` query type, counter `queries`. Mail: `by` mailbox
/// address, counters `sent`, `received`, `stored`, `logins`. Web errors: `by`
/// level (`error`, `crit`, ...), counter `lines`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TallyDay {
    pub version: u32,
    pub domain: DomainName,
    pub day: String,
    /// Events counted this day.
    pub total: u64,
    /// 24 entries, hour 0 to 23 UTC.
    pub hours: Vec<u64>,
    pub by: BTreeMap<String, BTreeMap<String, u64>>,
    pub state: TallyState,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TallyState {
    /// Per stream, the position of the last line this file counts.
    pub applied_through: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct DayTally {
    file: TallyDay,
    dirty: bool,
}

pub struct Tally {
    kind: Kind,
    layout: Option<Layout>,
    /// Hosted names (zones or claimed domains), re-read every few seconds;
    /// `None` counts every valid name (tests, benchmarks).
    hosted: Option<(HashSet<String>, Option<Instant>)>,
    tz: jiff::tz::TimeZone,
    days: HashMap<(DomainName, i64), DayTally>,
    /// One per stream, in [`Kind::streams`] order.
    pub counters: Vec<Counters>,
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tally").field("kind", &self.kind).field("counters", &self.counters).finish()
    }
}

impl Tally {
    /// With a layout, counts hosted names only and writes day files there.
    pub fn new(kind: Kind, layout: Option<Layout>) -> Tally {
        let hosted = layout.as_ref().map(|_| (HashSet::new(), None));
        Tally {
            kind,
            layout,
            hosted,
            tz: jiff::tz::TimeZone::system(),
            days: HashMap::new(),
            counters: vec![Counters::default(); kind.streams().len()],
        }
    }

    /// Uses this time zone for the logs' local times (tests).
    pub fn with_time_zone(mut self, tz: jiff::tz::TimeZone) -> Tally {
        self.tz = tz;
        self
    }

    /// The [`Sink`] of one stream.
    pub fn stream(&mut self, stream: usize) -> TallyStream<'_> {
        TallyStream { tally: self, stream }
    }

    /// Re-reads the hosted names when they are older than a few seconds.
    pub fn refresh_hosted(&mut self) {
        let (Some((names, read_at)), Some(layout)) = (&mut self.hosted, &self.layout) else {
            return;
        };
        if read_at.is_some_and(|t| t.elapsed() < REFRESH) {
            return;
        }
        let (dir, suffix) = match self.kind {
            Kind::Dns => (layout.zone_files(), ".db"),
            Kind::Mail | Kind::WebErrors => (layout.domain_claims(), ""),
        };
        names.clear();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if let Some(name) = entry.file_name().to_str().and_then(|n| n.strip_suffix(suffix))
                {
                    names.insert(name.to_string());
                }
            }
        }
        *read_at = Some(Instant::now());
    }

    fn is_hosted(&self, name: &DomainName) -> bool {
        let (Some((names, _)), Some(layout)) = (&self.hosted, &self.layout) else { return true };
        // A name added since the last refresh is found by its file.
        names.contains(name.as_str())
            || match self.kind {
                Kind::Dns => layout.zone_file(name).exists(),
                Kind::Mail | Kind::WebErrors => layout.domain_claim(name).exists(),
            }
    }

    /// The hosted domain a `Host` names: itself, or the name behind `www.`.
    fn domain_of_host(&self, host: &[u8]) -> Option<DomainName> {
        let text = std::str::from_utf8(host).ok()?.trim_end_matches('.').to_ascii_lowercase();
        let name: DomainName = text.parse().ok()?;
        if self.is_hosted(&name) {
            return Some(name);
        }
        let bare: DomainName = text.strip_prefix("www.")?.parse().ok()?;
        self.is_hosted(&bare).then_some(bare)
    }

    /// The longest hosted suffix of a query name (`www.X.test.` → `x.test`).
    fn zone_of(&self, qname: &[u8]) -> Option<DomainName> {
        let text = std::str::from_utf8(qname).ok()?.trim_end_matches('.').to_ascii_lowercase();
        let mut rest = text.as_str();
        loop {
            if let Ok(name) = rest.parse::<DomainName>()
                && self.is_hosted(&name)
            {
                return Some(name);
            }
            rest = rest.split_once('.')?.1;
        }
    }

    /// UTC seconds of a local time given as seconds since the epoch.
    fn utc(&self, local: i64) -> i64 {
        let guess = jiff::Timestamp::from_second(local).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        local - i64::from(self.tz.to_offset(guess).seconds())
    }

    /// A year-less stamp: this year, or last year for a date more than a day ahead.
    fn mail_time(&self, stamp: Stamp) -> i64 {
        let now = jiff::Timestamp::now();
        let local_now = now.as_second() + i64::from(self.tz.to_offset(now).seconds());
        let (year, _, _) = parse::civil_from_days(local_now.div_euclid(86_400));
        let mut days = days_from_civil(year, stamp.month, stamp.day);
        if days > local_now.div_euclid(86_400) + 1 {
            days = days_from_civil(year - 1, stamp.month, stamp.day);
        }
        self.utc(days * 86_400 + stamp.secs)
    }

    fn apply(&mut self, stream: usize, line: &[u8], pos: u64) {
        let Some(counters) = self.counters.get_mut(stream) else { return };
        counters.lines += 1;
        let event = match (self.kind, stream) {
            (Kind::Dns, _) => dnslog::parse(line).map(|q| {
                let time = self.utc(q.local_time);
                Some((self.zone_of(q.name), dnslog::type_key(q.qtype).to_string(), "queries", time))
            }),
            (Kind::Mail, s) => {
                let parsed = if s == 0 {
                    maillog::parse_postfix(line)
                } else {
                    maillog::parse_dovecot(line)
                };
                parsed.and_then(|(stamp, event)| self.mail_event(stamp, event))
            }
            (Kind::WebErrors, _) => errlog::parse(line).map(|found| {
                found.map(|e| {
                    let time = self.utc(e.local_time);
                    (self.domain_of_host(e.host), e.level.to_string(), "lines", time)
                })
            }),
        };
        let counters = &mut self.counters[stream];
        let (domain, key, counter, time) = match event {
            Ok(Some((Some(domain), key, counter, time))) => (domain, key, counter, time),
            Ok(Some((None, ..))) => return counters.unhosted += 1,
            Ok(None) => return counters.ignored += 1,
            Err(Reject::Bytes) => return counters.rejected_bytes += 1,
            Err(Reject::Shape) => return counters.rejected_shape += 1,
            Err(Reject::Value) => return counters.rejected_value += 1,
        };
        counters.accepted += 1;
        let stream_name = self.kind.streams()[stream];
        let day = time.div_euclid(86_400);
        let hour = (time.rem_euclid(86_400) / 3600) as usize;
        let tally = self.day(&domain, day);
        let mark = tally.file.state.applied_through.entry(stream_name.to_string()).or_insert(0);
        if pos <= *mark {
            return; // already in the day file: a replay after a crash
        }
        *mark = pos;
        tally.dirty = true;
        let file = &mut tally.file;
        file.total += 1;
        if let Some(slot) = file.hours.get_mut(hour) {
            *slot += 1;
        }
        let key = if file.by.len() < MAX_KEYS || file.by.contains_key(&key) {
            key
        } else {
            "other".to_string()
        };
        *file.by.entry(key).or_default().entry(counter.to_string()).or_insert(0) += 1;
    }

    /// The event's hosted domain (`None`: not hosted), key, counter and UTC time.
    #[allow(clippy::type_complexity)]
    fn mail_event(
        &self,
        stamp: Stamp,
        event: Option<MailEvent<'_>>,
    ) -> Result<Option<(Option<DomainName>, String, &'static str, i64)>, Reject> {
        let Some(event) = event else { return Ok(None) };
        let text = std::str::from_utf8(event.address()).map_err(|_| Reject::Bytes)?;
        let address: EmailAddress = text.parse().map_err(|_| Reject::Value)?;
        let domain = address.domain().clone();
        let hosted = self.is_hosted(&domain).then_some(domain);
        Ok(Some((hosted, address.into_string(), event.counter(), self.mail_time(stamp))))
    }

    fn day(&mut self, domain: &DomainName, day: i64) -> &mut DayTally {
        let (layout, kind) = (&self.layout, self.kind);
        self.days.entry((domain.clone(), day)).or_insert_with(|| {
            let loaded = layout.as_ref().and_then(|l| read_tally(l, kind, domain, &day_name(day)));
            let file = loaded.unwrap_or_else(|| TallyDay {
                version: 1,
                domain: domain.clone(),
                day: day_name(day),
                total: 0,
                hours: vec![0; 24],
                by: BTreeMap::new(),
                state: TallyState::default(),
            });
            DayTally { file, dirty: false }
        })
    }

    pub fn is_dirty(&self) -> bool {
        self.days.values().any(|d| d.dirty)
    }

    /// Writes every changed day file, then forgets old clean days.
    pub fn flush(&mut self) -> std::io::Result<usize> {
        let Some(layout) = self.layout.clone() else { return Ok(0) };
        let mut written = 0;
        for ((domain, _), tally) in self.days.iter_mut().filter(|(_, t)| t.dirty) {
            let text = serde_json::to_vec_pretty(&tally.file).map_err(std::io::Error::other)?;
            let path =
                tally_dir(&layout, self.kind, domain).join(format!("{}.json", tally.file.day));
            fsutil::write_atomic(&path, &text, 0o644)?;
            tally.dirty = false;
            written += 1;
        }
        let today = jiff::Timestamp::now().as_second().div_euclid(86_400);
        self.days.retain(|(_, day), t| t.dirty || *day >= today - 1);
        if self.days.len() > MAX_CLEAN {
            self.days.retain(|_, t| t.dirty);
        }
        Ok(written)
    }

    /// In-memory day counts (tests).
    pub fn days(&self) -> Vec<&TallyDay> {
        self.days.values().map(|t| &t.file).collect()
    }
}

/// One stream of a [`Tally`], as a follower's [`Sink`].
pub struct TallyStream<'a> {
    tally: &'a mut Tally,
    stream: usize,
}

impl Sink for TallyStream<'_> {
    fn apply(&mut self, line: &[u8], pos: u64) {
        self.tally.apply(self.stream, line, pos);
    }

    fn counters(&mut self) -> &mut Counters {
        let i = self.stream.min(self.tally.counters.len().saturating_sub(1));
        &mut self.tally.counters[i]
    }
}

/// A day file, or `None` when missing or unreadable (a damaged file starts over).
pub fn read_tally(layout: &Layout, kind: Kind, domain: &DomainName, day: &str) -> Option<TallyDay> {
    let path = tally_dir(layout, kind, domain).join(format!("{day}.json"));
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice::<TallyDay>(&bytes) {
        Ok(f) if f.version == 1 && &f.domain == domain && f.day == day && f.hours.len() == 24 => {
            Some(f)
        }
        Ok(_) | Err(_) => {
            tracing::warn!(domain = domain.as_str(), day, "unreadable tally file, starting over");
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn count(t: &Tally, domain: &str, key: &str, counter: &str) -> u64 {
        t.days()
            .iter()
            .filter(|d| d.domain.as_str() == domain)
            .filter_map(|d| d.by.get(key)?.get(counter))
            .sum()
    }

    #[test]
    fn mail_is_counted_per_mailbox_once_and_hostile_addresses_are_rejected() {
        let mut t = Tally::new(Kind::Mail, None).with_time_zone(jiff::tz::TimeZone::UTC);
        let pf = [
            "Dec 03 20:01:42 mail postfix/pickup[1]: 99D5799A4C1: uid=0 from=<Bob@x.test>",
            "Dec 03 20:01:42 mail postfix/virtual[2]: 99D5799A4C1: to=<carol@x.test>, \
             relay=virtual, delay=0.07, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered)",
            "Dec 03 20:01:42 mail postfix/virtual[2]: 99D5799A4C1: to=<a\"},{\"b@x.test>, \
             relay=virtual, dsn=2.0.0, status=sent (x)",
            "Dec 03 20:01:42 mail postfix/qmgr[3]: 99D5799A4C1: removed",
        ];
        for (i, line) in pf.iter().enumerate() {
            t.stream(0).apply(line.as_bytes(), (i as u64 + 1) * 100);
        }
        // A replay of the first line below its mark is not counted again.
        t.stream(0).apply(pf[0].as_bytes(), 100);
        t.stream(1).apply(
            b"Dec 03 20:01:42 lmtp(carol@x.test)<1><s>: Info: msgid=<a>: saved mail to INBOX",
            50,
        );
        assert_eq!(count(&t, "x.test", "bob@x.test", "sent"), 1);
        assert_eq!(count(&t, "x.test", "carol@x.test", "received"), 1);
        assert_eq!(count(&t, "x.test", "carol@x.test", "stored"), 1);
        assert_eq!(t.counters[0].rejected_value, 1);
        assert_eq!(t.counters[0].ignored, 1);
        assert_eq!(t.counters[0].accepted, 3);
        let day = t.days()[0];
        assert_eq!(day.state.applied_through["dovecot"], 50);
    }

    #[test]
    fn dns_queries_count_for_the_zone_by_type() {
        let mut t = Tally::new(Kind::Dns, None).with_time_zone(jiff::tz::TimeZone::UTC);
        let line = |name: &str, qtype: &str| {
            format!(
                "03-Dec-2026 20:01:31.933 client @0x7e 127.0.0.1#3 ({name}): query: {name} IN \
                 {qtype} +E(0)K (127.0.0.1)"
            )
        };
        t.stream(0).apply(line("www.X.test", "A").as_bytes(), 1);
        t.stream(0).apply(line("x.test", "MX").as_bytes(), 2);
        t.stream(0).apply(line("x.test", "TYPE999").as_bytes(), 3);
        t.stream(0).apply(line("..", "A").as_bytes(), 4);
        // Without a layout every valid name counts, so the zone is the name itself.
        assert_eq!(count(&t, "www.x.test", "A", "queries"), 1);
        assert_eq!(count(&t, "x.test", "MX", "queries"), 1);
        assert_eq!(count(&t, "x.test", "other", "queries"), 1);
        assert_eq!(t.counters[0].unhosted, 1);
        let day = t.days().into_iter().find(|d| d.domain.as_str() == "x.test").unwrap();
        assert_eq!(day.day, "2026-12-03");
        assert_eq!(day.hours[20], 2);
    }
}
