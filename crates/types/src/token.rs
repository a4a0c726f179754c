//! [`TokenName`]: the human label of an API token ("deploy from CI").

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "token name";

/// Longest accepted token name, in characters.
pub const MAX_LEN: usize = 64;

/// An API token's name: 1 to 64 characters, an ASCII letter or digit
/// followed by letters, digits, spaces, `_`, `.` and `-`; no trailing space.
/// Case is kept as typed.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct TokenName(String);

impl TokenName {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        let Some(first) = input.chars().next() else {
            return Err(err("must not be empty".to_owned()));
        };
        if input.chars().count() > MAX_LEN {
            return Err(err(format!("must be at most {MAX_LEN} characters long")));
        }
        if let Some(bad) = input
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-')))
        {
            return Err(err(format!(
                "contains {}; only letters, digits, spaces, '_', '.' and '-' are allowed",
                describe_char(bad)
            )));
        }
        if !first.is_ascii_alphanumeric() {
            return Err(err("must start with a letter or a digit".to_owned()));
        }
        if input.ends_with(' ') {
            return Err(err("must not end with a space".to_owned()));
        }
        Ok(Self(input.to_owned()))
    }

    /// The name, e.g. `"deploy from CI"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(TokenName);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<TokenName>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("deploy", Ok("deploy"));
        check("Deploy from CI", Ok("Deploy from CI"));
        check("laptop_2024-v1.2", Ok("laptop_2024-v1.2"));
        check("a", Ok("a"));
        check("9", Ok("9"));
        check(&"t".repeat(64), Ok(&"t".repeat(64)));
        check(&"t".repeat(65), Err("at most 64 characters"));
        check("", Err("must not be empty"));
        check(" deploy", Err("must start with a letter or a digit"));
        check("-deploy", Err("must start with a letter or a digit"));
        check(".deploy", Err("must start with a letter or a digit"));
        check("deploy ", Err("must not end with a space"));
        check("deploy\n", Err("contains a line break"));
        check("deploy\tci", Err("contains a tab"));
        check("a/b", Err("contains '/'"));
        check("<script>", Err("contains '<'"));
        check("ci \"prod\"", Err("contains a double quote"));
        check("café", Err("contains the character U+00E9"));
    }

    #[test]
    fn serde() {
        let name: TokenName = serde_json::from_str("\"CI token\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"CI token\"");
        assert!(serde_json::from_str::<TokenName>("\"x \"").is_err());
    }
}
