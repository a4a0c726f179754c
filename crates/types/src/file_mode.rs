//! [`FileMode`]: permission bits for the file manager's `chmod`, as an octal
//! string such as `"0644"`.
//!
//! Only the nine permission bits: setuid, setgid and sticky are refused, so no
//! account can make a program that runs with another identity.

use crate::error::{InvalidValue, string_value_impls};

const WHAT: &str = "file mode";

/// Permission bits `0000`..`0777`, written as four octal digits.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct FileMode(String);

impl FileMode {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: &str| InvalidValue::new(WHAT, reason.to_owned());
        let digits = input.trim();
        if digits.is_empty()
            || digits.len() > 4
            || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
        {
            return Err(err("must be 3 or 4 octal digits, e.g. 0644"));
        }
        let bits = u32::from_str_radix(digits, 8).map_err(|_| err("must be octal"))?;
        if bits & !0o777 != 0 {
            return Err(err("setuid, setgid and sticky bits cannot be set"));
        }
        Ok(Self(format!("{bits:04o}")))
    }

    pub fn bits(&self) -> u32 {
        u32::from_str_radix(&self.0, 8).unwrap_or(0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(FileMode);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<FileMode>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("0644", Ok("0644"));
        check("755", Ok("0755"));
        check("0000", Ok("0000"));
        check("0777", Ok("0777"));
        check("4755", Err("setuid, setgid and sticky"));
        check("2755", Err("setuid, setgid and sticky"));
        check("1777", Err("setuid, setgid and sticky"));
        check("0844", Err("octal digits"));
        check("", Err("octal digits"));
        check("07777", Err("octal digits"));
        check("rwxr-xr-x", Err("octal digits"));
        check("-644", Err("octal digits"));
    }

    #[test]
    fn bits() {
        assert_eq!("0644".parse::<FileMode>().unwrap().bits(), 0o644);
    }
}
