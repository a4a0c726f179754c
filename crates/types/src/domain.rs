//! [`DomainName`]: a fully qualified, registrable-looking host name such as
//! `example.com`, stored in lowercase ASCII (`xn--` form for IDNs).

use crate::error::{InvalidValue, describe_char, string_value_impls};
use crate::host_label::{HostLabel, LabelError, check_ldh_label};

const WHAT: &str = "domain name";

/// Longest domain name in its ASCII form, without the trailing dot.
pub const MAX_DOMAIN_LEN: usize = 253;

/// A domain name: at least two labels of letters, digits and hyphens, at
/// most 253 characters, lowercase, internationalized names in `xn--` form.
///
/// One trailing dot is accepted and removed. IP addresses, `localhost`,
/// `*.localhost` and `*.invalid` are refused.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        let too_long = || err(format!("is longer than {MAX_DOMAIN_LEN} characters"));
        // Cheap guard before any Unicode processing; the real limit is below.
        if input.len() > 4 * MAX_DOMAIN_LEN {
            return Err(too_long());
        }
        if let Some(bad) = input.chars().find(|&c| {
            c.is_whitespace()
                || c.is_control()
                || (c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        }) {
            return Err(err(format!(
                "contains a character that is not allowed in a domain name: {}",
                describe_char(bad)
            )));
        }
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            return Err(err("must not be empty".to_owned()));
        }
        // Label checks on the typed form first, for precise reasons.
        let lower = trimmed.to_ascii_lowercase();
        for (i, label) in lower.split('.').enumerate() {
            if label.is_ascii() {
                check_ldh_label(label).map_err(|e| err(e.in_domain(i + 1)))?;
            } else if label.is_empty() {
                return Err(err(LabelError::Empty.in_domain(i + 1)));
            }
        }
        if lower.is_ascii() && lower.len() > MAX_DOMAIN_LEN {
            return Err(too_long());
        }
        let ascii = idna::domain_to_ascii_strict(&lower)
            .map_err(|_| err("is not a valid internationalized domain name".to_owned()))?;
        Self::check_ascii(&ascii).map_err(err)?;
        Ok(Self(ascii))
    }

    /// Final checks on the lowercase ASCII form (what gets stored).
    fn check_ascii(ascii: &str) -> Result<(), String> {
        if ascii.len() > MAX_DOMAIN_LEN {
            return Err(format!("is longer than {MAX_DOMAIN_LEN} characters"));
        }
        let mut count = 0;
        for (i, label) in ascii.split('.').enumerate() {
            check_ldh_label(label).map_err(|e| e.in_domain(i + 1))?;
            count += 1;
        }
        let tld = ascii.rsplit('.').next().unwrap_or_default();
        if tld == "localhost" {
            return Err("localhost names are reserved".to_owned());
        }
        if tld == "invalid" {
            return Err("the .invalid top-level domain is reserved".to_owned());
        }
        if tld.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                "the last label must not be all digits (IP addresses are not accepted)".to_owned()
            );
        }
        if count < 2 {
            return Err("must have at least two labels, like example.com".to_owned());
        }
        Ok(())
    }

    /// The ASCII form, e.g. `"xn--bcher-kva.de"`. This is what goes into
    /// config files.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ASCII form as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The form to show to people, e.g. `"bücher.de"`. Falls back to the
    /// ASCII form if a label cannot be decoded.
    pub fn to_unicode(&self) -> String {
        match idna::domain_to_unicode(&self.0) {
            (unicode, Ok(())) => unicode,
            (_, Err(_)) => self.0.clone(),
        }
    }

    /// The labels from left to right, e.g. `["blog", "example", "com"]`.
    pub fn labels(&self) -> std::str::Split<'_, char> {
        self.0.split('.')
    }

    /// The name without its first label, or `None` when that would leave
    /// fewer than two labels (`blog.example.com` → `example.com`,
    /// `example.com` → `None`).
    pub fn parent(&self) -> Option<DomainName> {
        let (_, rest) = self.0.split_once('.')?;
        if !rest.contains('.') {
            return None;
        }
        rest.parse().ok()
    }

    /// Whether `self` is strictly below `other` (`a.b.example.com` is a
    /// subdomain of `example.com`; a name is not a subdomain of itself).
    pub fn is_subdomain_of(&self, other: &DomainName) -> bool {
        self.0
            .strip_suffix(other.as_str())
            .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
    }

    /// `label.self`, e.g. `blog` + `example.com` → `blog.example.com`,
    /// checked again (the result may be too long).
    pub fn with_label(&self, label: &HostLabel) -> Result<DomainName, InvalidValue> {
        format!("{}.{}", label.as_str(), self.0).parse()
    }
}

string_value_impls!(DomainName);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<DomainName>(WHAT, input, expected);
    }

    fn name_of_len(len: usize) -> String {
        // 63-character labels joined by dots, the last one shortened.
        let mut out = String::new();
        while out.len() < len {
            if !out.is_empty() {
                out.push('.');
            }
            let room = (len - out.len()).min(63);
            out.push_str(&"a".repeat(room));
        }
        out
    }

    #[test]
    fn accepted() {
        check("alice.test", Ok("alice.test"));
        check("ALICE.Test.", Ok("alice.test"));
        check("example.com", Ok("example.com"));
        check("blog.example.co.uk", Ok("blog.example.co.uk"));
        check("a-b.c0m", Ok("a-b.c0m"));
        check("1.example.com", Ok("1.example.com"));
        check("123.com", Ok("123.com"));
        check("bücher.de", Ok("xn--bcher-kva.de"));
        check("Bücher.DE", Ok("xn--bcher-kva.de"));
        check("xn--bcher-kva.de", Ok("xn--bcher-kva.de"));
        check("faß.de", Ok("xn--fa-hia.de"));
        check("例え.jp", Ok("xn--r8jz45g.jp"));
        check("ＡＢＣ.com", Ok("abc.com"));
        check("a。b.com", Ok("a.b.com"));
        let long = name_of_len(253);
        assert_eq!(long.len(), 253);
        check(&long, Ok(&long));
        check(&format!("{long}."), Ok(&long));
        check(&format!("{}.com", "a".repeat(63)), Ok(&format!("{}.com", "a".repeat(63))));
    }

    #[test]
    fn refused() {
        check("", Err("must not be empty"));
        check(".", Err("must not be empty"));
        check("test..com", Err("label 2 is empty"));
        check(".com", Err("label 1 is empty"));
        check("a.com..", Err("label 3 is empty"));
        check("evil.com;", Err("not allowed in a domain name: ';'"));
        check("evil.com\n}", Err("not allowed in a domain name: a line break"));
        check("x.com { }", Err("not allowed in a domain name: a space"));
        check("evil.com\r\nx", Err("a line break"));
        check("a\u{0}.com", Err("a NUL byte"));
        check("a\u{85}.com", Err("not allowed in a domain name"));
        check("a\u{3000}b.com", Err("a whitespace character (U+3000)"));
        check("evil.com/x", Err("'/'"));
        check("evil\\.com", Err("a backslash"));
        check("\"evil.com\"", Err("a double quote"));
        check("'evil.com'", Err("a single quote"));
        check("a_b.com", Err("'_'"));
        check("*.example.com", Err("'*'"));
        check("user@example.com", Err("'@'"));
        check("-a.com", Err("label 1 starts with a hyphen"));
        check("a-.com", Err("label 1 ends with a hyphen"));
        check("a.-com", Err("label 2 starts with a hyphen"));
        check("ab--cd.com", Err("label 1 has \"--\" in positions 3 and 4"));
        check(&format!("{}.com", "a".repeat(64)), Err("label 1 is longer than 63"));
        check(&name_of_len(254), Err("longer than 253 characters"));
        check(&"a.".repeat(2000), Err("longer than 253 characters"));
        check("localhost", Err("localhost names are reserved"));
        check("localhost.", Err("localhost names are reserved"));
        check("invalid", Err(".invalid top-level domain is reserved"));
        check("1", Err("must not be all digits"));
        check("a", Err("at least two labels"));
        check("com", Err("at least two labels"));
        check("example", Err("at least two labels"));
        check("bücher", Err("at least two labels"));
        check("foo.localhost", Err("localhost names are reserved"));
        check("foo.LOCALHOST", Err("localhost names are reserved"));
        check("foo.invalid", Err(".invalid top-level domain is reserved"));
        check("1.2.3.4", Err("must not be all digits"));
        check("example.123", Err("must not be all digits"));
        check("xn--zz.com", Err("not a valid internationalized domain name"));
        check("a\u{202e}b.com", Err("not a valid internationalized domain name"));
        check("a\u{200d}b.com", Err("not a valid internationalized domain name"));
    }

    fn d(s: &str) -> DomainName {
        s.parse().unwrap()
    }

    #[test]
    fn helpers() {
        assert_eq!(d("xn--bcher-kva.de").to_unicode(), "bücher.de");
        assert_eq!(d("example.com").to_unicode(), "example.com");
        assert_eq!(d("blog.example.com").labels().collect::<Vec<_>>(), ["blog", "example", "com"]);
        assert_eq!(d("a.b.example.com").parent(), Some(d("b.example.com")));
        assert_eq!(d("blog.example.com").parent(), Some(d("example.com")));
        assert_eq!(d("example.com").parent(), None);
        assert!(d("blog.example.com").is_subdomain_of(&d("example.com")));
        assert!(d("a.b.example.com").is_subdomain_of(&d("example.com")));
        assert!(!d("example.com").is_subdomain_of(&d("example.com")));
        assert!(!d("badexample.com").is_subdomain_of(&d("example.com")));
        assert!(!d("example.com").is_subdomain_of(&d("blog.example.com")));
        let blog: HostLabel = "blog".parse().unwrap();
        assert_eq!(d("example.com").with_label(&blog).unwrap(), d("blog.example.com"));
        let long = d(&name_of_len(250));
        let err = long.with_label(&blog).unwrap_err();
        assert_eq!(err.what, WHAT);
        assert!(err.reason.contains("longer than 253"), "{err}");
    }

    #[test]
    fn serde() {
        let name: DomainName = serde_json::from_str("\"Example.COM\"").unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"example.com\"");
        let err = serde_json::from_str::<DomainName>("\"evil.com;\"").unwrap_err();
        assert!(err.to_string().contains("invalid domain name"), "{err}");
    }
}
