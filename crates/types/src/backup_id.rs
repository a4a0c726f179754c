//! [`BackupId`]: the name of one backup of one account, made by the panel
//! (`20261203T201500Z-full-a1b2c3`) and typed back by users to restore it.

use crate::error::{InvalidValue, string_value_impls};

const WHAT: &str = "backup id";

/// `YYYYMMDDTHHMMSSZ-KIND-XXXXXX`: a UTC time, `full` or `incr`, and six
/// lowercase letters or digits. Nothing else: it becomes part of file names.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct BackupId(String);

impl BackupId {
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = || {
            InvalidValue::new(
                WHAT,
                "must look like 20261203T201500Z-full-a1b2c3 (from backup/list)",
            )
        };
        let mut parts = input.split('-');
        let (Some(time), Some(kind), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        let t = time.as_bytes();
        let time_ok = t.len() == 16
            && t[..8].iter().all(u8::is_ascii_digit)
            && t[8] == b'T'
            && t[9..15].iter().all(u8::is_ascii_digit)
            && t[15] == b'Z';
        let tag_ok =
            tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !time_ok || !tag_ok || !matches!(kind, "full" | "incr") {
            return Err(err());
        }
        Ok(Self(input.to_owned()))
    }

    /// Builds an id from its parts (the panel's own ids).
    pub fn new(time: &str, incremental: bool, tag: &str) -> Result<Self, InvalidValue> {
        let kind = if incremental { "incr" } else { "full" };
        Self::parse(&format!("{time}-{kind}-{tag}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn is_incremental(&self) -> bool {
        self.0.contains("-incr-")
    }
}

string_value_impls!(BackupId);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, bool)] = &[
            ("20261203T201500Z-full-a1b2c3", true),
            ("20261203T201500Z-incr-000000", true),
            ("20261203T201500Z-diff-a1b2c3", false),
            ("20261203T201500Z-full-A1B2C3", false),
            ("20261203T201500Z-full-a1b2c", false),
            ("20261203T201500Z-full-a1b2c3-x", false),
            ("../../etc/passwd", false),
            ("20261203 201500Z-full-a1b2c3", false),
            ("", false),
        ];
        for (input, ok) in cases {
            assert_eq!(input.parse::<BackupId>().is_ok(), *ok, "{input}");
        }
        assert!("20261203T201500Z-incr-abcdef".parse::<BackupId>().unwrap().is_incremental());
    }
}
