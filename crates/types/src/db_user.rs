//! [`DbUser`]: the user part of a MariaDB account such as `alice_app`, always
//! carrying the owning account's name as its prefix (the rule is shared with
//! [`crate::DbName`]).

use crate::Username;
use crate::db_name::check_prefixed;
use crate::error::{InvalidValue, string_value_impls};

const WHAT: &str = "database user name";

/// Kept below MariaDB 10.11's own limit of 128 characters (verified: 129 is
/// refused), so that names stay readable in tools and grants.
pub const MAX_LEN: usize = 80;

/// A database user name: `{account}_{suffix}`, the suffix made of lowercase
/// letters, digits and `_`, at most 80 characters in all. The host part of the
/// MariaDB account is chosen by the panel, never typed here.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DbUser(String);

impl DbUser {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        check_prefixed(WHAT, input, MAX_LEN)?;
        Ok(Self(input.to_owned()))
    }

    /// The name, e.g. `"alice_app"`.
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

string_value_impls!(DbUser);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<DbUser>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("alice_app", Ok("alice_app"));
        check("bob2_read_only", Ok("bob2_read_only"));
        check(&format!("alice_{}", "u".repeat(74)), Ok(&format!("alice_{}", "u".repeat(74))));
        check(&format!("alice_{}", "u".repeat(75)), Err("at most 80 characters"));
        check("app", Err("must start with the account name"));
        check("alice_", Err("needs a name after"));
        check("alice_app'@'%", Err("contains a single quote"));
        check("alice_a`pp", Err("contains a backtick"));
        check("alice_a\\pp", Err("contains a backslash"));
        check("alice_a%", Err("contains '%'"));
        check("alice_a@b", Err("contains '@'"));
        check("alice_ä", Err("contains the character U+00E4"));
        check("ALICE_APP", Err("must be lowercase"));
    }

    #[test]
    fn owner() {
        let user: DbUser = "alice_app".parse().unwrap();
        assert_eq!(user.owner(), "alice");
        assert!(user.is_owned_by(&"alice".parse().unwrap()));
        assert!(!user.is_owned_by(&"bob".parse().unwrap()));
    }
}
