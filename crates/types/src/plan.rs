//! [`PlanName`]: the name of a hosting plan (package), also used as a file
//! name under the panel's state directory.

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "plan name";

/// Longest accepted plan name, in characters.
pub const MAX_LEN: usize = 32;

/// A plan name: 1 to 32 characters, a lowercase letter or digit followed by
/// lowercase letters, digits, `_` and `-`. Uppercase input is refused, not
/// folded, so that two plans never differ only by case on disk.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct PlanName(String);

impl PlanName {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        let Some(first) = input.chars().next() else {
            return Err(err("must not be empty".to_owned()));
        };
        if input.chars().count() > MAX_LEN {
            return Err(err(format!("must be at most {MAX_LEN} characters long")));
        }
        if input.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(err("must be lowercase".to_owned()));
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(err("must start with a lowercase letter or a digit".to_owned()));
        }
        if let Some(bad) = input
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'))
        {
            return Err(err(format!(
                "contains {}; only lowercase letters a-z, digits 0-9, '_' and '-' are allowed",
                describe_char(bad)
            )));
        }
        Ok(Self(input.to_owned()))
    }

    /// The name, e.g. `"basic"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(PlanName);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<PlanName>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("basic", Ok("basic"));
        check("pro-2024", Ok("pro-2024"));
        check("10gb_plan", Ok("10gb_plan"));
        check("a", Ok("a"));
        check(&"p".repeat(32), Ok(&"p".repeat(32)));
        check(&"p".repeat(33), Err("at most 32 characters"));
        check("", Err("must not be empty"));
        check("Basic", Err("must be lowercase"));
        check("-basic", Err("must start with a lowercase letter or a digit"));
        check("_basic", Err("must start with a lowercase letter or a digit"));
        check(".hidden", Err("must start with a lowercase letter or a digit"));
        check("../x", Err("must start with a lowercase letter or a digit"));
        check("a/b", Err("contains '/'"));
        check("a b", Err("contains a space"));
        check("a.yaml", Err("contains '.'"));
        check("basic\n", Err("contains a line break"));
        check("básic", Err("contains the character U+00E1"));
    }

    #[test]
    fn serde() {
        let plan: PlanName = serde_json::from_str("\"basic\"").unwrap();
        assert_eq!(serde_json::to_string(&plan).unwrap(), "\"basic\"");
        assert!(serde_json::from_str::<PlanName>("\"../etc\"").is_err());
    }
}
