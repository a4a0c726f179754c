//! Per-domain aggregates by day and hour, kept in memory while lines arrive and
//! written to `web/{domain}/{YYYY-MM-DD}.json` under the panel's log folder.
//!
//! Every day file records `applied_through`: the stream position (see
//! [`crate::follow`]) of the last line it counts. A line is applied to a day only
//! if its position is past that mark, so replaying lines after a crash (from a
//! checkpoint older than the day files) never counts one twice.
//!
//! Only hosted names are counted: the `Host` header is the client's to choose, and
//! a name without a claim (`var/hspanel/domains/{name}`) would otherwise create
//! files at will. `www.{domain}` counts for `{domain}`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hs_config::{Layout, fsutil};
use hs_types::DomainName;
use serde::{Deserialize, Serialize};

use crate::parse::{self, Reject};
use crate::sketch::{Distinct, Entry, TopK, hash64};

/// Keys kept per top list (pages, referrers, user agents).
pub const TOP_CAPACITY: usize = 50;
/// Longest page, referrer or user agent kept as a key; longer ones are cut.
pub const MAX_KEY: usize = 256;
/// Distinct status codes kept per day (there are at most 900 anyway).
const MAX_STATUSES: usize = 100;
/// Host names remembered (hosted or not) before the cache is cleared.
const MAX_HOST_CACHE: usize = 100_000;
/// Clean day aggregates kept in memory after a flush.
const MAX_CLEAN: usize = 4096;
const HOSTS_REFRESH: Duration = Duration::from_secs(3);

/// Which host names count.
#[derive(Debug)]
pub enum Hosts {
    /// Every valid domain name (benchmarks, tests).
    Any,
    /// Names claimed in the panel's state, re-read every few seconds.
    Claimed { names: HashSet<String>, read_at: Option<Instant> },
}

/// Line counters; persisted with the checkpoint so they are exact across restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    pub lines: u64,
    pub accepted: u64,
    /// Lines for names this server does not host.
    pub unhosted: u64,
    pub rejected_bytes: u64,
    pub rejected_shape: u64,
    pub rejected_value: u64,
    /// Well-formed lines that count for nothing (mail logs' other lines).
    #[serde(default)]
    pub ignored: u64,
}

impl Counters {
    pub fn rejected(&self) -> u64 {
        self.rejected_bytes + self.rejected_shape + self.rejected_value
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourStats {
    pub hits: u64,
    pub bytes: u64,
    pub visitors: u64,
}

/// The day file: the public statistics and, under `state`, what hs-logd needs to
/// continue counting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayFile {
    pub version: u32,
    pub domain: DomainName,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub hits: u64,
    pub bytes: u64,
    /// Distinct client addresses (exact up to 256, then a HyperLogLog estimate).
    pub visitors: u64,
    /// 24 entries, hour 0 to 23 UTC.
    pub hours: Vec<HourStats>,
    pub status: BTreeMap<String, u64>,
    pub pages: Vec<Entry>,
    pub referrers: Vec<Entry>,
    pub agents: Vec<Entry>,
    pub state: DayState,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayState {
    pub applied_through: u64,
    pub visitors: Distinct,
    pub hour_visitors: Vec<Distinct>,
}

#[derive(Debug)]
struct DayAgg {
    hits: u64,
    bytes: u64,
    hours: [(u64, u64); 24],
    visitors: Distinct,
    hour_visitors: Vec<Distinct>,
    status: BTreeMap<u16, u64>,
    pages: TopK,
    referrers: TopK,
    agents: TopK,
    applied_through: u64,
    dirty: bool,
}

impl DayAgg {
    fn new() -> DayAgg {
        DayAgg {
            hits: 0,
            bytes: 0,
            hours: [(0, 0); 24],
            visitors: Distinct::default(),
            hour_visitors: vec![Distinct::default(); 24],
            status: BTreeMap::new(),
            pages: TopK::new(TOP_CAPACITY),
            referrers: TopK::new(TOP_CAPACITY),
            agents: TopK::new(TOP_CAPACITY),
            applied_through: 0,
            dirty: false,
        }
    }

    fn from_file(f: DayFile) -> DayAgg {
        let mut agg = DayAgg::new();
        agg.hits = f.hits;
        agg.bytes = f.bytes;
        for (slot, h) in agg.hours.iter_mut().zip(&f.hours) {
            *slot = (h.hits, h.bytes);
        }
        agg.visitors = f.state.visitors.sanitized();
        for (slot, d) in agg.hour_visitors.iter_mut().zip(f.state.hour_visitors) {
            *slot = d.sanitized();
        }
        agg.status = f
            .status
            .iter()
            .filter_map(|(k, v)| k.parse::<u16>().ok().map(|k| (k, *v)))
            .take(MAX_STATUSES)
            .collect();
        agg.pages = TopK::from_entries(TOP_CAPACITY, f.pages);
        agg.referrers = TopK::from_entries(TOP_CAPACITY, f.referrers);
        agg.agents = TopK::from_entries(TOP_CAPACITY, f.agents);
        agg.applied_through = f.state.applied_through;
        agg
    }

    fn to_file(&self, domain: &DomainName, day: i64) -> DayFile {
        let hours = self
            .hours
            .iter()
            .zip(&self.hour_visitors)
            .map(|((hits, bytes), v)| HourStats { hits: *hits, bytes: *bytes, visitors: v.count() })
            .collect();
        DayFile {
            version: 1,
            domain: domain.clone(),
            day: day_name(day),
            hits: self.hits,
            bytes: self.bytes,
            visitors: self.visitors.count(),
            hours,
            status: self.status.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            pages: self.pages.entries(),
            referrers: self.referrers.entries(),
            agents: self.agents.entries(),
            state: DayState {
                applied_through: self.applied_through,
                visitors: self.visitors.clone(),
                hour_visitors: self.hour_visitors.clone(),
            },
        }
    }
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub fn day_name(day: i64) -> String {
    let (y, m, d) = parse::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Where a domain's day file lives.
pub fn day_path(layout: &Layout, domain: &DomainName, day: &str) -> PathBuf {
    layout.web_stats_dir(domain).join(format!("{day}.json"))
}

pub struct Aggregator {
    hosts: Hosts,
    /// Where day files are read and written; `None` keeps everything in memory.
    layout: Option<Layout>,
    /// Raw host bytes to the domain's index in `names`, `None` when not hosted.
    host_cache: HashMap<Vec<u8>, Option<usize>>,
    names: Vec<DomainName>,
    name_index: HashMap<DomainName, usize>,
    days: HashMap<(usize, i64), DayAgg>,
    pub counters: Counters,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aggregator").field("counters", &self.counters).finish()
    }
}

impl Aggregator {
    pub fn new(hosts: Hosts, layout: Option<Layout>) -> Aggregator {
        Aggregator {
            hosts,
            layout,
            host_cache: HashMap::new(),
            names: Vec::new(),
            name_index: HashMap::new(),
            days: HashMap::new(),
            counters: Counters::default(),
        }
    }

    fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    /// Re-reads the claimed names when they are older than a few seconds.
    pub fn refresh_hosts(&mut self) {
        let (Hosts::Claimed { names, read_at }, Some(layout)) = (&mut self.hosts, &self.layout)
        else {
            return;
        };
        if read_at.is_some_and(|t| t.elapsed() < HOSTS_REFRESH) {
            return;
        }
        let mut fresh = HashSet::new();
        if let Ok(entries) = std::fs::read_dir(layout.domain_claims()) {
            for entry in entries.flatten() {
                if let Some(name) = entry.file_name().to_str() {
                    fresh.insert(name.to_string());
                }
            }
        }
        *read_at = Some(Instant::now());
        if fresh != *names {
            *names = fresh;
            self.host_cache.clear();
        }
    }

    fn resolve(&mut self, host: &[u8]) -> Option<usize> {
        if let Some(found) = self.host_cache.get(host) {
            return *found;
        }
        let found = self.lookup(host);
        if self.host_cache.len() >= MAX_HOST_CACHE {
            self.host_cache.clear();
        }
        self.host_cache.insert(host.to_vec(), found);
        found
    }

    fn lookup(&mut self, host: &[u8]) -> Option<usize> {
        let text = std::str::from_utf8(host).ok()?;
        let name: DomainName = text.parse().ok()?;
        let name = match &self.hosts {
            Hosts::Any => match name.as_str().strip_prefix("www.").map(str::parse) {
                Some(Ok(bare)) => bare,
                _ => name,
            },
            Hosts::Claimed { names, .. } => {
                // A name claimed since the last refresh is found by its claim file.
                let layout = self.layout.as_ref()?;
                let hosted =
                    |n: &DomainName| names.contains(n.as_str()) || layout.domain_claim(n).exists();
                if hosted(&name) {
                    name
                } else {
                    let bare: DomainName = name.as_str().strip_prefix("www.")?.parse().ok()?;
                    if !hosted(&bare) {
                        return None;
                    }
                    bare
                }
            }
        };
        if let Some(i) = self.name_index.get(&name) {
            return Some(*i);
        }
        self.names.push(name.clone());
        self.name_index.insert(name, self.names.len() - 1);
        Some(self.names.len() - 1)
    }

    /// Counts one line that ends at stream position `pos`.
    pub fn apply(&mut self, line: &[u8], pos: u64) {
        self.counters.lines += 1;
        let record = match parse::parse(line) {
            Ok(r) => r,
            Err(Reject::Bytes) => return self.counters.rejected_bytes += 1,
            Err(Reject::Shape) => return self.counters.rejected_shape += 1,
            Err(Reject::Value) => return self.counters.rejected_value += 1,
        };
        let Some(domain) = self.resolve(record.host) else {
            return self.counters.unhosted += 1;
        };
        self.counters.accepted += 1;

        let day = record.time.div_euclid(86_400);
        let hour = (record.time.rem_euclid(86_400) / 3600) as usize;
        let agg = self.day(domain, day);
        if pos <= agg.applied_through {
            return; // already in the day file: a replay after a crash
        }
        agg.applied_through = pos;
        agg.dirty = true;
        agg.hits += 1;
        agg.bytes = agg.bytes.saturating_add(record.bytes);
        if let Some(slot) = agg.hours.get_mut(hour) {
            slot.0 += 1;
            slot.1 = slot.1.saturating_add(record.bytes);
        }
        let visitor = hash64(record.addr);
        agg.visitors.insert(visitor);
        if let Some(v) = agg.hour_visitors.get_mut(hour) {
            v.insert(visitor);
        }
        if agg.status.len() < MAX_STATUSES || agg.status.contains_key(&record.status) {
            *agg.status.entry(record.status).or_insert(0) += 1;
        }
        if let Some(path) = record.path {
            agg.pages.add(cut(path), 1);
        }
        if let Some(referrer) = record.referrer {
            agg.referrers.add(cut(referrer), 1);
        }
        agg.agents.add(cut(record.agent), 1);
    }

    fn day(&mut self, domain: usize, day: i64) -> &mut DayAgg {
        let (layout, names) = (&self.layout, &self.names);
        self.days.entry((domain, day)).or_insert_with(|| {
            let loaded = layout.as_ref().and_then(|l| read_day(l, &names[domain], &day_name(day)));
            loaded.map(DayAgg::from_file).unwrap_or_else(DayAgg::new)
        })
    }

    pub fn is_dirty(&self) -> bool {
        self.days.values().any(|d| d.dirty)
    }

    /// Writes every changed day file, then forgets old clean days to bound memory.
    pub fn flush(&mut self) -> std::io::Result<usize> {
        let Some(layout) = self.layout().cloned() else { return Ok(0) };
        let mut written = 0;
        for ((domain, day), agg) in self.days.iter_mut().filter(|(_, a)| a.dirty) {
            let name = &self.names[*domain];
            let file = agg.to_file(name, *day);
            let text = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
            fsutil::write_atomic(&day_path(&layout, name, &file.day), &text, 0o644)?;
            agg.dirty = false;
            written += 1;
        }
        let today = jiff::Timestamp::now().as_second().div_euclid(86_400);
        self.days.retain(|(_, day), agg| agg.dirty || *day >= today - 1);
        if self.days.len() > MAX_CLEAN {
            self.days.retain(|_, agg| agg.dirty);
        }
        Ok(written)
    }

    /// In-memory totals per domain (benchmarks and tests).
    pub fn totals(&self) -> BTreeMap<String, (u64, u64)> {
        let mut out = BTreeMap::new();
        for ((domain, _), agg) in &self.days {
            let e = out.entry(self.names[*domain].as_str().to_string()).or_insert((0, 0));
            e.0 += agg.hits;
            e.1 += agg.bytes;
        }
        out
    }
}

fn cut(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(MAX_KEY)]
}

/// A day file, or `None` when missing or unreadable (a damaged file starts over).
pub fn read_day(layout: &Layout, domain: &DomainName, day: &str) -> Option<DayFile> {
    let bytes = std::fs::read(day_path(layout, domain, day)).ok()?;
    match serde_json::from_slice::<DayFile>(&bytes) {
        Ok(f) if f.version == 1 && &f.domain == domain && f.day == day => Some(f),
        Ok(_) | Err(_) => {
            tracing::warn!(domain = domain.as_str(), day, "unreadable day file, starting over");
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(host: &str, bytes: u64) -> String {
        format!(
            "{host} 10.0.0.1 - - [03/Dec/2026:17:43:10 +0000] \
             \"GET /x HTTP/1.1\" 200 {bytes} \"-\" \"t\""
        )
    }

    #[test]
    fn lines_replayed_below_the_mark_are_not_counted_twice() {
        let mut agg = Aggregator::new(Hosts::Any, None);
        agg.apply(line("a.test", 10).as_bytes(), 100);
        agg.apply(line("a.test", 5).as_bytes(), 200);
        agg.apply(line("a.test", 5).as_bytes(), 150); // a replayed line
        agg.apply(b"garbage \"}{", 250);
        assert_eq!(agg.totals()["a.test"], (2, 15));
        assert_eq!(agg.counters.rejected(), 1);
    }

    #[test]
    fn a_hostile_host_is_never_a_key() {
        let mut agg = Aggregator::new(Hosts::Any, None);
        agg.apply(line("../../etc", 1).as_bytes(), 1);
        agg.apply(line("a.test\"},{\"x", 1).as_bytes(), 2);
        assert!(agg.totals().is_empty());
        assert_eq!(agg.counters.accepted, 0);
    }
}
