//! [`SecretText`]: a multi-line secret (an SSH private key, a cloud access key)
//! that is stored in a 0600 file and never printed, logged or serialized.

use crate::error::InvalidValue;

const WHAT: &str = "secret";

/// Longest accepted secret, in bytes.
pub const MAX_LEN: usize = 16 * 1024;

/// 1 to 16 KiB of printable ASCII and line breaks. `Debug` is redacted and there
/// is no `Serialize`: the value leaves only through [`SecretText::expose`].
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct SecretText(String);

impl SecretText {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        if input.trim().is_empty() || input.len() > MAX_LEN {
            return Err(InvalidValue::new(WHAT, format!("must be 1 to {MAX_LEN} bytes")));
        }
        if input.chars().any(|c| !(c.is_ascii_graphic() || c == ' ' || c == '\n' || c == '\r')) {
            return Err(InvalidValue::new(
                WHAT,
                "only printable ASCII characters and line breaks are allowed",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for SecretText {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SecretText {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        Self::parse(&s)
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let key =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn==\n-----END OPENSSH PRIVATE KEY-----\n";
        let cases: &[(&str, bool)] = &[
            (key, true),
            ("AKIDEXAMPLE", true),
            ("", false),
            ("  \n", false),
            ("with\0nul", false),
            ("tab\there", false),
            ("é", false),
        ];
        for (input, ok) in cases {
            assert_eq!(input.parse::<SecretText>().is_ok(), *ok, "{input:?}");
        }
        assert!("x".repeat(MAX_LEN + 1).parse::<SecretText>().is_err());
        assert_eq!(format!("{:?}", key.parse::<SecretText>().unwrap()), "SecretText(<redacted>)");
    }
}
