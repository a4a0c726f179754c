//! `hspanel ftp ...`: HS::FTP from the command line, as the administrator.
//! Passwords are read from stdin, never from argv.

use clap::Subcommand;
use hs_modules::ftp;
use hs_modules::{Actor, Panel};

use crate::Out;

#[derive(Subcommand)]
pub(crate) enum FtpCmd {
    /// The account's FTP users.
    List {
        username: String,
    },
    /// Create an FTP user; the password is read from stdin.
    Create {
        username: String,
        /// ACCOUNT_NAME, e.g. alice_web.
        login: String,
        /// Home-relative folder the user is confined to (default: the home).
        #[arg(long, default_value = "/")]
        folder: String,
    },
    Delete {
        username: String,
        login: String,
    },
    /// Set an FTP user's password, read from stdin.
    ChangePassword {
        username: String,
        login: String,
    },
}

pub(crate) fn run(
    panel: &Panel,
    admin: &Actor,
    op: &str,
    out: &Out,
    cmd: FtpCmd,
) -> anyhow::Result<()> {
    match cmd {
        FtpCmd::List { username } => {
            let view = ftp::list(panel, admin, &username.parse()?)?;
            let lines: Vec<String> =
                view.users.iter().map(|u| format!("{:<33} {}", u.login, u.folder)).collect();
            out.say(&view, &lines.join("\n"))
        }
        FtpCmd::Create { username, login, folder } => {
            let (user, login, folder) = (username.parse()?, login.parse()?, folder.parse()?);
            let password = crate::read_password()?;
            let made = ftp::create(panel, admin, &user, login, folder, password, op)?;
            let text = format!("FTP user {} created in {}", made.login, made.folder);
            out.say(&made, &text)
        }
        FtpCmd::Delete { username, login } => {
            ftp::delete(panel, admin, &username.parse()?, &login.parse()?)?;
            out.say(&serde_json::json!({ "deleted": login }), "FTP user deleted")
        }
        FtpCmd::ChangePassword { username, login } => {
            let (user, login) = (username.parse()?, login.parse()?);
            ftp::change_password(panel, admin, &user, &login, crate::read_password()?)?;
            out.say(&serde_json::json!({ "changed": login }), "FTP password changed")
        }
    }
}
