//! [`Percent`]: an alert threshold on a share (disk, inodes, memory, swap), and
//! [`LoadPercent`]: one on the load average, as a percentage of the CPU cores
//! (`200` = a load of twice the cores).

use crate::error::InvalidValue;

/// A whole percentage from 1 to 100.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i64", into = "u16")]
pub struct Percent(u16);

/// A whole percentage of the cores from 10 to 10,000.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i64", into = "u16")]
pub struct LoadPercent(u16);

impl Percent {
    /// The default alert threshold of a share: 90 %.
    pub const DEFAULT_ALERT: Percent = Percent(90);

    pub fn get(self) -> u16 {
        self.0
    }
}

impl LoadPercent {
    /// The default alert threshold of the load: twice the cores.
    pub const DEFAULT_ALERT: LoadPercent = LoadPercent(200);

    pub fn get(self) -> u16 {
        self.0
    }
}

fn ranged(what: &'static str, value: i64, min: i64, max: i64) -> Result<u16, InvalidValue> {
    if (min..=max).contains(&value) {
        Ok(value as u16)
    } else {
        Err(InvalidValue::new(what, format!("must be a whole number from {min} to {max}")))
    }
}

impl TryFrom<i64> for Percent {
    type Error = InvalidValue;
    fn try_from(value: i64) -> Result<Percent, InvalidValue> {
        ranged("percentage", value, 1, 100).map(Percent)
    }
}

impl TryFrom<i64> for LoadPercent {
    type Error = InvalidValue;
    fn try_from(value: i64) -> Result<LoadPercent, InvalidValue> {
        ranged("load percentage", value, 10, 10_000).map(LoadPercent)
    }
}

impl From<Percent> for u16 {
    fn from(p: Percent) -> u16 {
        p.0
    }
}

impl From<LoadPercent> for u16 {
    fn from(p: LoadPercent) -> u16 {
        p.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(i64, bool, bool)] = &[
            (0, false, false),
            (1, true, false),
            (10, true, true),
            (90, true, true),
            (100, true, true),
            (101, false, true),
            (10_000, false, true),
            (10_001, false, false),
            (-5, false, false),
        ];
        for (value, percent, load) in cases {
            assert_eq!(Percent::try_from(*value).is_ok(), *percent, "{value}");
            assert_eq!(LoadPercent::try_from(*value).is_ok(), *load, "{value}");
        }
        let p: Percent = serde_json::from_str("90").unwrap();
        assert_eq!(p.get(), 90);
        assert!(serde_json::from_str::<Percent>("\"90\"").is_err());
        assert!(serde_json::from_str::<Percent>("250").is_err());
        assert_eq!(serde_json::to_string(&p).unwrap(), "90");
    }
}
