//! `hspanel`: the command line. Every operation of the API, run locally as the
//! administrator, plus `up` for the sandbox.
//!
//! Readable output by default, `--json` for scripts. Passwords are read from stdin
//! (`--password-stdin`), never from argv. Exit codes: 0 done, 1 failed on our
//! side, 2 refused (bad input, conflict, not found, limit).

mod up;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hs_config::{Layout, PanelConfig};
use hs_modules::{Actor, ModuleError, Panel, account, database, domain, plan};
use hs_types::{
    DbHost, DbName, DbPrivilege, DbUser, DomainName, HostLabel, Password, PlanName, RedirectStatus,
    RedirectUrl, Username,
};
use serde::Serialize;

#[derive(Parser)]
#[command(name = "hspanel", version, about = "HS-Panel web hosting control panel")]
struct Cli {
    /// Act on the sandbox rooted here instead of this server's system paths.
    #[arg(long, global = true, value_name = "DIR")]
    sandbox: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the sandbox (private nginx, PHP-FPM, MariaDB and hs-srvd) until Ctrl-C.
    Up,
    /// Accounts (HS::Account).
    #[command(subcommand)]
    Account(AccountCmd),
    /// Domains of an account (HS::Domain).
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Hosting plans.
    #[command(subcommand)]
    Plan(PlanCmd),
    /// MariaDB databases and users of an account (HS::Database).
    #[command(subcommand)]
    Database(DatabaseCmd),
    /// Finish or undo operations that a crash interrupted.
    Recover,
}

#[derive(Subcommand)]
enum AccountCmd {
    /// Create an account; the password is read from stdin.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        domain: String,
        #[arg(long, default_value = "default")]
        plan: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    List,
    Show {
        username: String,
    },
    Suspend {
        username: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    Unsuspend {
        username: String,
    },
    Terminate {
        username: String,
    },
    ChangePlan {
        username: String,
        plan: String,
    },
    /// Set the password, read from stdin.
    SetPassword {
        username: String,
    },
}

#[derive(Subcommand)]
enum DomainCmd {
    Add {
        username: String,
        domain: String,
    },
    AddSubdomain {
        username: String,
        domain: String,
        subdomain: String,
    },
    Park {
        username: String,
        domain: String,
        target: String,
    },
    Redirect {
        username: String,
        domain: String,
        url: String,
        #[arg(long, default_value = "301")]
        status: String,
    },
    RemoveRedirect {
        username: String,
        domain: String,
    },
    Delete {
        username: String,
        domain: String,
    },
    List {
        username: String,
    },
}

#[derive(Subcommand)]
enum DatabaseCmd {
    /// Create a database; NAME carries the account's prefix (alice_shop).
    CreateDb {
        username: String,
        name: String,
    },
    /// Drop a database with its data and grants.
    DeleteDb {
        username: String,
        name: String,
    },
    /// Create a database user; the password is read from stdin.
    CreateUser {
        username: String,
        name: String,
    },
    DeleteUser {
        username: String,
        name: String,
    },
    /// Set a database user's password, read from stdin.
    ChangePassword {
        username: String,
        name: String,
    },
    /// Grant privileges (ALL, or e.g. SELECT INSERT) on a database to a user.
    Grant {
        username: String,
        user: String,
        db: String,
        #[arg(required = true)]
        privileges: Vec<String>,
    },
    /// Revoke privileges (ALL, or e.g. INSERT) on a database from a user.
    Revoke {
        username: String,
        user: String,
        db: String,
        #[arg(required = true)]
        privileges: Vec<String>,
    },
    /// Databases with their size, users with their grants.
    List {
        username: String,
    },
    /// Replace the remote addresses a user may connect from (none: this server only).
    SetRemoteHosts {
        username: String,
        name: String,
        hosts: Vec<String>,
    },
}

#[derive(Subcommand)]
enum PlanCmd {
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let refused =
                e.downcast_ref::<ModuleError>().is_some_and(ModuleError::is_callers_fault)
                    || e.downcast_ref::<hs_types::InvalidValue>().is_some();
            if json {
                let code = e.downcast_ref::<ModuleError>().map_or("failed", ModuleError::code);
                let body =
                    serde_json::json!({ "error": { "code": code, "message": format!("{e:#}") } });
                println!("{body}");
            } else {
                eprintln!("hspanel: {e:#}");
            }
            ExitCode::from(if refused { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let layout = match &cli.sandbox {
        Some(dir) => Layout::sandbox(dir.canonicalize().unwrap_or_else(|_| dir.clone())),
        None => Layout::system(),
    };
    if let Command::Up = cli.command {
        let Some(dir) = &cli.sandbox else {
            anyhow::bail!("`hspanel up` needs --sandbox DIR");
        };
        return up::run(dir);
    }

    let config = PanelConfig::read(&layout.panel_config())?;
    let panel = local_panel(layout, config);
    let out = Out { json: cli.json };
    let admin = Actor::admin("root");
    let op = format!("cli-{}", std::process::id());

    match cli.command {
        Command::Up => Ok(()),
        Command::Recover => {
            let n = account::recover(&panel)?;
            out.say(&serde_json::json!({ "recovered": n }), &format!("{n} operations recovered"))
        }
        Command::Account(cmd) => run_account(&panel, &admin, &op, &out, cmd),
        Command::Domain(cmd) => run_domain(&panel, &admin, &op, &out, cmd),
        Command::Database(cmd) => run_database(&panel, &admin, &out, cmd),
        Command::Plan(PlanCmd::List) => {
            let plans = plan::list(&panel, &admin)?;
            let text = plans.iter().map(|p| p.name.to_string()).collect::<Vec<_>>().join("\n");
            out.say(&serde_json::json!({ "plans": plans }), &text)
        }
    }
}

fn run_account(
    panel: &Panel,
    admin: &Actor,
    op: &str,
    out: &Out,
    cmd: AccountCmd,
) -> anyhow::Result<()> {
    match cmd {
        AccountCmd::Create { username, domain, plan, .. } => {
            let req = account::CreateAccount {
                username: username.parse()?,
                domain: domain.parse()?,
                password: read_password()?,
                plan: Some(plan.parse::<PlanName>()?),
                reseller: false,
                max_accounts: None,
            };
            let view = account::create(panel, admin, req, op)?;
            out.say(&view, &format!("created {} with {}", view.username, view.domain))
        }
        AccountCmd::List => {
            let list = account::list(panel, admin)?;
            let text = list
                .iter()
                .map(|a| {
                    format!(
                        "{:<16} {:<30} {:<10} {}",
                        a.username,
                        a.domain,
                        a.plan,
                        if a.suspended { "suspended" } else { "active" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            out.say(&serde_json::json!({ "accounts": list }), &text)
        }
        AccountCmd::Show { username } => {
            let view = account::show(panel, admin, &username.parse()?)?;
            out.say(&view, &format!("{view:#?}"))
        }
        AccountCmd::Suspend { username, reason } => {
            let view = account::suspend(panel, admin, &username.parse()?, &reason)?;
            out.say(&view, &format!("suspended {}", view.username))
        }
        AccountCmd::Unsuspend { username } => {
            let view = account::unsuspend(panel, admin, &username.parse()?)?;
            out.say(&view, &format!("unsuspended {}", view.username))
        }
        AccountCmd::Terminate { username } => {
            let user: Username = username.parse()?;
            account::terminate(panel, admin, &user, op)?;
            out.say(&serde_json::json!({ "terminated": user }), &format!("terminated {user}"))
        }
        AccountCmd::ChangePlan { username, plan } => {
            let view = account::change_plan(panel, admin, &username.parse()?, &plan.parse()?)?;
            out.say(&view, &format!("{} is on plan {}", view.username, view.plan))
        }
        AccountCmd::SetPassword { username } => {
            let user: Username = username.parse()?;
            account::change_password(panel, admin, &user, &read_password()?)?;
            out.say(&serde_json::json!({ "changed": true }), "password changed")
        }
    }
}

fn run_domain(
    panel: &Panel,
    admin: &Actor,
    op: &str,
    out: &Out,
    cmd: DomainCmd,
) -> anyhow::Result<()> {
    let shown =
        |view: domain::DomainView| out.say(&view, &format!("{} ({})", view.domain, view.kind));
    match cmd {
        DomainCmd::Add { username, domain: name } => {
            shown(domain::add_addon(panel, admin, &username.parse()?, name.parse()?, op)?)
        }
        DomainCmd::AddSubdomain { username, domain: name, subdomain } => {
            let label: HostLabel = subdomain.parse()?;
            shown(domain::add_subdomain(
                panel,
                admin,
                &username.parse()?,
                name.parse()?,
                label,
                op,
            )?)
        }
        DomainCmd::Park { username, domain: name, target } => shown(domain::park(
            panel,
            admin,
            &username.parse()?,
            name.parse()?,
            target.parse()?,
            op,
        )?),
        DomainCmd::Redirect { username, domain: name, url, status } => {
            let to = Some((url.parse::<RedirectUrl>()?, status.parse::<RedirectStatus>()?));
            let name: DomainName = name.parse()?;
            shown(domain::set_redirect(panel, admin, &username.parse()?, &name, to)?)
        }
        DomainCmd::RemoveRedirect { username, domain: name } => {
            let name: DomainName = name.parse()?;
            shown(domain::set_redirect(panel, admin, &username.parse()?, &name, None)?)
        }
        DomainCmd::Delete { username, domain: name } => {
            let name: DomainName = name.parse()?;
            domain::delete(panel, admin, &username.parse()?, &name, op)?;
            out.say(&serde_json::json!({ "deleted": name }), &format!("deleted {name}"))
        }
        DomainCmd::List { username } => {
            let list = domain::list(panel, admin, &username.parse()?)?;
            let text =
                list.iter().map(|d| format!("{:<40} {}", d.domain, d.kind)).collect::<Vec<_>>();
            out.say(&serde_json::json!({ "domains": list }), &text.join("\n"))
        }
    }
}

fn run_database(panel: &Panel, admin: &Actor, out: &Out, cmd: DatabaseCmd) -> anyhow::Result<()> {
    let privileges = |list: Vec<String>| -> anyhow::Result<Vec<DbPrivilege>> {
        Ok(list.iter().map(|p| p.parse()).collect::<Result<_, _>>()?)
    };
    let user_view = |view: database::DbUserView| {
        let grants: Vec<String> =
            view.grants.iter().map(|g| format!("{}: {}", g.db, g.privileges.join(", "))).collect();
        out.say(&view, &format!("{} {}", view.name, grants.join("; ")))
    };
    match cmd {
        DatabaseCmd::CreateDb { username, name } => {
            let view = database::create_db(panel, admin, &username.parse()?, name.parse()?)?;
            out.say(&view, &format!("created database {}", view.name))
        }
        DatabaseCmd::DeleteDb { username, name } => {
            let name: DbName = name.parse()?;
            database::delete_db(panel, admin, &username.parse()?, &name)?;
            out.say(&serde_json::json!({ "deleted": name }), &format!("dropped {name}"))
        }
        DatabaseCmd::CreateUser { username, name } => {
            let user: Username = username.parse()?;
            let view =
                database::create_user(panel, admin, &user, name.parse()?, &read_password()?)?;
            out.say(&view, &format!("created database user {}", view.name))
        }
        DatabaseCmd::DeleteUser { username, name } => {
            let name: DbUser = name.parse()?;
            database::delete_user(panel, admin, &username.parse()?, &name)?;
            out.say(&serde_json::json!({ "deleted": name }), &format!("dropped {name}"))
        }
        DatabaseCmd::ChangePassword { username, name } => {
            let name: DbUser = name.parse()?;
            database::change_password(panel, admin, &username.parse()?, &name, &read_password()?)?;
            out.say(&serde_json::json!({ "changed": name }), "password changed")
        }
        DatabaseCmd::Grant { username, user, db, privileges: list } => {
            let (user, db): (DbUser, DbName) = (user.parse()?, db.parse()?);
            let list = privileges(list)?;
            user_view(database::grant(panel, admin, &username.parse()?, &user, &db, &list)?)
        }
        DatabaseCmd::Revoke { username, user, db, privileges: list } => {
            let (user, db): (DbUser, DbName) = (user.parse()?, db.parse()?);
            let list = privileges(list)?;
            user_view(database::revoke(panel, admin, &username.parse()?, &user, &db, &list)?)
        }
        DatabaseCmd::List { username } => {
            let view = database::list(panel, admin, &username.parse()?)?;
            let mut lines: Vec<String> = view
                .databases
                .iter()
                .map(|d| format!("database {:<40} {} bytes", d.name, d.size_bytes))
                .collect();
            for u in &view.users {
                let grants: Vec<String> = u
                    .grants
                    .iter()
                    .map(|g| format!("{}({})", g.db, g.privileges.join(",")))
                    .collect();
                lines.push(format!("user     {:<40} {}", u.name, grants.join(" ")));
            }
            out.say(&view, &lines.join("\n"))
        }
        DatabaseCmd::SetRemoteHosts { username, name, hosts } => {
            let name: DbUser = name.parse()?;
            let hosts: Vec<DbHost> = hosts.iter().map(|h| h.parse()).collect::<Result<_, _>>()?;
            user_view(database::set_remote_hosts(panel, admin, &username.parse()?, &name, hosts)?)
        }
    }
}

struct Out {
    json: bool,
}

impl Out {
    fn say<T: Serialize>(&self, value: &T, text: &str) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string(value)?);
        } else if !text.is_empty() {
            println!("{text}");
        }
        Ok(())
    }
}

/// One line from stdin, without its line break: passwords never travel in argv.
fn read_password() -> anyhow::Result<Password> {
    let mut text = String::new();
    std::io::stdin().take(4096).read_to_string(&mut text)?;
    let line = text.lines().next().unwrap_or_default();
    Ok(line.parse()?)
}

/// The panel as the CLI and `up` use it: local state, the real services.
pub(crate) fn local_panel(layout: Layout, config: PanelConfig) -> Panel {
    let pipeline = hs_services::pipeline(&layout, &config);
    let mut panel = Panel::new(layout.clone(), config.clone(), pipeline);
    if let Ok(auth) = hs_auth::Authenticator::open(&layout.auth_dir(), config.api.token_ttl_secs) {
        panel = panel.with_auth(auth);
    }
    panel
}

/// 24 random characters drawn from letters and digits, with all three classes.
pub(crate) fn random_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let mut password: String =
        bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    password.replace_range(0..3, "aA7");
    Ok(password)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HSPANEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
