//! [`DestinationName`]: the name an administrator gives a remote backup target
//! (an SFTP server or an S3 bucket), e.g. `offsite`.

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "destination name";

/// 1 to 32 lowercase letters, digits and `-`, starting with a letter. `local`
/// is the panel's own folder and cannot be redefined.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DestinationName(String);

impl DestinationName {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        if input.is_empty() || input.len() > 32 {
            return Err(err("must be 1 to 32 characters".into()));
        }
        if !input.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(err("must start with a lowercase letter".into()));
        }
        if let Some(bad) =
            input.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(err(format!(
                "contains {}; only a-z, 0-9 and - are allowed",
                describe_char(bad)
            )));
        }
        if input == "local" {
            return Err(err("`local` is the panel's own backup folder".into()));
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

string_value_impls!(DestinationName);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Result<(), &str>)] = &[
            ("offsite", Ok(())),
            ("s3-eu-1", Ok(())),
            ("", Err("1 to 32")),
            ("1abc", Err("start with")),
            ("Off", Err("start with")),
            ("off site", Err("a space")),
            ("off/../x", Err("only a-z")),
            ("local", Err("own backup folder")),
            (&"a".repeat(33), Err("1 to 32")),
        ];
        for (input, want) in cases {
            match (input.parse::<DestinationName>(), want) {
                (Ok(_), Ok(())) => {}
                (Err(e), Err(w)) => assert!(e.reason.contains(w), "{input}: {}", e.reason),
                (got, _) => panic!("{input}: {got:?}"),
            }
        }
    }
}
