//! [`DbName`]: a MariaDB database name such as `alice_shop`, always carrying the
//! owning account's name as its prefix. Also holds the prefix rule that
//! [`crate::DbUser`] shares.
//!
//! Account names have no `_`, so the text before the first `_` names the owner
//! unambiguously: `alice_shop` is alice's, and no other account can ever create it.

use crate::Username;
use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "database name";

/// MariaDB's own limit on a database name (verified on 10.11: 65 is refused).
pub const MAX_LEN: usize = 64;

/// A database name: `{account}_{suffix}`, the suffix made of lowercase letters,
/// digits and `_`, at most 64 characters in all. Quotes, backticks, backslashes,
/// `%`, `;`, spaces, uppercase and non-ASCII characters are refused, so the name
/// can be quoted as an identifier without any escaping decisions left.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DbName(String);

/// Checks `input` as `{account}_{suffix}` of at most `max` characters.
pub(crate) fn check_prefixed(
    what: &'static str,
    input: &str,
    max: usize,
) -> Result<(), InvalidValue> {
    let err = |reason: String| InvalidValue::new(what, reason);
    if input.is_empty() {
        return Err(err("must not be empty".to_owned()));
    }
    if let Some(bad) =
        input.chars().find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
    {
        let reason = if bad.is_ascii_uppercase() {
            "must be lowercase".to_owned()
        } else {
            format!(
                "contains {}; only lowercase letters a-z, digits 0-9 and '_' are allowed",
                describe_char(bad)
            )
        };
        return Err(err(reason));
    }
    if input.len() > max {
        return Err(err(format!("must be at most {max} characters long")));
    }
    let Some((owner, suffix)) = input.split_once('_') else {
        return Err(err("must start with the account name and '_', like alice_shop".to_owned()));
    };
    if owner.parse::<Username>().is_err() {
        return Err(err("must start with the account name and '_', like alice_shop".to_owned()));
    }
    if suffix.is_empty() {
        return Err(err("needs a name after the account prefix, like alice_shop".to_owned()));
    }
    Ok(())
}

impl DbName {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        check_prefixed(WHAT, input, MAX_LEN)?;
        Ok(Self(input.to_owned()))
    }

    /// The name, e.g. `"alice_shop"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The account prefix, e.g. `"alice"`.
    pub fn owner(&self) -> &str {
        self.0.split('_').next().unwrap_or_default()
    }

    /// Whether `user`'s prefix starts this name.
    pub fn is_owned_by(&self, user: &Username) -> bool {
        self.owner() == user.as_str()
    }
}

string_value_impls!(DbName);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<DbName>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("alice_shop", Ok("alice_shop"));
        check("alice_shop_2", Ok("alice_shop_2"));
        check("a_1", Ok("a_1"));
        check("alice__x", Ok("alice__x"));
        check(&format!("alice_{}", "x".repeat(58)), Ok(&format!("alice_{}", "x".repeat(58))));
        check(&format!("alice_{}", "x".repeat(59)), Err("at most 64 characters"));
        check("", Err("must not be empty"));
        check("shop", Err("must start with the account name"));
        check("_shop", Err("must start with the account name"));
        check("1alice_shop", Err("must start with the account name"));
        check("root_shop", Err("must start with the account name")); // reserved name
        check("alice_", Err("needs a name after"));
        check("Alice_shop", Err("must be lowercase"));
        check("alice_sh`op", Err("contains a backtick"));
        check("alice_shop;", Err("contains ';'"));
        check("alice_sh'op", Err("contains a single quote"));
        check("alice_sh\"op", Err("contains a double quote"));
        check("alice_sh\\op", Err("contains a backslash"));
        check("alice_sh%op", Err("contains '%'"));
        check("alice_sh op", Err("contains a space"));
        check("alice_shop-2", Err("contains '-'"));
        check("alice_shop.x", Err("contains '.'"));
        check("alice_shöp", Err("contains the character U+00F6"));
        check("alice_shop\n", Err("contains a line break"));
        check("alice_shop\0", Err("contains a NUL byte"));
    }

    #[test]
    fn owner() {
        let name: DbName = "alice_shop_2".parse().unwrap();
        assert_eq!(name.owner(), "alice");
        assert!(name.is_owned_by(&"alice".parse().unwrap()));
        assert!(!name.is_owned_by(&"alic".parse().unwrap()));
        assert!(!name.is_owned_by(&"alice2".parse().unwrap()));
    }

    #[test]
    fn serde_parses_again() {
        let name: DbName = serde_json::from_str("\"alice_shop\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"alice_shop\"");
        assert!(serde_json::from_str::<DbName>("\"alice_x`; DROP\"").is_err());
    }
}
