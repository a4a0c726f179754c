//! [`SpamThreshold`]: the SpamAssassin score from which a mailbox's mail is
//! spam (SpamAssassin's `required_score`), `0.1` to `100`, one decimal.

use crate::error::{InvalidValue, string_value_impls};

const WHAT: &str = "spam threshold";

/// A score like `5` or `7.5`; stored with one decimal (`5.0`).
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpamThreshold(String);

impl SpamThreshold {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = || InvalidValue::new(WHAT, "must be a number from 0.1 to 100, like 5 or 7.5");
        let (whole, frac) = input.split_once('.').unwrap_or((input, "0"));
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !digits(frac) || frac.len() != 1 {
            return Err(err());
        }
        let tenths: u32 = format!("{whole}{frac}").parse().map_err(|_| err())?;
        if tenths == 0 || tenths > 1000 {
            return Err(err());
        }
        Ok(Self(format!("{}.{}", tenths / 10, tenths % 10)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl Default for SpamThreshold {
    /// SpamAssassin's own default, 5.0.
    fn default() -> Self {
        Self("5.0".into())
    }
}

string_value_impls!(SpamThreshold);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<SpamThreshold>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("5", Ok("5.0"));
        check("7.5", Ok("7.5"));
        check("0.1", Ok("0.1"));
        check("100", Ok("100.0"));
        check("100.1", Err("from 0.1 to 100"));
        check("0", Err("from 0.1 to 100"));
        check("-1", Err("from 0.1 to 100"));
        check("5.25", Err("from 0.1 to 100"));
        check("", Err("from 0.1 to 100"));
        check("5\nrequired_score 0", Err("from 0.1 to 100"));
        check("1e3", Err("from 0.1 to 100"));
    }
}
