//! [`Username`]: the panel account name, which is also the Linux user name,
//! the home directory name and part of many config file names.

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "username";

/// Longest accepted username, in characters.
pub const MAX_LEN: usize = 16;

/// Names that belong to the system, to system services or that would be
/// confusing as a customer account. Compared case-insensitively.
pub const RESERVED_USERNAMES: &[&str] = &[
    "root",
    "admin",
    "administrator",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www",
    "wwwdata",
    "backup",
    // `backup/restic/` holds every account's incremental repository.
    "restic",
    "list",
    "irc",
    "gnats",
    "nobody",
    "systemd",
    "messagebus",
    "sshd",
    "postfix",
    "postdrop",
    "dovecot",
    "dovenull",
    "mysql",
    "mariadb",
    "bind",
    "named",
    "opendkim",
    "spamd",
    "debian",
    "ftp",
    "pureftpd",
    "nginx",
    "apache",
    "httpd",
    "php",
    "cpanel",
    "hspanel",
    "hsvmail",
    "vmail",
    "cron",
    "test",
    "user",
    "all",
    "default",
    "virtfs",
    "shadow",
    "staff",
    "sudo",
    "wheel",
    "adm",
    "tty",
    "disk",
    "kmem",
    "dialout",
    "operator",
    "tape",
    "voice",
    "floppy",
    "cdrom",
    "audio",
    "video",
    "plugdev",
    "users",
    "nogroup",
    "input",
    "kvm",
    "render",
    "crontab",
    "ssl",
    "cert",
    "dns",
    "mysqlx",
    "postgres",
    "redis",
    "memcache",
    "git",
    "docker",
    "lxd",
    "ubuntu",
    "pi",
];

/// Whether `name` is on the reserved list (case-insensitive).
///
/// This does not look at `/etc/passwd`; whether a Linux user already exists
/// is checked by the code that creates accounts.
pub fn is_reserved(name: &str) -> bool {
    RESERVED_USERNAMES.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// A panel account name: 1 to 16 characters, a lowercase ASCII letter
/// followed by lowercase letters and digits, and not a reserved name.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        let mut chars = input.chars();
        let Some(first) = chars.next() else {
            return Err(err("must not be empty".into()));
        };
        if input.chars().count() > MAX_LEN {
            return Err(err(format!("must be at most {MAX_LEN} characters long")));
        }
        if input.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(err("must be lowercase".into()));
        }
        if !first.is_ascii_lowercase() {
            return Err(err("must start with a lowercase letter (a-z)".into()));
        }
        if let Some(bad) = chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit())) {
            return Err(err(format!(
                "contains {}; only lowercase letters a-z and digits 0-9 are allowed",
                describe_char(bad)
            )));
        }
        if is_reserved(input) {
            return Err(err("this name is reserved for the system".into()));
        }
        Ok(Self(input.to_owned()))
    }

    /// The name, e.g. `"alice"`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(Username);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<Username>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("alice", Ok("alice"));
        check("a", Ok("a"));
        check("bob2024", Ok("bob2024"));
        check("abcdefghijklmnop", Ok("abcdefghijklmnop")); // 16
        check("", Err("must not be empty"));
        check("abcdefghijklmnopq", Err("at most 16 characters")); // 17
        check("Root", Err("must be lowercase"));
        check("Alice", Err("must be lowercase"));
        check("root", Err("reserved"));
        check("www", Err("reserved"));
        check("hspanel", Err("reserved"));
        check("pi", Err("reserved"));
        check("../x", Err("must start with a lowercase letter"));
        check("1abc", Err("must start with a lowercase letter"));
        check("-abc", Err("must start with a lowercase letter"));
        check("a b", Err("contains a space"));
        check("ab_c", Err("contains '_'"));
        check("ab-c", Err("contains '-'"));
        check("ab.c", Err("contains '.'"));
        check("a/b", Err("contains '/'"));
        check("ab\n", Err("contains a line break"));
        check("ab\0", Err("contains a NUL byte"));
        check("abc\u{1b}[31m", Err("contains a control character (U+001B)"));
        check("jürgen", Err("contains the character U+00FC"));
        check(" alice", Err("must start with a lowercase letter"));
        check("alice ", Err("contains a space"));
    }

    #[test]
    fn reserved_is_case_insensitive() {
        assert!(is_reserved("root"));
        assert!(is_reserved("ROOT"));
        assert!(is_reserved("Postfix"));
        assert!(!is_reserved("alice"));
        assert!(RESERVED_USERNAMES.iter().all(|r| r.len() <= MAX_LEN));
    }

    #[test]
    fn serde_round_trip() {
        let alice: Username = serde_json::from_str("\"alice\"").unwrap();
        assert_eq!(alice, "alice");
        assert_eq!(serde_json::to_string(&alice).unwrap(), "\"alice\"");
        let err = serde_json::from_str::<Username>("\"Root\"").unwrap_err();
        assert!(err.to_string().contains("invalid username: must be lowercase"), "{err}");
        assert!(serde_json::from_str::<Username>("\"root\"").is_err());
        assert!(serde_json::from_str::<Username>("42").is_err());
    }
}
