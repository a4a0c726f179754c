//! [`DbPrivilege`]: one privilege an account holder may grant a database user on
//! one of their databases, or `ALL`. A closed list: the SQL keyword comes from
//! this file, never from the caller's text.

use crate::error::{InvalidValue, describe_char};

const WHAT: &str = "database privilege";

/// A database-level privilege (MariaDB 10.11), or `All` for every one of them.
/// `GRANT OPTION` is deliberately absent: a database user never hands out rights.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub enum DbPrivilege {
    All,
    Alter,
    AlterRoutine,
    Create,
    CreateRoutine,
    CreateTemporaryTables,
    CreateView,
    Delete,
    DeleteHistory,
    Drop,
    Event,
    Execute,
    Index,
    Insert,
    LockTables,
    References,
    Select,
    ShowView,
    Trigger,
    Update,
}

use DbPrivilege as P;

/// Every privilege with its SQL keyword, as MariaDB spells it.
const KEYWORDS: &[(DbPrivilege, &str)] = &[
    (P::All, "ALL PRIVILEGES"),
    (P::Alter, "ALTER"),
    (P::AlterRoutine, "ALTER ROUTINE"),
    (P::Create, "CREATE"),
    (P::CreateRoutine, "CREATE ROUTINE"),
    (P::CreateTemporaryTables, "CREATE TEMPORARY TABLES"),
    (P::CreateView, "CREATE VIEW"),
    (P::Delete, "DELETE"),
    (P::DeleteHistory, "DELETE HISTORY"),
    (P::Drop, "DROP"),
    (P::Event, "EVENT"),
    (P::Execute, "EXECUTE"),
    (P::Index, "INDEX"),
    (P::Insert, "INSERT"),
    (P::LockTables, "LOCK TABLES"),
    (P::References, "REFERENCES"),
    (P::Select, "SELECT"),
    (P::ShowView, "SHOW VIEW"),
    (P::Trigger, "TRIGGER"),
    (P::Update, "UPDATE"),
];

impl DbPrivilege {
    /// Accepts the keyword in any case, with spaces or `_` between words, and
    /// `ALL` for `ALL PRIVILEGES`.
    fn parse(input: &str) -> Result<Self, InvalidValue> {
        let err = |reason: String| InvalidValue::new(WHAT, reason);
        if let Some(bad) = input.chars().find(|c| !(c.is_ascii_alphabetic() || " _".contains(*c))) {
            return Err(err(format!("contains {}", describe_char(bad))));
        }
        let words: Vec<String> = input
            .split([' ', '_'])
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_uppercase)
            .collect();
        let wanted = words.join(" ");
        if wanted == "ALL" {
            return Ok(P::All);
        }
        KEYWORDS.iter().find(|(_, k)| *k == wanted).map(|(p, _)| *p).ok_or_else(|| {
            err("unknown; use ALL or SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, \
                 ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, CREATE VIEW, SHOW VIEW, \
                 CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER, REFERENCES, DELETE HISTORY"
                .to_owned())
        })
    }

    /// The SQL keyword, e.g. `"LOCK TABLES"`; `"ALL PRIVILEGES"` for [`DbPrivilege::All`].
    pub fn keyword(self) -> &'static str {
        KEYWORDS.iter().find(|(p, _)| *p == self).map_or("USAGE", |(_, k)| k)
    }

    /// The privilege MariaDB reports under `keyword` (e.g. in `SCHEMA_PRIVILEGES`).
    pub fn from_keyword(keyword: &str) -> Option<DbPrivilege> {
        KEYWORDS.iter().find(|(_, k)| *k == keyword).map(|(p, _)| *p)
    }

    /// Every single privilege that `ALL` stands for on a database.
    pub fn every() -> impl Iterator<Item = DbPrivilege> {
        KEYWORDS.iter().map(|(p, _)| *p).filter(|p| *p != P::All)
    }
}

impl std::str::FromStr for DbPrivilege {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DbPrivilege {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DbPrivilege> for String {
    fn from(p: DbPrivilege) -> String {
        match p {
            P::All => "ALL".to_owned(),
            other => other.keyword().to_owned(),
        }
    }
}

impl std::fmt::Display for DbPrivilege {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from(*self))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<DbPrivilege, &str>) {
        match (input.parse::<DbPrivilege>(), expected) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got, want, "{input:?}");
                assert_eq!(got.to_string().parse::<DbPrivilege>().unwrap(), got);
            }
            (Err(e), Err(want)) => {
                assert!(e.reason.contains(want), "{input:?}: {:?} lacks {want:?}", e.reason);
            }
            (got, want) => panic!("{input:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn table() {
        check("ALL", Ok(P::All));
        check("all", Ok(P::All));
        check("ALL PRIVILEGES", Ok(P::All));
        check("select", Ok(P::Select));
        check("LOCK TABLES", Ok(P::LockTables));
        check("lock_tables", Ok(P::LockTables));
        check("create  temporary tables", Ok(P::CreateTemporaryTables));
        check("GRANT OPTION", Err("unknown"));
        check("SUPER", Err("unknown"));
        check("FILE", Err("unknown"));
        check("", Err("unknown"));
        check("SELECT;", Err("contains ';'"));
        check("SELECT, INSERT", Err("contains ','"));
        check("SELECT`", Err("contains a backtick"));
    }

    #[test]
    fn keywords() {
        assert_eq!(P::All.keyword(), "ALL PRIVILEGES");
        assert_eq!(P::ShowView.keyword(), "SHOW VIEW");
        assert_eq!(DbPrivilege::from_keyword("SHOW VIEW"), Some(P::ShowView));
        assert_eq!(DbPrivilege::every().count(), KEYWORDS.len() - 1);
        assert_eq!(serde_json::to_string(&P::All).unwrap(), "\"ALL\"");
    }
}
