//! The texts of an autoresponder: [`VacationSubject`] (one line) and
//! [`VacationBody`] (several lines). Both are printable text; the Sieve
//! renderer quotes them, so `"`, `\` and `;` are fine here.

use crate::error::{InvalidValue, describe_char, string_value_impls};

const WHAT_SUBJECT: &str = "autoresponder subject";
const WHAT_BODY: &str = "autoresponder message";

/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 200;
/// Longest message, in characters.
pub const MAX_BODY: usize = 4096;

/// The subject of an automatic reply: 1 to 200 characters on one line.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VacationSubject(String);

impl VacationSubject {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let text = input.trim();
        if text.is_empty() {
            return Err(InvalidValue::new(WHAT_SUBJECT, "must not be empty"));
        }
        if text.chars().count() > MAX_SUBJECT {
            let reason = format!("must be at most {MAX_SUBJECT} characters long");
            return Err(InvalidValue::new(WHAT_SUBJECT, reason));
        }
        if let Some(bad) = text.chars().find(|c| c.is_control()) {
            let reason = format!("contains {}", describe_char(bad));
            return Err(InvalidValue::new(WHAT_SUBJECT, reason));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(VacationSubject);

/// The text of an automatic reply: 1 to 4096 characters; line breaks and
/// tabs are the only control characters allowed (`\r\n` is stored as `\n`).
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VacationBody(String);

impl VacationBody {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let text = input.replace("\r\n", "\n");
        let text = text.trim_end();
        if text.trim().is_empty() {
            return Err(InvalidValue::new(WHAT_BODY, "must not be empty"));
        }
        if text.chars().count() > MAX_BODY {
            let reason = format!("must be at most {MAX_BODY} characters long");
            return Err(InvalidValue::new(WHAT_BODY, reason));
        }
        if let Some(bad) = text.chars().find(|&c| c.is_control() && c != '\n' && c != '\t') {
            let reason = format!("contains {}", describe_char(bad));
            return Err(InvalidValue::new(WHAT_BODY, reason));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

string_value_impls!(VacationBody);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        let check = |i: &str, e| crate::error::check_parse::<VacationSubject>(WHAT_SUBJECT, i, e);
        check("Out of office", Ok("Out of office"));
        check("  Away \"until\" Monday \\o/ ", Ok("Away \"until\" Monday \\o/"));
        check("", Err("must not be empty"));
        check("a\nb", Err("a line break"));
        check("a\u{7}b", Err("control character"));
        check(&"x".repeat(201), Err("at most 200"));
    }

    #[test]
    fn bodies() {
        let check = |i: &str, e| crate::error::check_parse::<VacationBody>(WHAT_BODY, i, e);
        check("I am away.\r\nBack soon.\r\n", Ok("I am away.\nBack soon."));
        check("tab\there", Ok("tab\there"));
        check(" \n ", Err("must not be empty"));
        check("nul\0", Err("a NUL byte"));
        check("esc\u{1b}[31m", Err("control character"));
        check(&"x".repeat(4097), Err("at most 4096"));
    }
}
