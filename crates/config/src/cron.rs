//! HS::Cron's desired state and its renderer.
//!
//! `userdata/{user}/cron.yaml` holds an account's jobs and its `MAILTO`; the
//! account's crontab is rendered from it by [`render_crontab`], a pure
//! function, and installed by the cron module with `crontab -u USER -`.
//!
//! The crontab is rendered in Rust rather than from an overridable template
//! on purpose: the escaping of `%` and `\` below is what keeps a command
//! exactly as typed, and an edited template could undo it.

use hs_types::{CronCommand, CronComment, CronSchedule, EmailAddress, Username};
use serde::{Deserialize, Serialize};

use crate::state::{STATE_VERSION, StateStore};
use crate::{StateError, yaml};

/// One job. `id` is stable: never reused within the account, so an edit or a
/// delete names exactly one job even while others come and go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronJob {
    pub id: u32,
    pub schedule: CronSchedule,
    pub command: CronCommand,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<CronComment>,
}

/// An account's cron jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronTable {
    pub version: u32,
    pub username: Username,
    /// Where cron mails a job's output; `None` discards it (`MAILTO=""`), since
    /// an account's local mailbox on the server is not read by anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailto: Option<EmailAddress>,
    /// The id the next new job gets.
    pub next_id: u32,
    pub jobs: Vec<CronJob>,
}

impl CronTable {
    pub fn empty(user: &Username) -> CronTable {
        CronTable {
            version: STATE_VERSION,
            username: user.clone(),
            mailto: None,
            next_id: 1,
            jobs: Vec::new(),
        }
    }

    pub fn job(&self, id: u32) -> Option<&CronJob> {
        self.jobs.iter().find(|j| j.id == id)
    }
}

impl StateStore {
    /// The account's cron table; an empty one when it has never had jobs.
    pub fn cron_table(&self, user: &Username) -> Result<CronTable, StateError> {
        let path = self.layout().cron_file(user);
        let Some(table) = yaml::read::<CronTable>(&path)? else {
            return Ok(CronTable::empty(user));
        };
        if table.version != STATE_VERSION {
            let reason = format!("unsupported version {}", table.version);
            return Err(StateError::corrupt(&path, reason));
        }
        if &table.username != user {
            return Err(StateError::corrupt(&path, "record does not match its folder".into()));
        }
        if table.jobs.iter().any(|j| j.id == 0 || j.id >= table.next_id) {
            return Err(StateError::corrupt(&path, "a job id is not below next_id".into()));
        }
        Ok(table)
    }

    pub fn write_cron_table(&self, table: &CronTable) -> Result<(), StateError> {
        yaml::write(&self.layout().cron_file(&table.username), table)
    }
}

/// The account's crontab, as `crontab -u USER -` receives it.
///
/// Every value is a validated type, so no line break can reach the text; a
/// comment is written after `# ` and a job as its schedule, a space and its
/// escaped command. Nothing a user typed can start a line.
pub fn render_crontab(table: &CronTable) -> String {
    let mut out = String::from(
        "# Written by HS-Panel from the account's cron jobs; changes made here are lost.\n",
    );
    match &table.mailto {
        Some(address) => out.push_str(&format!("MAILTO={address}\n")),
        None => out.push_str("MAILTO=\"\"\n"),
    }
    for job in &table.jobs {
        match &job.comment {
            Some(comment) => out.push_str(&format!("# job {}: {comment}\n", job.id)),
            None => out.push_str(&format!("# job {}\n", job.id)),
        }
        out.push_str(&format!("{} {}\n", job.schedule, escape_command(&job.command)));
    }
    out
}

/// The command as cron must read it to hand the shell the text as typed.
///
/// cron treats an unescaped `%` as a line break (the rest becomes the job's
/// stdin). Debian's cron 3.0pl1 (verified on this stack) turns `\%` into `%`
/// and `\\` into `\`, and keeps any other backslash; so every `\` is doubled
/// and every `%` gets a backslash, and the shell sees exactly the original.
pub fn escape_command(command: &CronCommand) -> String {
    let mut out = String::with_capacity(command.as_str().len() + 8);
    for c in command.as_str().chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("\\%"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn job(id: u32, schedule: &str, command: &str, comment: Option<&str>) -> CronJob {
        CronJob {
            id,
            schedule: schedule.parse().unwrap(),
            command: command.parse().unwrap(),
            comment: comment.map(|c| c.parse().unwrap()),
        }
    }

    #[test]
    fn escaping() {
        for (typed, rendered) in [
            ("id -u > $HOME/uid", "id -u > $HOME/uid"),
            ("date +%s", "date +\\%s"),
            ("printf '%s\\n' a", "printf '\\%s\\\\n' a"),
            ("echo 100\\%", "echo 100\\\\\\%"),
            ("a\\\\b", "a\\\\\\\\b"),
        ] {
            assert_eq!(escape_command(&typed.parse().unwrap()), rendered, "{typed}");
        }
    }

    #[test]
    fn crontab() {
        let user: Username = "alice".parse().unwrap();
        let mut table = CronTable::empty(&user);
        assert_eq!(
            render_crontab(&table),
            "# Written by HS-Panel from the account's cron jobs; changes made here are lost.\n\
             MAILTO=\"\"\n"
        );

        table.mailto = Some("ops@example.com".parse().unwrap());
        table.jobs = vec![
            job(1, "*/5 * * * *", "php ~/cron.php", None),
            job(7, "@daily", "date +%F >> ~/log", Some("daily # stamp")),
        ];
        let text = render_crontab(&table);
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "MAILTO=ops@example.com",
                "# job 1",
                "*/5 * * * * php ~/cron.php",
                "# job 7: daily # stamp",
                "@daily date +\\%F >> ~/log",
            ]
        );
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn state_round_trip_parses_again() {
        let user: Username = "alice".parse().unwrap();
        let mut table = CronTable::empty(&user);
        table.jobs.push(job(1, "0 3 * * mon", "true", Some("x")));
        table.next_id = 2;
        let text = yaml::to_string(&table).unwrap();
        assert_eq!(yaml::from_str::<CronTable>(&text).unwrap(), table);

        let smuggled = text.replace("command: 'true'", "command: \"true\\n* * * * * id\"");
        let smuggled = smuggled.replace("command: \"true\"", "command: \"true\\n* * * * * id\"");
        assert_ne!(smuggled, text);
        assert!(yaml::from_str::<CronTable>(&smuggled).is_err());
    }
}
