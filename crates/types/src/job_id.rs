//! [`JobId`]: the name of one hs-taskd job, which is also its file name in the queue.

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "job id";

/// Longest accepted job id, in characters.
pub const MAX_LEN: usize = 64;

/// A job's id: 1 to 64 characters, lowercase ASCII letters, digits and `-`, starting
/// with a letter or a digit. It names files (`pending/{id}.json`), so nothing that
/// could leave the queue folder (`/`, `.`) is allowed. Generated ids look like
/// `20261203t200102-5f0c9a1be2d4`.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

impl JobId {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        let Some(first) = input.chars().next() else {
            return Err(err("must not be empty".to_owned()));
        };
        if input.chars().count() > MAX_LEN {
            return Err(err(format!("must be at most {MAX_LEN} characters long")));
        }
        if let Some(bad) =
            input.chars().find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return Err(err(format!(
                "contains {}; only lowercase letters, digits and '-' are allowed",
                describe_char(bad)
            )));
        }
        if first == '-' {
            return Err(err("must start with a letter or a digit".to_owned()));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(JobId);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<JobId>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("20261203t200102-5f0c9a1be2d4", Ok("20261203t200102-5f0c9a1be2d4"));
        check("a", Ok("a"));
        check("9-x", Ok("9-x"));
        check(&"j".repeat(64), Ok(&"j".repeat(64)));
        check(&"j".repeat(65), Err("at most 64 characters"));
        check("", Err("must not be empty"));
        check("-job", Err("must start with a letter or a digit"));
        check("../etc", Err("only lowercase letters"));
        check("a/b", Err("only lowercase letters"));
        check("Job", Err("only lowercase letters"));
        check("job.json", Err("only lowercase letters"));
        check("job\n", Err("only lowercase letters"));
        check("job id", Err("only lowercase letters"));
    }
}
