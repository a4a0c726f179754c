//! [`HostLabel`]: one DNS label typed by a user, e.g. `blog` when adding the
//! subdomain `blog.example.com`. Also holds the LDH label rules that
//! [`crate::DomainName`] applies to each of its labels.

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "subdomain label";

/// Longest DNS label, in bytes (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;

/// Why an ASCII label failed the LDH (letters, digits, hyphen) rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LabelError {
    Empty,
    TooLong,
    LeadingHyphen,
    TrailingHyphen,
    /// `ab--cd`: positions 3-4 are reserved for `xn--` style encodings.
    ReservedHyphens,
    BadChar(char),
}

impl LabelError {
    /// The reason as a predicate, for "label 2 is empty".
    pub(crate) fn in_domain(self, index: usize) -> String {
        let what = match self {
            Self::Empty => "is empty".to_owned(),
            Self::TooLong => format!("is longer than {MAX_LABEL_LEN} characters"),
            Self::LeadingHyphen => "starts with a hyphen".to_owned(),
            Self::TrailingHyphen => "ends with a hyphen".to_owned(),
            Self::ReservedHyphens => {
                "has \"--\" in positions 3 and 4, which is reserved for encoded names".to_owned()
            }
            Self::BadChar(c) => format!(
                "contains {}; only letters a-z, digits 0-9 and hyphens are allowed",
                describe_char(c)
            ),
        };
        format!("label {index} {what}")
    }

    /// The reason for a label on its own.
    fn standalone(self) -> String {
        match self {
            Self::Empty => "must not be empty".to_owned(),
            Self::TooLong => format!("must be at most {MAX_LABEL_LEN} characters long"),
            Self::LeadingHyphen => "must not start with a hyphen".to_owned(),
            Self::TrailingHyphen => "must not end with a hyphen".to_owned(),
            Self::ReservedHyphens => {
                "must not have \"--\" in positions 3 and 4, which is reserved for encoded names"
                    .to_owned()
            }
            Self::BadChar('.') => "must be a single name without dots".to_owned(),
            Self::BadChar(c) => format!(
                "contains {}; only letters a-z, digits 0-9 and hyphens are allowed",
                describe_char(c)
            ),
        }
    }
}

/// Checks one already-lowercased ASCII label against the LDH rules.
pub(crate) fn check_ldh_label(label: &str) -> Result<(), LabelError> {
    if label.is_empty() {
        return Err(LabelError::Empty);
    }
    if let Some(bad) =
        label.chars().find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        return Err(LabelError::BadChar(bad));
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(LabelError::TooLong);
    }
    if label.starts_with('-') {
        return Err(LabelError::LeadingHyphen);
    }
    if label.ends_with('-') {
        return Err(LabelError::TrailingHyphen);
    }
    if label.get(2..4) == Some("--") && !label.starts_with("xn--") {
        return Err(LabelError::ReservedHyphens);
    }
    Ok(())
}

/// A single lowercase DNS label (1 to 63 letters, digits or hyphens, not
/// starting or ending with a hyphen), used to add a subdomain.
///
/// The input is lowercased; an internationalized label (`bücher`) is
/// converted to its `xn--` form. `www` is refused because it is already
/// served together with the parent domain.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct HostLabel(String);

impl HostLabel {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        // Cheap guard before any Unicode processing; the real limit is below.
        if input.len() > 4 * MAX_LABEL_LEN {
            return Err(err(LabelError::TooLong.standalone()));
        }
        if let Some(bad) = input
            .chars()
            .find(|&c| c.is_whitespace() || c.is_control() || (c.is_ascii() && !is_ascii_ldh(c)))
        {
            return Err(err(LabelError::BadChar(bad).standalone()));
        }
        let lower = input.to_ascii_lowercase();
        if lower.is_ascii() {
            check_ldh_label(&lower).map_err(|e| err(e.standalone()))?;
        } else if lower.is_empty() {
            return Err(err(LabelError::Empty.standalone()));
        }
        // Also validates `xn--` labels typed in their encoded form.
        let ascii = idna::domain_to_ascii_strict(&lower)
            .map_err(|_| err("is not a valid internationalized name".to_owned()))?;
        check_ldh_label(&ascii).map_err(|e| err(e.standalone()))?;
        if ascii == "www" {
            return Err(err("www is served with the parent domain already".to_owned()));
        }
        Ok(Self(ascii))
    }

    /// The label in ASCII (`xn--`) form, e.g. `"blog"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The label as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

fn is_ascii_ldh(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

string_value_impls!(HostLabel);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<HostLabel>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("blog", Ok("blog"));
        check("Blog", Ok("blog"));
        check("shop-2", Ok("shop-2"));
        check("a", Ok("a"));
        check("9", Ok("9"));
        check("bücher", Ok("xn--bcher-kva"));
        check("xn--bcher-kva", Ok("xn--bcher-kva"));
        check(&"a".repeat(63), Ok(&"a".repeat(63)));
        check(&"a".repeat(64), Err("at most 63 characters"));
        check(&"a".repeat(1000), Err("at most 63 characters"));
        check("", Err("must not be empty"));
        check("www", Err("www is served with the parent domain already"));
        check("WWW", Err("www is served with the parent domain already"));
        check("-blog", Err("must not start with a hyphen"));
        check("blog-", Err("must not end with a hyphen"));
        check("ab--cd", Err("positions 3 and 4"));
        check("xn--zz", Err("not a valid internationalized name"));
        check("blog.example", Err("single name without dots"));
        check("a。b", Err("single name without dots"));
        check("a_b", Err("contains '_'"));
        check("*", Err("contains '*'"));
        check("a b", Err("contains a space"));
        check("blog\n", Err("contains a line break"));
        check("blog;", Err("contains ';'"));
        check("bl\u{202e}og", Err("not a valid internationalized name"));
    }

    #[test]
    fn serde() {
        let label: HostLabel = serde_json::from_str("\"blog\"").unwrap();
        assert_eq!(serde_json::to_string(&label).unwrap(), "\"blog\"");
        assert!(serde_json::from_str::<HostLabel>("\"www\"").is_err());
    }
}
