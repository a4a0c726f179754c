//! [`Password`]: a new password chosen by a user, checked against a simple
//! policy. It can be parsed (including from JSON) but never printed or
//! serialized by accident.

use crate::error::InvalidValue;

const WHAT: &str = "password";

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in characters.
pub const MAX_LEN: usize = 128;
/// From this length on, the character-class rule no longer applies.
pub const PASSPHRASE_LEN: usize = 16;

/// A password that passed the policy:
///
/// * 8 to 128 characters, no control characters (NUL, tab, line breaks…);
/// * not one character repeated;
/// * at least 3 of lowercase letters, uppercase letters, digits and other
///   characters, unless it is 16 characters or longer.
///
/// `Debug` prints `Password(<redacted>)`; there is no `Display`, `AsRef` or
/// `Serialize`. Read it with [`Password::expose`]. The buffer is overwritten
/// with zeros on drop (best effort: copies made before parsing, or by the
/// allocator when a `String` grew, are out of reach).
#[derive(Clone, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Password(String);

impl Password {
    fn check(&self) -> Result<(), InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        let pw = self.0.as_str();
        let len = pw.chars().count();
        if len < MIN_LEN {
            return Err(err(format!("must be at least {MIN_LEN} characters long")));
        }
        if len > MAX_LEN {
            return Err(err(format!("must be at most {MAX_LEN} characters long")));
        }
        if pw.chars().any(char::is_control) {
            return Err(err(
                "must not contain control characters such as tabs or line breaks".to_owned()
            ));
        }
        let mut chars = pw.chars();
        if let Some(first) = chars.next()
            && chars.all(|c| c == first)
        {
            return Err(err("must not be a single character repeated".to_owned()));
        }
        if len < PASSPHRASE_LEN {
            let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
            for c in pw.chars() {
                if c.is_lowercase() {
                    lower = true;
                } else if c.is_uppercase() {
                    upper = true;
                } else if c.is_ascii_digit() {
                    digit = true;
                } else {
                    other = true;
                }
            }
            let classes = [lower, upper, digit, other].into_iter().filter(|&b| b).count();
            if classes < 3 {
                return Err(err(format!(
                    "must use at least 3 of: lowercase letters, uppercase letters, digits, \
                     symbols (or be {PASSPHRASE_LEN} characters or longer)"
                )));
            }
        }
        Ok(())
    }

    /// Refuses the password if it contains `name` (e.g. the username),
    /// ignoring case. Names shorter than 3 characters are not checked.
    pub fn check_not_containing(&self, name: &str) -> Result<(), InvalidValue> {
        if name.chars().count() < 3 {
            return Ok(());
        }
        if self.0.to_lowercase().contains(&name.to_lowercase()) {
            return Err(InvalidValue::new(WHAT, "must not contain the user name"));
        }
        Ok(())
    }

    /// The password itself, for hashing. Keep the borrow short.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Password {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::try_from(s.to_owned())
    }
}

impl TryFrom<String> for Password {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        // Wrapped first so that a refused password is zeroed on drop too.
        let pw = Self(s);
        pw.check()?;
        Ok(pw)
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        // Keeps the writes from being optimized away as dead stores.
        std::hint::black_box(&bytes);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        match (input.parse::<Password>(), expected) {
            (Ok(pw), Ok(want)) => assert_eq!(pw.expose(), want, "input {input:?}"),
            (Err(err), Err(want)) => {
                assert_eq!(err.what, WHAT);
                assert!(err.reason.contains(want), "{input:?}: {:?} lacks {want:?}", err.reason);
                if !input.is_empty() {
                    assert!(!err.to_string().contains(input), "reason echoes the password");
                }
            }
            (got, want) => panic!("input {input:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn table() {
        check("Tr0ub4dor", Ok("Tr0ub4dor"));
        check("abcDEF12", Ok("abcDEF12"));
        check("abcdef1!", Ok("abcdef1!"));
        check("ABCDEF1!", Ok("ABCDEF1!"));
        check("Pässwört1", Ok("Pässwört1"));
        check("correct horse battery staple", Ok("correct horse battery staple"));
        check("abcdefghijklmnop", Ok("abcdefghijklmnop")); // 16, one class
        check(&"aB3".repeat(42), Ok(&"aB3".repeat(42))); // 126
        check("", Err("at least 8 characters"));
        check("aB3!aB3", Err("at least 8 characters"));
        check(&"aB3!".repeat(33), Err("at most 128 characters"));
        check("abcdefgh", Err("at least 3 of"));
        check("abcdefg1", Err("at least 3 of"));
        check("ABCDEFGH", Err("at least 3 of"));
        check("12345678", Err("at least 3 of"));
        check("aaaaaaaa", Err("single character repeated"));
        check(&"a".repeat(20), Err("single character repeated"));
        check("abcDEF1\0", Err("control characters"));
        check("abcDEF12\n", Err("control characters"));
        check("abcDEF12\r", Err("control characters"));
        check("abc\tDEF12", Err("control characters"));
        check("abcDEF12\u{7f}", Err("control characters"));
    }

    #[test]
    fn not_containing_name() {
        let pw: Password = "xAliceX-2024".parse().unwrap();
        assert!(pw.check_not_containing("alice").is_err());
        assert!(pw.check_not_containing("ALICE").is_err());
        assert!(pw.check_not_containing("bob").is_ok());
        assert!(pw.check_not_containing("al").is_ok()); // too short to matter
        let err = pw.check_not_containing("alice").unwrap_err();
        assert_eq!(err.to_string(), "invalid password: must not contain the user name");
    }

    #[test]
    fn debug_is_redacted() {
        let pw: Password = "Tr0ub4dor&3".parse().unwrap();
        assert_eq!(format!("{pw:?}"), "Password(<redacted>)");
        assert_eq!(format!("{:?}", Some(pw.clone())), "Some(Password(<redacted>))");
    }

    #[test]
    fn deserialize_only() {
        #[derive(serde::Deserialize, Debug)]
        struct Form {
            password: Password,
        }
        let form: Form = serde_json::from_str(r#"{"password":"Tr0ub4dor&3"}"#).unwrap();
        assert_eq!(form.password.expose(), "Tr0ub4dor&3");
        assert!(!format!("{form:?}").contains("Tr0ub"));
        let err = serde_json::from_str::<Form>(r#"{"password":"short"}"#).unwrap_err();
        assert!(err.to_string().contains("invalid password"), "{err}");
        assert!(!err.to_string().contains("short"), "{err}");
    }
}
