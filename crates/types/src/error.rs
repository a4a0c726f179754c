//! The one error type shared by every validated value, plus the helpers that
//! describe a refused character without ever echoing it raw.

/// A value typed by a user (or read back from disk) was refused.
///
/// `reason` is short, user-facing English and never contains control
/// characters copied from the input, so it is safe to return in a 4xx JSON
/// body or to write to a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidValue {
    /// What kind of value was refused, e.g. `"username"`.
    pub what: &'static str,
    /// Why it was refused, e.g. `"must not be empty"`.
    pub reason: String,
}

impl InvalidValue {
    /// Builds an error for `what` with a user-facing `reason`.
    pub fn new(what: &'static str, reason: impl Into<String>) -> Self {
        Self { what, reason: reason.into() }
    }
}

/// Describes `c` for an error message without echoing anything that could be
/// invisible or change how the message is displayed: only printable ASCII is
/// quoted as is, everything else is named by its code point.
pub(crate) fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '"' => "a double quote".to_owned(),
        '\'' => "a single quote".to_owned(),
        '\\' => "a backslash".to_owned(),
        '`' => "a backtick".to_owned(),
        '\t' => "a tab".to_owned(),
        '\n' | '\r' => "a line break".to_owned(),
        '\0' => "a NUL byte".to_owned(),
        '!'..='~' => format!("'{c}'"),
        c if c.is_control() => format!("a control character (U+{:04X})", u32::from(c)),
        c if c.is_whitespace() => format!("a whitespace character (U+{:04X})", u32::from(c)),
        c => format!("the character U+{:04X}", u32::from(c)),
    }
}

/// Implements the conversions every string-backed type shares, on top of the
/// type's own `parse(&str) -> Result<Self, InvalidValue>`, `as_str(&self)` and
/// `into_string(self)`.
macro_rules! string_value_impls {
    ($ty:ident) => {
        impl ::std::str::FromStr for $ty {
            type Err = $crate::InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $crate::InvalidValue;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.into_string()
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
pub(crate) use string_value_impls;

/// Shared table-test driver: parses `input` as `T` and compares it with the
/// expected normalized form (`Ok`) or reason substring (`Err`). Accepted values
/// must parse again to themselves (the "read back from disk" path).
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) fn check_parse<T>(what: &str, input: &str, expected: Result<&str, &str>)
where
    T: std::str::FromStr<Err = InvalidValue> + AsRef<str> + PartialEq + std::fmt::Debug,
{
    match (input.parse::<T>(), expected) {
        (Ok(value), Ok(want)) => {
            assert_eq!(value.as_ref(), want, "input {input:?}");
            let again: T = value.as_ref().parse().expect("normalized form must parse again");
            assert_eq!(again, value, "input {input:?} is not stable when parsed again");
        }
        (Err(err), Err(want)) => {
            assert_eq!(err.what, what, "input {input:?}");
            assert!(
                err.reason.contains(want),
                "input {input:?}: reason {:?} does not contain {want:?}",
                err.reason
            );
            let shown = err.to_string();
            assert!(!shown.chars().any(char::is_control), "control char in {shown:?}");
            assert!(shown.starts_with(&format!("invalid {what}: ")), "{shown:?}");
        }
        (got, want) => panic!("input {input:?}: got {got:?}, expected {want:?}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn display_format() {
        let err = InvalidValue::new("domain name", "label 2 is empty");
        assert_eq!(err.to_string(), "invalid domain name: label 2 is empty");
    }

    #[test]
    fn describe_never_echoes_invisible_chars() {
        for (c, want) in [
            (';', "';'"),
            (' ', "a space"),
            ('\n', "a line break"),
            ('\u{7f}', "a control character (U+007F)"),
            ('\u{a0}', "a whitespace character (U+00A0)"),
            ('\u{202e}', "the character U+202E"),
            ('ü', "the character U+00FC"),
        ] {
            assert_eq!(describe_char(c), want);
            assert!(!describe_char(c).chars().any(|d| d.is_control() || !d.is_ascii()));
        }
    }
}
