//! [`RedirectUrl`] and [`RedirectStatus`]: where a domain redirects to and
//! how. The URL is written into an nginx `return` directive, so anything
//! nginx would interpret (`$` variables, quotes, `;`, braces) is refused.

use std::net::Ipv4Addr;

use crate::domain::DomainName;
use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT_URL: &str = "redirect URL";
const WHAT_STATUS: &str = "redirect status";

/// Longest accepted URL, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// Printable ASCII characters that are still refused.
const FORBIDDEN: &[char] = &['"', '\'', '\\', '<', '>', '{', '}', ';', '$', '`'];

/// An absolute `http://` or `https://` URL whose host is a [`DomainName`]
/// or an IPv4 address, with an optional port 1-65535, no user name or
/// password, at most 2048 bytes of printable ASCII without whitespace or
/// any of `" ' \ < > { } ; $` and backtick.
///
/// Stored with the scheme and host normalized to lowercase; path, query and
/// fragment are kept exactly as typed (percent-encode anything else).
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUrl(String);

impl RedirectUrl {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT_URL, reason);
        if input.is_empty() {
            return Err(err("must not be empty".to_owned()));
        }
        if input.len() > MAX_URL_LEN {
            return Err(err(format!("must be at most {MAX_URL_LEN} characters long")));
        }
        for c in input.chars() {
            if c.is_whitespace() {
                return Err(err(format!(
                    "must not contain whitespace, found {}",
                    describe_char(c)
                )));
            }
            if c.is_control() {
                return Err(err(format!("must not contain {}", describe_char(c))));
            }
            if !c.is_ascii() {
                return Err(err(format!(
                    "contains {}; only ASCII is allowed (percent-encode other characters)",
                    describe_char(c)
                )));
            }
            if FORBIDDEN.contains(&c) {
                return Err(err(format!(
                    "contains {}, which is not allowed in a redirect URL",
                    describe_char(c)
                )));
            }
        }
        let (scheme, rest) = if let Some(rest) = strip_prefix_ignore_case(input, "https://") {
            ("https://", rest)
        } else if let Some(rest) = strip_prefix_ignore_case(input, "http://") {
            ("http://", rest)
        } else {
            return Err(err("must start with http:// or https://".to_owned()));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() {
            return Err(err("has no host name after the scheme".to_owned()));
        }
        if authority.contains('@') {
            return Err(err("must not contain a user name or password".to_owned()));
        }
        if authority.starts_with('[') {
            return Err(err("IPv6 addresses are not supported, use a domain name".to_owned()));
        }
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(parse_port(port).map_err(err)?)),
            None => (authority, None),
        };
        let host = match host.parse::<Ipv4Addr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => host
                .parse::<DomainName>()
                .map_err(|e| err(format!("the host is not valid: {}", e.reason)))?
                .into_string(),
        };
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Self(format!("{scheme}{host}{port}{tail}")))
    }

    /// The URL, e.g. `"https://example.com/new"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| s.get(prefix.len()..)).flatten()
}

fn parse_port(port: &str) -> Result<u16, String> {
    if port.is_empty() {
        return Err("has an empty port after ':'".to_owned());
    }
    let bad = || "the port must be a number from 1 to 65535".to_owned();
    if !port.bytes().all(|b| b.is_ascii_digit()) || port.starts_with('0') {
        return Err(bad());
    }
    port.parse::<u16>().map_err(|_| bad())
}

string_value_impls!(RedirectUrl);

/// The HTTP status used for a redirect. Serialized as the number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum RedirectStatus {
    /// 301 Moved Permanently.
    Permanent,
    /// 302 Found.
    Temporary,
}

impl RedirectStatus {
    /// The HTTP status code, 301 or 302.
    pub fn code(self) -> u16 {
        match self {
            Self::Permanent => 301,
            Self::Temporary => 302,
        }
    }

    /// The status code as text, `"301"` or `"302"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Permanent => "301",
            Self::Temporary => "302",
        }
    }

    fn refused() -> InvalidValue {
        InvalidValue::new(WHAT_STATUS, "must be 301 (permanent) or 302 (temporary)")
    }
}

impl TryFrom<u16> for RedirectStatus {
    type Error = InvalidValue;
    fn try_from(code: u16) -> Result<Self, Self::Error> {
        match code {
            301 => Ok(Self::Permanent),
            302 => Ok(Self::Temporary),
            _ => Err(Self::refused()),
        }
    }
}

impl From<RedirectStatus> for u16 {
    fn from(status: RedirectStatus) -> u16 {
        status.code()
    }
}

impl std::str::FromStr for RedirectStatus {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "301" => Ok(Self::Permanent),
            "302" => Ok(Self::Temporary),
            _ => Err(Self::refused()),
        }
    }
}

impl TryFrom<String> for RedirectStatus {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl std::fmt::Display for RedirectStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for RedirectStatus {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl serde::Serialize for RedirectStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.code())
    }
}

/// Accepts the number (`301`) and, for hand-edited files, the string `"301"`.
impl<'de> serde::Deserialize<'de> for RedirectStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = RedirectStatus;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the redirect status 301 or 302")
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                u16::try_from(v)
                    .map_err(|_| RedirectStatus::refused())
                    .and_then(RedirectStatus::try_from)
                    .map_err(E::custom)
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u16::try_from(v)
                    .map_err(|_| RedirectStatus::refused())
                    .and_then(RedirectStatus::try_from)
                    .map_err(E::custom)
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    mod url {
        use super::*;

        fn check(input: &str, expected: Result<&str, &str>) {
            crate::error::check_parse::<RedirectUrl>(WHAT_URL, input, expected);
        }

        #[test]
        fn accepted() {
            check("https://example.com", Ok("https://example.com"));
            check("https://example.com/", Ok("https://example.com/"));
            check("http://example.com/a/b?x=1&y=2#top", Ok("http://example.com/a/b?x=1&y=2#top"));
            check("HTTPS://Example.COM/Path", Ok("https://example.com/Path"));
            check("https://example.com.:8443/x", Ok("https://example.com:8443/x"));
            check("https://example.com?q", Ok("https://example.com?q"));
            check("https://example.com#f", Ok("https://example.com#f"));
            check("http://192.0.2.10:8080/", Ok("http://192.0.2.10:8080/"));
            check("https://xn--bcher-kva.de/%C3%BC", Ok("https://xn--bcher-kva.de/%C3%BC"));
            check("https://example.com:65535", Ok("https://example.com:65535"));
            check("https://example.com/a@b", Ok("https://example.com/a@b"));
            let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN - 20));
            assert_eq!(long.len(), MAX_URL_LEN);
            check(&long, Ok(&long));
        }

        #[test]
        fn refused() {
            let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN - 19));
            check(&long, Err("at most 2048 characters"));
            check("", Err("must not be empty"));
            check("example.com", Err("must start with http:// or https://"));
            check("ftp://example.com", Err("must start with http:// or https://"));
            check("javascript:alert(1)", Err("must start with http:// or https://"));
            check("//example.com", Err("must start with http:// or https://"));
            check("https://", Err("has no host name"));
            check("https:///path", Err("has no host name"));
            check("https://example.com/a b", Err("whitespace, found a space"));
            check("https://example.com/\nx", Err("whitespace, found a line break"));
            check("https://example.com/\0", Err("must not contain a NUL byte"));
            check("https://example.com/\u{1b}", Err("a control character (U+001B)"));
            check("https://bücher.de", Err("only ASCII is allowed"));
            check("https://example.com/$host", Err("contains '$'"));
            check("https://example.com/;return", Err("contains ';'"));
            check("https://example.com/{x}", Err("contains '{'"));
            check("https://example.com/}", Err("contains '}'"));
            check("https://example.com/\"", Err("contains a double quote"));
            check("https://example.com/'", Err("contains a single quote"));
            check("https://example.com/\\", Err("contains a backslash"));
            check("https://example.com/<b>", Err("contains '<'"));
            check("https://user:pw@example.com/", Err("user name or password"));
            check("https://evil.com@example.com/", Err("user name or password"));
            check("https://[::1]/", Err("IPv6 addresses are not supported"));
            check("https://example.com:/", Err("empty port"));
            check("https://example.com:0/", Err("port must be a number from 1 to 65535"));
            check("https://example.com:080/", Err("port must be a number from 1 to 65535"));
            check("https://example.com:65536/", Err("port must be a number from 1 to 65535"));
            check("https://example.com:+80/", Err("port must be a number from 1 to 65535"));
            check("https://example.com:80:80/", Err("port must be a number from 1 to 65535"));
            check("https://localhost/", Err("the host is not valid: localhost"));
            check("https://intranet/", Err("the host is not valid: must have at least two"));
            check("https://1.2.3/", Err("the host is not valid"));
            check("https://01.2.3.4/", Err("the host is not valid"));
            check("https://a..b/", Err("the host is not valid: label 2 is empty"));
            check("https://a_b.com/", Err("the host is not valid"));
        }

        #[test]
        fn serde() {
            let url: RedirectUrl = serde_json::from_str("\"https://Example.com/x\"").unwrap();
            assert_eq!(serde_json::to_string(&url).unwrap(), "\"https://example.com/x\"");
            assert!(serde_json::from_str::<RedirectUrl>("\"https://e.com/$uri\"").is_err());
        }
    }

    mod status {
        use super::*;

        #[test]
        fn parse() {
            assert_eq!("301".parse::<RedirectStatus>().unwrap(), RedirectStatus::Permanent);
            assert_eq!("302".parse::<RedirectStatus>().unwrap(), RedirectStatus::Temporary);
            assert_eq!(RedirectStatus::try_from(301).unwrap(), RedirectStatus::Permanent);
            assert_eq!(RedirectStatus::try_from(302).unwrap(), RedirectStatus::Temporary);
            for bad in ["", "300", "307", " 301", "301 ", "permanent"] {
                let err = bad.parse::<RedirectStatus>().unwrap_err();
                assert_eq!(
                    err.to_string(),
                    "invalid redirect status: must be 301 (permanent) or 302 (temporary)"
                );
            }
            assert!(RedirectStatus::try_from(200).is_err());
            assert_eq!(RedirectStatus::Permanent.code(), 301);
            assert_eq!(u16::from(RedirectStatus::Temporary), 302);
            assert_eq!(RedirectStatus::Temporary.to_string(), "302");
        }

        #[test]
        fn serde() {
            assert_eq!(serde_json::to_string(&RedirectStatus::Permanent).unwrap(), "301");
            let s: RedirectStatus = serde_json::from_str("302").unwrap();
            assert_eq!(s, RedirectStatus::Temporary);
            let s: RedirectStatus = serde_json::from_str("\"301\"").unwrap();
            assert_eq!(s, RedirectStatus::Permanent);
            for bad in ["303", "-301", "70000", "\"x\"", "3.01", "null"] {
                assert!(serde_json::from_str::<RedirectStatus>(bad).is_err(), "{bad}");
            }
            let err = serde_json::from_str::<RedirectStatus>("307").unwrap_err();
            assert!(err.to_string().contains("must be 301 (permanent) or 302"), "{err}");
        }
    }
}
