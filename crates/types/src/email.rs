//! [`EmailAddress`] (`local@domain`) and [`MailboxName`] (the local part on
//! its own, as typed when creating a mailbox under one of the user's domains).

use crate::domain::DomainName;
use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT_EMAIL: &str = "e-mail address";
const WHAT_MAILBOX: &str = "mailbox name";

/// Longest local part, in characters (RFC 5321).
pub const MAX_LOCAL_LEN: usize = 64;

/// Longest whole address, in characters (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Checks and lowercases a local part. Reasons are predicates so the caller
/// can prefix them ("the part before @ must not be empty").
fn parse_local(input: &str) -> Result<String, String> {
    if input.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if let Some(bad) =
        input.chars().find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')))
    {
        return Err(format!(
            "contains {}; only letters a-z, digits 0-9 and . _ + - are allowed",
            describe_char(bad)
        ));
    }
    if input.len() > MAX_LOCAL_LEN {
        return Err(format!("must be at most {MAX_LOCAL_LEN} characters long"));
    }
    if input.starts_with('.') || input.ends_with('.') {
        return Err("must not start or end with a dot".to_owned());
    }
    if input.contains("..") {
        return Err("must not contain two dots in a row".to_owned());
    }
    Ok(input.to_ascii_lowercase())
}

/// The local part of an address on its own (`info` in `info@example.com`):
/// 1 to 64 characters of `a-z 0-9 . _ + -`, lowercased, not starting or
/// ending with a dot and without two dots in a row.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct MailboxName(String);

impl MailboxName {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        parse_local(input).map(Self).map_err(|reason| InvalidValue::new(WHAT_MAILBOX, reason))
    }

    /// The name, e.g. `"info"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }

    /// `self@domain`.
    pub fn at(&self, domain: &DomainName) -> Result<EmailAddress, InvalidValue> {
        format!("{}@{}", self.0, domain.as_str()).parse()
    }
}

string_value_impls!(MailboxName);

/// An e-mail address `local@domain`: the local part follows the
/// [`MailboxName`] rules, the domain is a [`DomainName`] (so IDNs are stored
/// in `xn--` form), at most 254 characters in all. Stored lowercase.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress {
    /// The whole normalized address.
    full: String,
    /// The domain part, also contained in `full` after the `@`.
    domain: DomainName,
}

impl EmailAddress {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT_EMAIL, reason);
        let too_long = || err(format!("must be at most {MAX_EMAIL_LEN} characters long"));
        if input.is_empty() {
            return Err(err("must not be empty".to_owned()));
        }
        // Cheap guard before any Unicode processing; the real limit is below.
        if input.len() > 4 * MAX_EMAIL_LEN {
            return Err(too_long());
        }
        let (local, domain) = match input.split_once('@') {
            Some((local, domain)) if !domain.contains('@') => (local, domain),
            Some(_) => return Err(err("must contain exactly one @ sign".to_owned())),
            None => return Err(err("must contain an @ sign, like name@example.com".to_owned())),
        };
        let local = parse_local(local).map_err(|r| err(format!("the part before @ {r}")))?;
        let domain: DomainName = domain.parse().map_err(|e: InvalidValue| {
            err(format!("the part after @ is not a valid domain name: {}", e.reason))
        })?;
        let full = format!("{local}@{}", domain.as_str());
        if full.len() > MAX_EMAIL_LEN {
            return Err(too_long());
        }
        Ok(Self { full, domain })
    }

    /// The whole address, e.g. `"info@example.com"`.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The whole address as an owned `String`.
    pub fn into_string(self) -> String {
        self.full
    }

    /// The part before the `@`, e.g. `"info"`.
    pub fn local(&self) -> &str {
        let len = self.full.len() - self.domain.as_str().len() - 1;
        self.full.get(..len).unwrap_or_default()
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &DomainName {
        &self.domain
    }

    /// The part before the `@` as a [`MailboxName`].
    pub fn mailbox(&self) -> MailboxName {
        // The local part was checked by the same rules when `self` was built.
        MailboxName(self.local().to_owned())
    }
}

string_value_impls!(EmailAddress);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    mod email {
        use super::*;

        fn check(input: &str, expected: Result<&str, &str>) {
            crate::error::check_parse::<EmailAddress>(WHAT_EMAIL, input, expected);
        }

        #[test]
        fn table() {
            check("info@example.com", Ok("info@example.com"));
            check("Info@Example.COM", Ok("info@example.com"));
            check("first.last+tag@mail.example.com", Ok("first.last+tag@mail.example.com"));
            check("a_b-c@example.com", Ok("a_b-c@example.com"));
            check("x@bücher.de", Ok("x@xn--bcher-kva.de"));
            check("x@example.com.", Ok("x@example.com"));
            let local64 = "a".repeat(64);
            check(&format!("{local64}@example.com"), Ok(&format!("{local64}@example.com")));
            check("", Err("must not be empty"));
            check("info", Err("must contain an @ sign"));
            check("a@b@example.com", Err("exactly one @ sign"));
            check("@example.com", Err("the part before @ must not be empty"));
            check(".a@example.com", Err("must not start or end with a dot"));
            check("a.@example.com", Err("must not start or end with a dot"));
            check("a..b@example.com", Err("two dots in a row"));
            check(&format!("a{local64}@example.com"), Err("at most 64 characters"));
            check("a b@example.com", Err("the part before @ contains a space"));
            check("a\"b@example.com", Err("contains a double quote"));
            check("a\n@example.com", Err("contains a line break"));
            check("jürgen@example.com", Err("contains the character U+00FC"));
            check("a@", Err("the part after @ is not a valid domain name: must not be empty"));
            check("a@localhost", Err("the part after @ is not a valid domain name"));
            check("a@1.2.3.4", Err("must not be all digits"));
            check("a@example.com;", Err("';'"));
            check("a@example.com\r\n", Err("a line break"));
            check("a@[127.0.0.1]", Err("'['"));
            let domain = format!("{0}.{0}.{0}.{1}", "d".repeat(63), "d".repeat(61));
            check(&format!("ab@{domain}"), Err("at most 254 characters"));
            check(&"a".repeat(5000), Err("at most 254 characters"));
        }

        #[test]
        fn parts() {
            let addr: EmailAddress = "Info@Bücher.de".parse().unwrap();
            assert_eq!(addr.local(), "info");
            assert_eq!(addr.domain().as_str(), "xn--bcher-kva.de");
            assert_eq!(addr.mailbox(), "info");
            assert_eq!(addr.to_string(), "info@xn--bcher-kva.de");
        }

        #[test]
        fn serde() {
            let addr: EmailAddress = serde_json::from_str("\"A@Example.com\"").unwrap();
            assert_eq!(serde_json::to_string(&addr).unwrap(), "\"a@example.com\"");
            assert!(serde_json::from_str::<EmailAddress>("\"a@b\"").is_err());
        }
    }

    mod mailbox {
        use super::*;

        fn check(input: &str, expected: Result<&str, &str>) {
            crate::error::check_parse::<MailboxName>(WHAT_MAILBOX, input, expected);
        }

        #[test]
        fn table() {
            check("info", Ok("info"));
            check("Info", Ok("info"));
            check("first.last", Ok("first.last"));
            check("a+b_c-d", Ok("a+b_c-d"));
            check(&"a".repeat(64), Ok(&"a".repeat(64)));
            check(&"a".repeat(65), Err("at most 64 characters"));
            check("", Err("must not be empty"));
            check(".info", Err("must not start or end with a dot"));
            check("info.", Err("must not start or end with a dot"));
            check("in..fo", Err("two dots in a row"));
            check("info@example.com", Err("contains '@'"));
            check("../etc", Err("contains '/'"));
            check("a b", Err("contains a space"));
            check("a\tb", Err("contains a tab"));
            check("a;b", Err("contains ';'"));
        }

        #[test]
        fn at_domain() {
            let name: MailboxName = "info".parse().unwrap();
            let domain: DomainName = "example.com".parse().unwrap();
            assert_eq!(name.at(&domain).unwrap(), "info@example.com");
        }
    }
}
