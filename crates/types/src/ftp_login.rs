//! [`FtpLogin`]: an FTP virtual user's login, `{account}_{name}`, e.g.
//! `alice_web`. The account part is the owning panel account, so two
//! accounts can never pick the same login and the owner is visible at once.

use crate::error::{InvalidValue, describe_char, string_value_impls};
use crate::username::Username;

const WHAT: &str = "FTP login";

/// Longest accepted name part (after the `_`), in characters.
pub const MAX_NAME_LEN: usize = 16;

/// `account_name`: a valid [`Username`], one `_`, then 1 to 16 lowercase
/// letters and digits.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct FtpLogin(String);

impl FtpLogin {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        let Some((account, name)) = input.split_once('_') else {
            return Err(err("must be ACCOUNT_NAME, e.g. alice_web".into()));
        };
        account.parse::<Username>().map_err(|e| err(format!("account part: {}", e.reason)))?;
        if name.is_empty() {
            return Err(err("the name after `_` must not be empty".into()));
        }
        if name.chars().count() > MAX_NAME_LEN {
            return Err(err(format!("the name after `_` has at most {MAX_NAME_LEN} characters")));
        }
        if let Some(bad) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit())) {
            return Err(err(format!(
                "contains {}; after `_` only lowercase letters a-z and digits 0-9 are allowed",
                describe_char(bad)
            )));
        }
        Ok(Self(input.to_owned()))
    }

    /// Builds `{account}_{name}` from its parts.
    pub fn new(account: &Username, name: &str) -> Result<Self, InvalidValue> {
        Self::parse(&format!("{account}_{name}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The account part, the one before `_`.
    pub fn account(&self) -> &str {
        self.0.split_once('_').map_or(self.0.as_str(), |(a, _)| a)
    }

    /// Does this login belong to `user`?
    pub fn belongs_to(&self, user: &Username) -> bool {
        self.account() == user.as_str()
    }
}

string_value_impls!(FtpLogin);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("alice_web", Ok("alice_web")),
            ("alice_1", Ok("alice_1")),
            ("bob2_uploads99", Ok("bob2_uploads99")),
            ("alice", Err("must be ACCOUNT_NAME")),
            ("alice_", Err("must not be empty")),
            ("_web", Err("account part")),
            ("Alice_web", Err("account part")),
            ("root_web", Err("account part")),
            ("alice_Web", Err("only lowercase")),
            ("alice_w_b", Err("only lowercase")),
            ("alice_w:b", Err("only lowercase")),
            ("alice_w\nb", Err("only lowercase")),
            ("alice_../x", Err("only lowercase")),
            ("alice_abcdefghijklmnopq", Err("at most 16")),
        ];
        for (input, expected) in cases {
            crate::error::check_parse::<FtpLogin>(WHAT, input, *expected);
        }
    }

    #[test]
    fn owner() {
        let login: FtpLogin = "alice_web".parse().unwrap();
        assert!(login.belongs_to(&"alice".parse().unwrap()));
        assert!(!login.belongs_to(&"alic".parse().unwrap()));
        assert_eq!(FtpLogin::new(&"bob".parse().unwrap(), "x").unwrap().as_str(), "bob_x");
    }
}
