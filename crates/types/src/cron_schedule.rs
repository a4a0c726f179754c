//! [`CronSchedule`]: when a cron job runs, as five crontab time fields
//! (`*/5 * * * *`) or a macro (`@daily`), parsed field by field the way
//! Debian's cron reads them, plus the times the job will next run.
//!
//! The schedule is the first part of a crontab line, so it must be exactly
//! five fields (or one macro) and nothing else: anything cron would read as
//! the start of the command, such as a sixth field, is refused here.

use jiff::civil::{Date, DateTime, Time};

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "cron schedule";

/// Longest accepted schedule, in bytes.
pub const MAX_LEN: usize = 128;

/// How far ahead [`CronSchedule::next_runs`] looks: 30 years, long enough
/// for a 29 February that must also be a Monday.
const SEARCH_DAYS: u32 = 366 * 30;

/// The macros Debian's cron knows, and the fields each stands for.
const MACROS: &[(&str, &str)] = &[
    ("@reboot", ""),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

const MONTHS: &[&str] =
    &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One of the five fields: its name in messages, its range, its names.
struct Spec {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, ... (months and weekdays).
    names: &'static [&'static str],
}

const SPECS: [Spec; 5] = [
    Spec { name: "minute", min: 0, max: 59, names: &[] },
    Spec { name: "hour", min: 0, max: 23, names: &[] },
    Spec { name: "day of month", min: 1, max: 31, names: &[] },
    Spec { name: "month", min: 1, max: 12, names: MONTHS },
    // 0 and 7 are both Sunday.
    Spec { name: "day of week", min: 0, max: 7, names: WEEKDAYS },
];

/// The parsed time fields: one bit per allowed value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Fields {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    /// Bits 0-6, Sunday first (a 7 is folded into 0).
    weekdays: u64,
    /// cron's rule: when both day fields are restricted (neither starts with
    /// `*`), a day matches if *either* matches; otherwise both must.
    either_day: bool,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum When {
    /// `@reboot`: once when cron starts, never on the clock.
    Reboot,
    Clock(Fields),
}

/// A cron schedule: five fields (minute, hour, day of month, month, day of
/// week) or one of `@reboot @yearly @annually @monthly @weekly @daily
/// @midnight @hourly`.
///
/// Each field is a comma-separated list of `*`, a number, a range `a-b`,
/// either of the last two followed by a step `/n`, and for months and
/// weekdays also the English three-letter names (`jan`, `mon`). Values out
/// of range, backwards ranges, a step of 0, a step after a single number,
/// fewer or more than five fields, and a date that never exists (`0 0 30 2
/// *`) are refused.
///
/// Stored normalized: lowercase, the fields separated by single spaces.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CronSchedule {
    text: String,
    when: When,
}

impl CronSchedule {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        if input.len() > MAX_LEN {
            return Err(err(format!("must be at most {MAX_LEN} characters long")));
        }
        if let Some(bad) = input
            .chars()
            .find(|&c| !(c == ' ' || c == '\t' || c.is_ascii_alphanumeric() || "*,-/@".contains(c)))
        {
            return Err(err(format!(
                "contains {}; only digits, names, spaces and * , - / @ are allowed",
                describe_char(bad)
            )));
        }
        let lower = input.to_ascii_lowercase();
        let words: Vec<&str> = lower.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            return Err(err("must not be empty".to_owned()));
        }

        if let Some(first) = words.first().filter(|w| w.starts_with('@')) {
            let Some((name, fields)) = MACROS.iter().find(|(name, _)| name == first) else {
                return Err(err(
                    "unknown macro; use @reboot, @yearly, @annually, @monthly, @weekly, \
                     @daily, @midnight or @hourly"
                        .to_owned(),
                ));
            };
            if words.len() > 1 {
                return Err(err(format!("{name} must stand alone, without time fields")));
            }
            let when = if fields.is_empty() {
                When::Reboot
            } else {
                let words: Vec<&str> = fields.split(' ').collect();
                When::Clock(parse_fields(&words).map_err(err)?)
            };
            return Ok(Self { text: (*name).to_owned(), when });
        }

        if words.len() != 5 {
            return Err(err(format!(
                "has {} fields; a schedule has 5 (minute hour day-of-month month day-of-week) \
                 or is a macro such as @daily",
                words.len()
            )));
        }
        let fields = parse_fields(&words).map_err(err)?;
        Ok(Self { text: words.join(" "), when: When::Clock(fields) })
    }

    /// The schedule, e.g. `"*/5 * * * *"` or `"@daily"`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The schedule as an owned `String`.
    pub fn into_string(self) -> String {
        self.text
    }

    /// Whether this is `@reboot`, which runs when cron starts, not by the clock.
    pub fn at_reboot(&self) -> bool {
        self.when == When::Reboot
    }

    /// Up to `count` wall-clock times after `after` (exclusive, to the
    /// minute) at which cron starts the job; empty for `@reboot`.
    pub fn next_runs(&self, after: DateTime, count: usize) -> Vec<DateTime> {
        let When::Clock(fields) = &self.when else { return Vec::new() };
        let mut runs = Vec::new();
        let Ok(start) = after.with().second(0).subsec_nanosecond(0).build() else {
            return runs;
        };
        let Ok(start) = start.checked_add(jiff::SignedDuration::from_mins(1)) else {
            return runs;
        };

        let mut date = start.date();
        for day in 0..SEARCH_DAYS {
            if fields.day_matches(date) {
                let first = day == 0;
                for hour in bits(fields.hours).filter(|h| !first || *h >= start.hour()) {
                    let from = if first && hour == start.hour() { start.minute() } else { 0 };
                    for minute in bits(fields.minutes).filter(|m| *m >= from) {
                        if let Ok(time) = Time::new(hour, minute, 0, 0) {
                            runs.push(date.to_datetime(time));
                        }
                        if runs.len() >= count {
                            return runs;
                        }
                    }
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        runs
    }
}

impl Fields {
    fn day_matches(&self, date: Date) -> bool {
        if !has(self.months, date.month()) {
            return false;
        }
        let day = has(self.days, date.day());
        let weekday = has(self.weekdays, date.weekday().to_sunday_zero_offset());
        if self.either_day { day || weekday } else { day && weekday }
    }
}

fn has(set: u64, value: i8) -> bool {
    (0..64).contains(&value) && set & (1u64 << value) != 0
}

/// The values of a bit set, ascending, as `i8` (all fields fit).
fn bits(set: u64) -> impl Iterator<Item = i8> {
    (0i8..64).filter(move |b| set & (1u64 << b) != 0)
}

fn parse_fields(words: &[&str]) -> Result<Fields, String> {
    let mut sets = [0u64; 5];
    for ((set, word), spec) in sets.iter_mut().zip(words).zip(&SPECS) {
        *set = parse_field(word, spec)?;
    }
    let [minutes, hours, days, months, mut weekdays] = sets;
    if weekdays & (1 << 7) != 0 {
        weekdays = (weekdays & !(1 << 7)) | 1;
    }
    let either_day = !words[2].starts_with('*') && !words[4].starts_with('*');
    let fields = Fields { minutes, hours, days, months, weekdays, either_day };

    // With the day-of-month deciding alone (or together with the weekday),
    // some month of the set must have one of the days.
    if !either_day {
        let longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let exists = (1u32..=12)
            .filter(|m| months & (1 << m) != 0)
            .any(|m| (1..=longest[(m - 1) as usize]).any(|d: u32| days & (1 << d) != 0));
        if !exists {
            return Err("never runs: no month of the schedule has such a day".to_owned());
        }
    }
    Ok(fields)
}

/// One field: a comma-separated list of items, as a bit set.
fn parse_field(word: &str, spec: &Spec) -> Result<u64, String> {
    let mut set = 0u64;
    for item in word.split(',') {
        if item.is_empty() {
            return Err(format!("the {} field has an empty list item", spec.name));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(parse_step(step, spec)?)),
            None => (item, None),
        };
        let (low, high) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (low, high) = (parse_value(a, spec)?, parse_value(b, spec)?);
            if low > high {
                return Err(format!("the {} range {low}-{high} runs backwards", spec.name));
            }
            (low, high)
        } else {
            if step.is_some() {
                return Err(format!(
                    "a step in the {} field must follow a range or *, as in */{}",
                    spec.name,
                    step.unwrap_or(1)
                ));
            }
            let value = parse_value(range, spec)?;
            (value, value)
        };
        let mut value = low;
        while value <= high {
            set |= 1u64 << value;
            value += step.unwrap_or(1);
        }
    }
    Ok(set)
}

fn parse_step(text: &str, spec: &Spec) -> Result<u32, String> {
    let bad =
        || format!("the step in the {} field must be a number from 1 to {}", spec.name, spec.max);
    if text.is_empty() || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match text.parse::<u32>() {
        Ok(step) if (1..=spec.max.max(1)).contains(&step) => Ok(step),
        _ => Err(bad()),
    }
}

/// A number in the field's range, or (for months and weekdays) a name.
fn parse_value(text: &str, spec: &Spec) -> Result<u32, String> {
    if let Some(index) = spec.names.iter().position(|n| *n == text) {
        return Ok(spec.min + index as u32);
    }
    let out_of_range = || {
        format!("the {} must be from {} to {}", spec.name, spec.min, spec.max)
            + if spec.names.is_empty() { "" } else { " or a three-letter English name" }
    };
    if text.is_empty() || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
            return Err(format!("{}, not {text}", out_of_range()));
        }
        return Err(format!("{} (found a value it cannot read)", out_of_range()));
    }
    match text.parse::<u32>() {
        Ok(value) if (spec.min..=spec.max).contains(&value) => Ok(value),
        _ => Err(format!("{}, not {text}", out_of_range())),
    }
}

string_value_impls!(CronSchedule);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<CronSchedule>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("*/5 * * * *", Ok("*/5 * * * *"));
        check("  0   3 * *  1-5 ", Ok("0 3 * * 1-5"));
        check("0\t3 * * *", Ok("0 3 * * *"));
        check("0,15,30,45 8-18/2 1,15 * *", Ok("0,15,30,45 8-18/2 1,15 * *"));
        check("30 4 * JAN-Mar mon-FRI", Ok("30 4 * jan-mar mon-fri"));
        check("0 0 * * 7", Ok("0 0 * * 7"));
        check("0 0 * * 5-7", Ok("0 0 * * 5-7"));
        check("59 23 31 12 6", Ok("59 23 31 12 6"));
        check("0 0 29 2 *", Ok("0 0 29 2 *"));
        check("0 0 30 2 1", Ok("0 0 30 2 1"));
        check("@daily", Ok("@daily"));
        check("@REBOOT", Ok("@reboot"));
        for m in ["@yearly", "@annually", "@monthly", "@weekly", "@midnight", "@hourly"] {
            check(m, Ok(m));
        }

        check("61 * * * *", Err("minute must be from 0 to 59, not 61"));
        check("* 24 * * *", Err("hour must be from 0 to 23, not 24"));
        check("* * 0 * *", Err("day of month must be from 1 to 31, not 0"));
        check("* * 32 * *", Err("day of month must be from 1 to 31"));
        check("* * * 13 *", Err("month must be from 1 to 12"));
        check("* * * * 8", Err("day of week must be from 0 to 7"));
        check("* * * * * *", Err("has 6 fields"));
        check("* * * *", Err("has 4 fields"));
        check("* * * * * root rm -rf /", Err("has 9 fields"));
        check("", Err("must not be empty"));
        check("   ", Err("must not be empty"));
        check("*/0 * * * *", Err("step in the minute field"));
        check("*/60 * * * *", Err("step in the minute field"));
        check("5/10 * * * *", Err("must follow a range or *"));
        check("10-5 * * * *", Err("runs backwards"));
        check("0 0 * * sat-sun", Err("runs backwards"));
        check("1,,2 * * * *", Err("empty list item"));
        check("a * * * *", Err("cannot read"));
        check("* * * foo *", Err("three-letter English name"));
        check("* * * * monday", Err("cannot read"));
        check("* * * mon *", Err("cannot read"));
        check("-1 * * * *", Err("cannot read"));
        check("007 * * * *", Err("not 007"));
        check("0 0 30 2 *", Err("never runs"));
        check("0 0 31 4,6 *", Err("never runs"));
        check("@every", Err("unknown macro"));
        check("@daily 5", Err("must stand alone"));
        check("* * * * *\n* * * * * root id", Err("contains a line break"));
        check("* * * * *;id", Err("contains ';'"));
        check("$(id) * * * *", Err("contains '$'"));
        check(&"1,".repeat(70), Err("at most 128 characters"));
    }

    fn at(text: &str) -> DateTime {
        text.parse().unwrap()
    }

    fn runs(schedule: &str, after: &str, count: usize) -> Vec<String> {
        let s: CronSchedule = schedule.parse().unwrap();
        s.next_runs(at(after), count).iter().map(|t| t.strftime("%F %R %a").to_string()).collect()
    }

    #[test]
    fn next_runs_table() {
        assert_eq!(
            runs("*/5 * * * *", "2026-12-03T17:38:44", 3),
            ["2026-12-03 17:40 Thu", "2026-12-03 17:45 Thu", "2026-12-03 17:50 Thu"]
        );
        // Exactly on a run time: the next one, not this one.
        assert_eq!(runs("*/5 * * * *", "2026-12-03T17:40:00", 1), ["2026-12-03 17:45 Thu"]);
        assert_eq!(
            runs("@daily", "2026-12-31T23:59:30", 2),
            ["2027-01-01 00:00 Fri", "2027-01-02 00:00 Sat"]
        );
        assert_eq!(
            runs("0 0 29 2 *", "2026-03-01T00:00:00", 2),
            ["2028-02-29 00:00 Tue", "2032-02-29 00:00 Sun"]
        );
        // Both day fields restricted: either one matches (1st of the month, or Mondays).
        assert_eq!(
            runs("0 12 1 * mon", "2026-12-01T13:00:00", 3),
            ["2026-12-07 12:00 Mon", "2026-12-14 12:00 Mon", "2026-12-21 12:00 Mon"]
        );
        // Day of month starting with '*': both must match.
        assert_eq!(runs("0 12 */10 * 1", "2026-12-01T00:00:00", 1), ["2026-12-21 12:00 Mon"]);
        // Sunday as 7.
        assert_eq!(runs("30 6 * * 7", "2026-12-03T00:00:00", 1), ["2026-12-06 06:30 Sun"]);
        assert_eq!(runs("0 0 * * sat,sun", "2026-12-03T00:00:00", 2).len(), 2);
        assert!(runs("@reboot", "2026-12-03T00:00:00", 3).is_empty());
        assert!("@reboot".parse::<CronSchedule>().unwrap().at_reboot());
    }

    #[test]
    fn serde() {
        let s: CronSchedule = serde_json::from_str("\"*/5 * * * *\"").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"*/5 * * * *\"");
        assert!(serde_json::from_str::<CronSchedule>("\"61 * * * *\"").is_err());
    }
}
