//! `hspanel mail ...`: HS::Mail from the command line, as the administrator.
//! Passwords are read from stdin, never from argv.

use clap::Subcommand;
use hs_config::mail::Autoresponder;
use hs_modules::mail::{self, NewMailbox};
use hs_modules::{Actor, Panel};
use serde_json::json;

use crate::Out;

#[derive(Subcommand)]
pub(crate) enum MailCmd {
    /// Create a mailbox USER@DOMAIN; the password is read from stdin.
    CreateAccount {
        domain: String,
        user: String,
        /// e.g. 1024M, 2G or unlimited.
        #[arg(long, default_value = "1024M")]
        quota: String,
    },
    /// Set a mailbox's password, read from stdin.
    ChangePassword {
        email: String,
    },
    SetQuota {
        email: String,
        quota: String,
    },
    SetSpamThreshold {
        email: String,
        threshold: String,
    },
    DeleteAccount {
        email: String,
    },
    /// An account's mailboxes (with usage) and forwarders.
    ListAccounts {
        username: String,
    },
    /// Forward SOURCE to one or more destinations.
    CreateForwarder {
        source: String,
        #[arg(required = true)]
        dest: Vec<String>,
    },
    DeleteForwarder {
        source: String,
    },
    /// Deliver mail for unknown addresses of DOMAIN to DEST (none: refuse it).
    SetCatchall {
        domain: String,
        dest: Vec<String>,
    },
    /// Answer mail automatically; the message is read from stdin.
    SetAutoresponder {
        email: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        start: Option<String>,
        #[arg(long)]
        end: Option<String>,
        /// Hours between two replies to one sender.
        #[arg(long, default_value_t = 24)]
        interval: u32,
    },
    DeleteAutoresponder {
        email: String,
    },
}

fn parse_all<T: std::str::FromStr>(items: &[String]) -> anyhow::Result<Vec<T>>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    items.iter().map(|s| Ok(s.parse()?)).collect()
}

pub(crate) fn run(
    panel: &Panel,
    admin: &Actor,
    op: &str,
    out: &Out,
    cmd: MailCmd,
) -> anyhow::Result<()> {
    match cmd {
        MailCmd::CreateAccount { domain, user, quota } => {
            let new = NewMailbox {
                user: user.parse()?,
                password: crate::read_password()?,
                quota: quota.parse()?,
                spam_threshold: None,
            };
            let made = mail::create_accounts(panel, admin, &domain.parse()?, vec![new], op)?;
            out.say(&made, &format!("mailbox {user}@{domain} created"))
        }
        MailCmd::ChangePassword { email } => {
            mail::change_password(panel, admin, &email.parse()?, crate::read_password()?)?;
            out.say(&json!({ "changed": email }), "password changed")
        }
        MailCmd::SetQuota { email, quota } => {
            mail::set_quota(panel, admin, &email.parse()?, quota.parse()?)?;
            out.say(&json!({ "email": email, "quota": quota }), "quota set")
        }
        MailCmd::SetSpamThreshold { email, threshold } => {
            mail::set_spam_threshold(panel, admin, &email.parse()?, threshold.parse()?)?;
            out.say(&json!({ "email": email, "spam_threshold": threshold }), "threshold set")
        }
        MailCmd::DeleteAccount { email } => {
            mail::delete_account(panel, admin, &email.parse()?)?;
            out.say(&json!({ "deleted": email }), "mailbox deleted")
        }
        MailCmd::ListAccounts { username } => {
            let view = mail::list(panel, admin, &username.parse()?)?;
            let mut lines: Vec<String> = view
                .accounts
                .iter()
                .map(|a| format!("{:<40} {:>12} / {}", a.email, a.usage, a.quota))
                .collect();
            lines.extend(
                view.forwarders
                    .iter()
                    .map(|f| format!("{:<40} -> {}", f.source, f.dest.join(", "))),
            );
            out.say(&view, &lines.join("\n"))
        }
        MailCmd::CreateForwarder { source, dest } => {
            let list = vec![(source.parse()?, parse_all(&dest)?)];
            let made = mail::create_forwarders(panel, admin, list, op)?;
            out.say(&made, "forwarder created")
        }
        MailCmd::DeleteForwarder { source } => {
            mail::delete_forwarder(panel, admin, &source.parse()?)?;
            out.say(&json!({ "deleted": source }), "forwarder deleted")
        }
        MailCmd::SetCatchall { domain, dest } => {
            mail::set_catchall(panel, admin, &domain.parse()?, parse_all(&dest)?)?;
            out.say(&json!({ "domain": domain, "catchall": dest }), "catch-all set")
        }
        MailCmd::SetAutoresponder { email, subject, start, end, interval } => {
            let mut body = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut body)?;
            let auto = Autoresponder {
                subject: subject.parse()?,
                body: body.parse()?,
                start: start.map(|s| s.parse()).transpose()?,
                end: end.map(|s| s.parse()).transpose()?,
                interval_hours: interval,
            };
            mail::set_autoresponder(panel, admin, &email.parse()?, auto)?;
            out.say(&json!({ "email": email, "autoresponder": true }), "autoresponder set")
        }
        MailCmd::DeleteAutoresponder { email } => {
            mail::delete_autoresponder(panel, admin, &email.parse()?)?;
            out.say(&json!({ "email": email, "autoresponder": false }), "autoresponder removed")
        }
    }
}
