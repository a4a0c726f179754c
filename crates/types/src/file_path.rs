//! [`FilePath`]: a path inside an account's home, as the file manager takes it.
//!
//! `/` is the home itself and a leading `/` means nothing more: `/etc/passwd`
//! names `etc/passwd` in the home. `..` is refused as a component; the helper
//! that uses the path resolves it beneath the home with `openat2` anyway, so
//! this check gives a clear message, not the confinement.

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT: &str = "file path";

/// Longest accepted path, in bytes (Linux's `PATH_MAX`).
pub const MAX_LEN: usize = 4096;

/// A home-relative path, normalised to `/a/b` (no empty or `.` components,
/// no `..`, no control characters, at most 4096 bytes). `/` is the home.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct FilePath(String);

impl FilePath {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        if input.len() > MAX_LEN {
            return Err(err(format!("must be at most {MAX_LEN} bytes long")));
        }
        if let Some(bad) = input.chars().find(|c| c.is_control()) {
            return Err(err(format!("must not contain {}", describe_char(bad))));
        }
        let mut parts = Vec::new();
        for part in input.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(err("must not contain `..`".to_owned())),
                name if name.len() > 255 => {
                    return Err(err("has a component longer than 255 bytes".to_owned()));
                }
                name => parts.push(name),
            }
        }
        Ok(Self(format!("/{}", parts.join("/"))))
    }

    /// The path, e.g. `"/public_html/index.php"`; `"/"` for the home.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Is this the home itself?
    pub fn is_home(&self) -> bool {
        self.0 == "/"
    }

    /// `self/name` for a plain file name (no `/`, not `.` or `..`).
    pub fn join(&self, name: &str) -> Result<FilePath, InvalidValue> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(InvalidValue::new(WHAT, format!("{name:?} is not a file name")));
        }
        FilePath::parse(&format!("{}/{name}", self.0))
    }
}

string_value_impls!(FilePath);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        crate::error::check_parse::<FilePath>(WHAT, input, expected);
    }

    #[test]
    fn table() {
        check("/", Ok("/"));
        check("", Ok("/"));
        check("public_html", Ok("/public_html"));
        check("/a//./b/", Ok("/a/b"));
        check("/etc/passwd", Ok("/etc/passwd"));
        check("/with space/été.txt", Ok("/with space/été.txt"));
        check("...", Ok("/..."));
        check("../../etc/passwd", Err("must not contain `..`"));
        check("/a/../../b", Err("must not contain `..`"));
        check("a\0b", Err("NUL"));
        check("a\nb", Err("line break"));
        check(&"x".repeat(256), Err("longer than 255"));
        check(&"a/".repeat(2049), Err("at most 4096"));
    }

    #[test]
    fn join() {
        let p: FilePath = "/a".parse().unwrap();
        assert_eq!(p.join("b.txt").unwrap(), "/a/b.txt");
        let home: FilePath = "/".parse().unwrap();
        assert_eq!(home.join("b").unwrap(), "/b");
        assert!(p.join("..").is_err());
        assert!(p.join("x/y").is_err());
        assert!(p.join("").is_err());
    }
}
