//! [`PluginName`]: the name of a plugin, which is also its folder under
//! `/usr/local/hspanel/plugins/` and a segment of its API routes.

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "plugin name";

/// Longest accepted plugin name, in characters.
pub const MAX_LEN: usize = 32;

/// A plugin name: 1 to 32 characters, a lowercase letter followed by lowercase
/// letters, digits, `_` and `-`. No dot, so it can never be `.` or `..`, and no
/// `/`, so it is always exactly one path segment.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct PluginName(String);

impl PluginName {
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
        if !first.is_ascii_lowercase() {
            return Err(err("must start with a lowercase letter".to_owned()));
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

    /// The name, e.g. `"billing"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(PluginName);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<PluginName>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("example", Ok("example"));
        check("billing-sync", Ok("billing-sync"));
        check("whmcs_2", Ok("whmcs_2"));
        check("a", Ok("a"));
        check(&"p".repeat(32), Ok(&"p".repeat(32)));
        check(&"p".repeat(33), Err("at most 32 characters"));
        check("", Err("must not be empty"));
        check("Example", Err("must be lowercase"));
        check("2fa", Err("must start with a lowercase letter"));
        check("-x", Err("must start with a lowercase letter"));
        check(".", Err("must start with a lowercase letter"));
        check("..", Err("must start with a lowercase letter"));
        check("a/b", Err("contains '/'"));
        check("a.b", Err("contains '.'"));
        check("a b", Err("contains a space"));
        check("a\n", Err("contains a line break"));
    }

    #[test]
    fn serde() {
        let name: PluginName = serde_json::from_str("\"example\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"example\"");
        assert!(serde_json::from_str::<PluginName>("\"../etc\"").is_err());
    }
}
