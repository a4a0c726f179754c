//! `hspanel backup ...`: HS::Backup from the command line, as the administrator.
//! Progress goes to stderr; secrets of destinations are read from stdin.

use clap::Subcommand;
use hs_modules::backup::{
    self, CreateRequest, Frequency, NewDestination, RestoreOptions, Schedule,
};
use hs_modules::{Actor, Panel};

use crate::Out;

#[derive(Subcommand)]
pub(crate) enum BackupCmd {
    /// Back up an account: a full archive, or an incremental snapshot.
    Create {
        username: String,
        #[arg(long)]
        incremental: bool,
        /// A remote destination (incremental only).
        #[arg(long)]
        destination: Option<String>,
    },
    /// Backups of one account, or of every account.
    List {
        username: Option<String>,
    },
    /// Restore a whole account (or, with --zone, one zone).
    Restore {
        username: String,
        id: String,
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        zone: Option<String>,
    },
    /// Restore one file or folder of the home (beside it unless --replace).
    RestoreFile {
        username: String,
        id: String,
        path: String,
        #[arg(long)]
        replace: bool,
    },
    /// Restore one database (as NAME_restored unless --replace).
    RestoreDb {
        username: String,
        id: String,
        name: String,
        #[arg(long)]
        replace: bool,
    },
    /// Restore one mailbox's maildir.
    RestoreMailbox {
        username: String,
        id: String,
        mailbox: String,
        #[arg(long)]
        replace: bool,
    },
    /// Restore into a scratch folder and compare with the manifest.
    Verify {
        username: String,
        id: String,
    },
    Delete {
        username: String,
        id: String,
    },
    /// Set a schedule: an account's, or the server's without USERNAME.
    Schedule {
        /// daily, weekly, monthly or off.
        frequency: String,
        username: Option<String>,
        #[arg(long, default_value_t = 7)]
        keep: u32,
        #[arg(long)]
        incremental: bool,
        #[arg(long)]
        destination: Option<String>,
        #[arg(long)]
        verify: bool,
    },
    /// Run the schedule for one account now (what hs-taskd runs): backup,
    /// retention, verification.
    RunScheduled {
        username: String,
    },
    /// Add a destination; its JSON (as for the API) is read from stdin.
    AddDestination,
    ListDestinations,
    DeleteDestination {
        name: String,
    },
}

pub(crate) fn run(
    panel: &Panel,
    admin: &Actor,
    op: &str,
    out: &Out,
    cmd: BackupCmd,
) -> anyhow::Result<()> {
    let mut progress = |pct: u8, step: &str| eprintln!("{pct:>3}% {step}");
    match cmd {
        BackupCmd::Create { username, incremental, destination } => {
            let destination = destination.map(|d| d.parse()).transpose()?;
            let req = CreateRequest { incremental, destination };
            let made = backup::create(panel, admin, &username.parse()?, req, &mut progress)?;
            let text = format!("backup {} created", made["id"].as_str().unwrap_or("?"));
            out.say(&made, &text)
        }
        BackupCmd::List { username } => {
            let user = username.map(|u| u.parse()).transpose()?;
            let list = backup::list(panel, admin, user.as_ref())?;
            let lines: Vec<String> = list
                .iter()
                .map(|b| {
                    format!(
                        "{:<12} {:<30} {:<11} {:>12}",
                        b["user"].as_str().unwrap_or(""),
                        b["id"].as_str().unwrap_or(""),
                        b["kind"].as_str().unwrap_or(""),
                        b["size"]
                    )
                })
                .collect();
            out.say(&serde_json::json!({ "backups": list }), &lines.join("\n"))
        }
        BackupCmd::Restore { username, id, replace, zone } => {
            let zone = zone.map(|z| z.parse()).transpose()?;
            let opts = RestoreOptions { replace, zone };
            let (user, id) = (username.parse()?, id.parse()?);
            let done = backup::restore(panel, admin, &user, &id, opts, op, &mut progress)?;
            out.say(&done, "restored")
        }
        BackupCmd::RestoreFile { username, id, path, replace } => {
            let (user, id, path) = (username.parse()?, id.parse()?, path.parse()?);
            let done =
                backup::restore_file(panel, admin, &user, &id, &path, replace, &mut progress)?;
            let text = format!("restored as {}", done["restored"].as_str().unwrap_or("?"));
            out.say(&done, &text)
        }
        BackupCmd::RestoreDb { username, id, name, replace } => {
            let (user, id, name) = (username.parse()?, id.parse()?, name.parse()?);
            let done = backup::restore_db(panel, admin, &user, &id, &name, replace, &mut progress)?;
            out.say(&done, "database restored")
        }
        BackupCmd::RestoreMailbox { username, id, mailbox, replace } => {
            let (user, id, mailbox) = (username.parse()?, id.parse()?, mailbox.parse()?);
            let done = backup::restore_mailbox(
                panel,
                admin,
                &user,
                &id,
                &mailbox,
                replace,
                &mut progress,
            )?;
            out.say(&done, "mailbox restored")
        }
        BackupCmd::Verify { username, id } => {
            let (user, id) = (username.parse()?, id.parse()?);
            let done = backup::verify(panel, admin, &user, &id, &mut progress)?;
            let text = if done["ok"] == true { "verified".to_string() } else { done.to_string() };
            out.say(&done, &text)
        }
        BackupCmd::Delete { username, id } => {
            let (user, id): (hs_types::Username, hs_types::BackupId) =
                (username.parse()?, id.parse()?);
            backup::delete(panel, admin, &user, &id)?;
            out.say(&serde_json::json!({ "deleted": id }), "backup deleted")
        }
        BackupCmd::Schedule { frequency, username, keep, incremental, destination, verify } => {
            let frequency: Frequency = serde_json::from_value(serde_json::json!(frequency))
                .map_err(|_| anyhow::anyhow!("frequency: daily, weekly, monthly or off"))?;
            let destination = destination.map(|d| d.parse()).transpose()?;
            let s = Schedule { version: 1, frequency, keep, incremental, destination, verify };
            let user = username.map(|u| u.parse()).transpose()?;
            let done = backup::set_schedule(panel, admin, user.as_ref(), s)?;
            out.say(&done, "schedule saved")
        }
        BackupCmd::RunScheduled { username } => {
            let done = backup::run_scheduled(panel, &username.parse()?, &mut progress)?;
            out.say(&done, "scheduled run done")
        }
        BackupCmd::AddDestination => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
            let input: NewDestination = serde_json::from_str(&text)?;
            let done = backup::add_destination(panel, admin, input)?;
            out.say(&done, "destination added")
        }
        BackupCmd::ListDestinations => {
            let list = backup::list_destinations(panel, admin)?;
            let lines: Vec<String> =
                list.iter().map(|d| d["name"].as_str().unwrap_or("").to_string()).collect();
            out.say(&serde_json::json!({ "destinations": list }), &lines.join("\n"))
        }
        BackupCmd::DeleteDestination { name } => {
            backup::delete_destination(panel, admin, &name.parse()?)?;
            out.say(&serde_json::json!({ "deleted": name }), "destination deleted")
        }
    }
}
