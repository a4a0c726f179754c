//! [`CronCommand`]: the command of a cron job, the rest of its crontab line.
//!
//! cron ends a command at the line break, so a command that could hold one
//! could add a second entry (`* * * * * root ...` in a system table) or an
//! environment line. Here it is one line of printable text, bounded in length.
//! cron's other special character, `%`, is allowed: the crontab renderer
//! escapes it (see `hs_config::cron`), so the shell receives the text exactly
//! as typed.

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "cron command";

/// Longest accepted command, in bytes.
pub const MAX_LEN: usize = 1024;

/// A shell command line for cron: 1 to 1024 bytes of printable text (no NUL,
/// CR, LF, tab or other control character, no whitespace but the plain
/// space). Leading and trailing spaces are dropped.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CronCommand(String);

impl CronCommand {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        if input.len() > MAX_LEN {
            return Err(err(format!("must be at most {MAX_LEN} bytes long")));
        }
        check_one_line(input).map_err(err)?;
        let trimmed = input.trim_matches(' ');
        if trimmed.is_empty() {
            return Err(err("must not be empty".to_owned()));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The command, e.g. `"php $HOME/public_html/cron.php"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The command as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Refuses control characters (line breaks, NUL, tab, ...) and any
/// whitespace other than the plain space. Shared with the comment type.
pub(crate) fn check_one_line(input: &str) -> Result<(), String> {
    match input.chars().find(|&c| c.is_control() || (c.is_whitespace() && c != ' ')) {
        Some(bad) => {
            Err(format!("must be one line of printable text, found {}", describe_char(bad)))
        }
        None => Ok(()),
    }
}

string_value_impls!(CronCommand);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<CronCommand>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("php $HOME/public_html/cron.php", Ok("php $HOME/public_html/cron.php"));
        check("  /usr/bin/true  ", Ok("/usr/bin/true"));
        check("date +%s >> ~/ticks 2>&1", Ok("date +%s >> ~/ticks 2>&1"));
        check("echo 'a\\b' | cat; id", Ok("echo 'a\\b' | cat; id"));
        check("echo héllo", Ok("echo héllo"));
        check(&"x".repeat(1024), Ok(&"x".repeat(1024)));

        check("", Err("must not be empty"));
        check("   ", Err("must not be empty"));
        check(&"x".repeat(1025), Err("at most 1024 bytes"));
        check(&"x".repeat(10 * 1024), Err("at most 1024 bytes"));
        check("true\n* * * * * root id", Err("found a line break"));
        check("true\r* * * * * root id", Err("found a line break"));
        check("true\0x", Err("found a NUL byte"));
        check("a\tb", Err("found a tab"));
        check("a\u{2028}b", Err("found a whitespace character (U+2028)"));
        check("a\u{85}b", Err("found a control character (U+0085)"));
        check("a\u{7f}", Err("found a control character (U+007F)"));
    }

    #[test]
    fn serde() {
        let c: CronCommand = serde_json::from_str("\"id -u\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"id -u\"");
        assert!(serde_json::from_str::<CronCommand>("\"id\\nMAILTO=x\"").is_err());
    }
}
