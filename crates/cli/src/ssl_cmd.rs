//! `hspanel ssl ...`: HS::SSL from the command line, as the administrator.
//! Certificates and keys are read from files, never from argv.

use clap::Subcommand;
use hs_modules::ssl::{self, CertView};
use hs_modules::{Actor, Panel};

use crate::Out;

#[derive(Subcommand)]
pub(crate) enum SslCmd {
    /// The account's certificates: issuer, serial, expiry, last failure.
    List { username: String },
    /// Install a certificate from PEM files.
    Install {
        username: String,
        /// The domain, or `*.domain` for a wildcard.
        domain: String,
        #[arg(long)]
        cert: std::path::PathBuf,
        #[arg(long)]
        key: std::path::PathBuf,
        #[arg(long)]
        chain: Option<std::path::PathBuf>,
    },
    /// Order a certificate through ACME and serve it.
    Autossl { username: String, domain: String },
    /// Renew a certificate now.
    Renew { username: String, domain: String },
    /// Renew every certificate that expires soon (all accounts).
    RenewDue {
        /// How soon, in days.
        #[arg(long, default_value_t = 30)]
        within_days: i64,
    },
    /// Remove a certificate; the domain goes back to a self-signed one.
    Delete { username: String, domain: String },
}

fn line(c: &CertView) -> String {
    let error = c.last_error.as_ref().map(|e| format!("  last error: {}", e.message));
    format!(
        "{:<30} {:?} {} until {} ({} days) serial {}{}",
        c.domain,
        c.source,
        c.issuer,
        c.not_after,
        c.days_left,
        c.serial,
        error.unwrap_or_default()
    )
}

pub(crate) fn run(panel: &Panel, admin: &Actor, out: &Out, cmd: SslCmd) -> anyhow::Result<()> {
    let mut progress = |percent: u8, what: &str| eprintln!("{percent:>3}% {what}");
    match cmd {
        SslCmd::List { username } => {
            let list = ssl::list(panel, admin, &username.parse()?)?;
            let text: Vec<String> = list.iter().map(line).collect();
            out.say(&serde_json::json!({ "certificates": list }), &text.join("\n"))
        }
        SslCmd::Install { username, domain, cert, key, chain } => {
            let cert = std::fs::read_to_string(cert)?;
            let key = std::fs::read_to_string(key)?;
            let chain = chain.map(std::fs::read_to_string).transpose()?;
            let (user, name) = (username.parse()?, domain.parse()?);
            let view = ssl::install(panel, admin, &user, &name, &cert, &key, chain.as_deref())?;
            out.say(&view, &line(&view))
        }
        SslCmd::Autossl { username, domain } => {
            let (user, name) = (username.parse()?, domain.parse()?);
            let view = ssl::autossl(panel, admin, &user, &name, &mut progress)?;
            out.say(&view, &line(&view))
        }
        SslCmd::Renew { username, domain } => {
            let (user, name) = (username.parse()?, domain.parse()?);
            let view = ssl::renew(panel, admin, &user, &name, &mut progress)?;
            out.say(&view, &line(&view))
        }
        SslCmd::RenewDue { within_days } => {
            let within = within_days.saturating_mul(86_400);
            let report = ssl::renew_due(panel, within, &mut progress)?;
            let text = format!(
                "checked {}, renewed {}, failed {}",
                report.checked,
                report.renewed.len(),
                report.failed.len()
            );
            out.say(&report, &text)
        }
        SslCmd::Delete { username, domain } => {
            let name: hs_types::CertName = domain.parse()?;
            ssl::delete(panel, admin, &username.parse()?, &name)?;
            out.say(&serde_json::json!({ "deleted": name }), &format!("deleted {name}"))
        }
    }
}
