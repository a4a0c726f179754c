//! [`DbHost`]: a remote address from which a database user may connect, as the
//! host part of a MariaDB account (`'alice_app'@'203.0.113.7'`).

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "database host";

/// An explicit IPv4 or IPv6 address, in its canonical text form. Host names and
/// MariaDB's `%` / `_` wildcard patterns are refused: a name would make access
/// depend on DNS, and a pattern easily grants more than meant.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DbHost(String);

impl DbHost {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        if let Some(bad) = input.chars().find(|c| !(c.is_ascii_hexdigit() || ".:".contains(*c))) {
            return Err(err(format!(
                "contains {}; give an IPv4 or IPv6 address (no names or patterns)",
                describe_char(bad)
            )));
        }
        let ip: std::net::IpAddr =
            input.parse().map_err(|_| err("is not an IPv4 or IPv6 address".to_owned()))?;
        if ip.is_unspecified() || ip.is_multicast() {
            return Err(err("must be the address of one machine".to_owned()));
        }
        Ok(Self(ip.to_string()))
    }

    /// The canonical address, e.g. `"2001:db8::1"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(DbHost);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<DbHost>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("203.0.113.7", Ok("203.0.113.7"));
        check("2001:DB8:0::1", Ok("2001:db8::1"));
        check("::1", Ok("::1"));
        check("192.168.1.%", Err("contains '%'"));
        check("192.168.1._", Err("contains '_'"));
        check("db.example.com", Err("contains 'x'"));
        check("localhost", Err("contains 'l'"));
        check("10.0.0.0/8", Err("contains '/'"));
        check("1.2.3.4'", Err("contains a single quote"));
        check("1.2.3", Err("is not an IPv4 or IPv6 address"));
        check("", Err("is not an IPv4 or IPv6 address"));
        check("0.0.0.0", Err("one machine"));
        check("224.0.0.1", Err("one machine"));
    }
}
