//! [`MailQuota`]: a mailbox's storage limit as Dovecot's quota plugin reads it,
//! `1024M`-style: digits and a unit `K`, `M` or `G`, or `unlimited`.

use crate::error::{InvalidValue, string_value_impls};

const WHAT: &str = "mail quota";

/// The largest quota accepted, in bytes (1 TiB).
const MAX_BYTES: u64 = 1 << 40;

/// A mailbox quota: `unlimited`, or 1 to 1 TiB written as a number and a unit
/// (`K`, `M`, `G`; lowercase accepted), stored normalized (`1024M`).
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MailQuota(String);

impl MailQuota {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: &str| InvalidValue::new(WHAT, reason);
        if input.eq_ignore_ascii_case("unlimited") {
            return Ok(Self("unlimited".into()));
        }
        let Some(unit) = input.chars().last() else {
            return Err(err("must not be empty"));
        };
        let factor: u64 = match unit.to_ascii_uppercase() {
            'K' => 1 << 10,
            'M' => 1 << 20,
            'G' => 1 << 30,
            _ => return Err(err("must end in K, M or G (like 1024M), or be unlimited")),
        };
        let digits = input.strip_suffix(unit).unwrap_or_default();
        if digits.is_empty() || digits.len() > 13 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("must be a whole number followed by K, M or G (like 1024M)"));
        }
        let number: u64 = digits.parse().map_err(|_| err("is not a number"))?;
        if number == 0 {
            return Err(err("must be more than 0"));
        }
        if number.saturating_mul(factor) > MAX_BYTES {
            return Err(err("must be at most 1024G"));
        }
        Ok(Self(format!("{number}{}", unit.to_ascii_uppercase())))
    }

    /// The quota as written, e.g. `"1024M"` or `"unlimited"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The limit in bytes; `None` when unlimited.
    pub fn bytes(&self) -> Option<u64> {
        let unit = self.0.chars().last()?;
        let digits = self.0.strip_suffix(unit)?;
        let factor: u64 = match unit {
            'K' => 1 << 10,
            'M' => 1 << 20,
            'G' => 1 << 30,
            _ => return None,
        };
        digits.parse::<u64>().ok().map(|n| n * factor)
    }
}

string_value_impls!(MailQuota);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<MailQuota>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("1024M", Ok("1024M"));
        check("1g", Ok("1G"));
        check("512k", Ok("512K"));
        check("Unlimited", Ok("unlimited"));
        check("1024G", Ok("1024G"));
        check("1025G", Err("at most 1024G"));
        check("0M", Err("more than 0"));
        check("", Err("must not be empty"));
        check("1024", Err("must end in K, M or G"));
        check("M", Err("a whole number"));
        check("-5M", Err("a whole number"));
        check("1.5G", Err("a whole number"));
        check("10 M", Err("a whole number"));
        check("1M\n", Err("must end in K, M or G"));
        check("99999999999999M", Err("a whole number"));
    }

    #[test]
    fn bytes() {
        assert_eq!("1M".parse::<MailQuota>().unwrap().bytes(), Some(1 << 20));
        assert_eq!("unlimited".parse::<MailQuota>().unwrap().bytes(), None);
    }
}
