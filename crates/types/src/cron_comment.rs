//! [`CronComment`]: a note on a cron job, written as a `#` line above it.

use crate::cron_command::check_one_line;
use crate::error::{InvalidValue, string_value_impls};

const WHAT: &str = "cron comment";

/// Longest accepted comment, in characters.
pub const MAX_LEN: usize = 200;

/// A job's comment: 1 to 200 characters of printable text on one line (the
/// rules of [`crate::CronCommand`]), leading and trailing spaces dropped.
/// One line is what keeps it a comment: the crontab renderer writes it after
/// `# `, and a line break would start an entry or an environment line.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CronComment(String);

impl CronComment {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        if input.chars().count() > MAX_LEN {
            return Err(err(format!("must be at most {MAX_LEN} characters long")));
        }
        check_one_line(input).map_err(err)?;
        let trimmed = input.trim_matches(' ');
        if trimmed.is_empty() {
            return Err(err("must not be empty".to_owned()));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The comment, e.g. `"nightly cleanup"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The comment as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(CronComment);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<CronComment>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("nightly cleanup", Ok("nightly cleanup"));
        check(" Backup #2 (100%) ", Ok("Backup #2 (100%)"));
        check("Größe prüfen", Ok("Größe prüfen"));
        check(&"c".repeat(200), Ok(&"c".repeat(200)));
        check(&"c".repeat(201), Err("at most 200 characters"));
        check("", Err("must not be empty"));
        check("  ", Err("must not be empty"));
        check("x\n* * * * * id", Err("found a line break"));
        check("x\rMAILTO=evil@example.com", Err("found a line break"));
        check("x\0", Err("found a NUL byte"));
        check("x\u{1b}[31m", Err("found a control character (U+001B)"));
    }
}
