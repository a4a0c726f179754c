//! `hspanel cron ...`: HS::Cron from the command line, as the administrator.

use clap::Subcommand;
use hs_modules::cron::{self, CommentInput, JobChange, NewJob};
use hs_modules::{Actor, Panel};
use hs_types::{EmailAddress, Username};

use crate::Out;

#[derive(Subcommand)]
pub(crate) enum CronCmd {
    /// The account's jobs with their next run times.
    List {
        username: String,
    },
    /// Add a job: `cron add alice '*/5 * * * *' 'php ~/cron.php'`.
    Add {
        username: String,
        schedule: String,
        command: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Change a job; options not given stay as they are.
    Edit {
        username: String,
        id: u32,
        #[arg(long)]
        schedule: Option<String>,
        #[arg(long)]
        command: Option<String>,
        /// An empty comment removes it.
        #[arg(long)]
        comment: Option<String>,
    },
    Delete {
        username: String,
        id: u32,
    },
    /// Where cron mails the output; without an address it is discarded.
    SetMailto {
        username: String,
        address: Option<String>,
    },
    /// The crontab as cron has it installed (`crontab -l`).
    Crontab {
        username: String,
    },
}

pub(crate) fn run(panel: &Panel, admin: &Actor, out: &Out, cmd: CronCmd) -> anyhow::Result<()> {
    let shown = |job: cron::JobView| {
        let text = format!("{:<5} {} {}", job.id, job.schedule, job.command);
        out.say(&job, &text)
    };
    match cmd {
        CronCmd::List { username } => {
            let view = cron::list(panel, admin, &username.parse()?)?;
            let mut lines = Vec::new();
            for job in &view.jobs {
                let next = job.next_runs.first().map_or("at start-up", String::as_str);
                lines.push(format!(
                    "{:<5} {:<20} {}  (next {next})",
                    job.id, job.schedule, job.command
                ));
            }
            out.say(&view, &lines.join("\n"))
        }
        CronCmd::Add { username, schedule, command, comment } => {
            let job = NewJob {
                schedule: schedule.parse()?,
                command: command.parse()?,
                comment: comment.as_deref().map(CommentInput::parse).transpose()?,
            };
            shown(cron::add(panel, admin, &username.parse()?, job)?)
        }
        CronCmd::Edit { username, id, schedule, command, comment } => {
            let change = JobChange {
                schedule: schedule.map(|s| s.parse()).transpose()?,
                command: command.map(|c| c.parse()).transpose()?,
                comment: comment.as_deref().map(CommentInput::parse).transpose()?,
            };
            shown(cron::edit(panel, admin, &username.parse()?, id, change)?)
        }
        CronCmd::Delete { username, id } => {
            cron::delete(panel, admin, &username.parse()?, id)?;
            out.say(&serde_json::json!({ "deleted": id }), &format!("deleted job {id}"))
        }
        CronCmd::SetMailto { username, address } => {
            let mailto = address.map(|a| a.parse::<EmailAddress>()).transpose()?;
            let view = cron::set_mailto(panel, admin, &username.parse()?, mailto)?;
            let text = view.mailto.clone().unwrap_or_else(|| "output discarded".into());
            out.say(&view, &text)
        }
        CronCmd::Crontab { username } => {
            let user: Username = username.parse()?;
            let text = cron::installed(panel, admin, &user)?;
            out.say(
                &serde_json::json!({ "username": user, "crontab": text }),
                text.as_deref().unwrap_or(""),
            )
        }
    }
}
