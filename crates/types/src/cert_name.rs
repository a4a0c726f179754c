//! [`CertName`]: the name a certificate of HS::SSL is for: a hosted domain
//! (`alice.test`) or a wildcard below it (`*.alice.test`).

use crate::domain::DomainName;
use crate::error::{InvalidValue, string_value_impls};

const WHAT: &str = "certificate name";

/// A [`DomainName`], or `*.` in front of one. The file stem of its files is the
/// domain, or `_wildcard.` and the domain (a domain name never holds `_`).
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CertName {
    text: String,
    domain: DomainName,
}

impl CertName {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let (wild, rest) = match input.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, input),
        };
        let domain: DomainName =
            rest.parse().map_err(|e: InvalidValue| InvalidValue::new(WHAT, e.to_string()))?;
        let text = if wild { format!("*.{domain}") } else { domain.to_string() };
        Ok(CertName { text, domain })
    }

    /// The name of a domain's own certificate.
    pub fn of(domain: &DomainName) -> CertName {
        CertName { text: domain.to_string(), domain: domain.clone() }
    }

    pub fn is_wildcard(&self) -> bool {
        self.text.starts_with("*.")
    }

    /// The hosted domain: the name without `*.`.
    pub fn domain(&self) -> &DomainName {
        &self.domain
    }

    /// A file name without `*`: `alice.test` or `_wildcard.alice.test`.
    pub fn file_stem(&self) -> String {
        match self.is_wildcard() {
            true => format!("_wildcard.{}", self.domain),
            false => self.domain.to_string(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn into_string(self) -> String {
        self.text
    }
}

string_value_impls!(CertName);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("alice.test", Some("alice.test"), "alice.test"),
            ("Alice.TEST", Some("alice.test"), "alice.test"),
            ("*.alice.test", Some("*.alice.test"), "_wildcard.alice.test"),
            ("*.*.alice.test", None, ""),
            ("*alice.test", None, ""),
            ("a.*.test", None, ""),
            ("", None, ""),
            ("alice.test\n", None, ""),
            ("../etc", None, ""),
        ];
        for (input, want, stem) in cases {
            let got = input.parse::<CertName>();
            match want {
                Some(w) => {
                    let name = got.unwrap();
                    assert_eq!(name.as_str(), *w, "{input}");
                    assert_eq!(name.file_stem(), *stem, "{input}");
                    assert_eq!(name.domain().as_str(), w.trim_start_matches("*."));
                }
                None => assert!(got.is_err(), "{input} should be refused"),
            }
        }
    }
}
