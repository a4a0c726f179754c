//! `hspanel`: the command line. Every operation of the API, run locally as the
//! administrator, plus `up` for the sandbox.
//!
//! Readable output by default, `--json` for scripts. Passwords are read from stdin
//! (`--password-stdin`), never from argv. Exit codes: 0 done, 1 failed on our
//! side, 2 refused (bad input, conflict, not found, limit).

mod backup_cmd;
mod cron_cmd;
mod files_cmd;
mod ftp_cmd;
mod mail_cmd;
mod monitor;
mod plugin_cmd;
mod ssl_cmd;
mod task_cmd;
mod up;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use backup_cmd::BackupCmd;
use clap::{Parser, Subcommand};
use cron_cmd::CronCmd;
use files_cmd::FilesCmd;
use ftp_cmd::FtpCmd;
use hs_config::{Layout, PanelConfig};
use hs_modules::{Actor, ModuleError, Panel, account, database, dns, domain, plan};
use hs_types::{
    DbHost, DbName, DbPrivilege, DbUser, DomainName, HostLabel, Password, PlanName, RedirectStatus,
    RedirectUrl, Username,
};
use mail_cmd::MailCmd;
use plugin_cmd::PluginCmd;
use serde::Serialize;
use ssl_cmd::SslCmd;

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
    /// Prepare this server for the panel (system layout): config, web layout, the
    /// default plan, and the administrator, whose password is read from stdin.
    Init {
        /// The server's own host name, e.g. server1.example.com.
        #[arg(long)]
        hostname: String,
        /// The address customers' sites resolve to.
        #[arg(long)]
        ip: std::net::IpAddr,
    },
    /// Accounts (HS::Account).
    #[command(subcommand)]
    Account(AccountCmd),
    /// Domains of an account (HS::Domain).
    #[command(subcommand)]
    Domain(DomainCmd),
    /// DNS zones and records (HS::DNS).
    #[command(subcommand)]
    Dns(DnsCmd),
    /// Hosting plans.
    #[command(subcommand)]
    Plan(PlanCmd),
    /// Server health, services, usage and web statistics (HS::Monitor).
    #[command(subcommand)]
    Monitor(monitor::MonitorCmd),
    /// MariaDB databases and users of an account (HS::Database).
    #[command(subcommand)]
    Database(DatabaseCmd),
    /// Finish or undo operations that a crash interrupted.
    Recover,
    /// Cron jobs of an account (HS::Cron).
    #[command(subcommand)]
    Cron(CronCmd),
    /// FTP users of an account (HS::FTP).
    #[command(subcommand)]
    Ftp(FtpCmd),
    /// HS::Mail: mailboxes, forwarders, catch-alls, autoresponders.
    #[command(subcommand)]
    Mail(MailCmd),
    /// Certificates of an account (HS::SSL).
    #[command(subcommand)]
    Ssl(SslCmd),
    /// Files of an account (HS::FileManager), as the account's own user.
    #[command(subcommand)]
    Files(FilesCmd),
    /// Jobs of hs-taskd's queue: list, status, cancel, watch, submit.
    #[command(subcommand)]
    Task(task_cmd::TaskCmd),
    /// Plugins: list, hook points, enable, disable.
    #[command(subcommand)]
    Plugin(PluginCmd),
    /// Backups and restores (HS::Backup).
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Internal: become a sandbox's private cron (started by `up`).
    #[command(hide = true)]
    SandboxCron {
        #[arg(long)]
        root: PathBuf,
    },
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

/// A record's fields, as in the API.
#[derive(clap::Args)]
struct RecordArgs {
    /// A, AAAA, CNAME, MX, TXT, SRV, CAA or NS.
    #[arg(long = "type")]
    rtype: String,
    /// Relative to the zone (`@` for the apex), or absolute inside it.
    #[arg(long)]
    name: String,
    /// As in a zone file (`10 mail` for MX); TXT as plain text.
    #[arg(long)]
    value: String,
    #[arg(long)]
    ttl: Option<i64>,
    #[arg(long)]
    priority: Option<u16>,
}

impl RecordArgs {
    fn input(&self) -> anyhow::Result<dns::RecordInput> {
        Ok(dns::RecordInput {
            rtype: self.rtype.parse()?,
            name: self.name.clone(),
            value: self.value.clone(),
            ttl: self.ttl.map(hs_types::Ttl::try_from).transpose()?,
            priority: self.priority,
        })
    }
}

#[derive(Subcommand)]
enum DnsCmd {
    CreateZone {
        username: String,
        domain: String,
        #[arg(long)]
        template: Option<String>,
    },
    DeleteZone {
        username: String,
        domain: String,
    },
    /// The zone's records with their ids.
    List {
        username: String,
        domain: String,
    },
    Add {
        username: String,
        domain: String,
        #[command(flatten)]
        record: RecordArgs,
    },
    Edit {
        username: String,
        domain: String,
        id: u64,
        #[command(flatten)]
        record: RecordArgs,
    },
    Delete {
        username: String,
        domain: String,
        id: u64,
    },
    ApplyTemplate {
        username: String,
        domain: String,
        template: String,
    },
    /// Replace the zone's records with a master file's (`-` or no file: stdin).
    Import {
        username: String,
        domain: String,
        file: Option<PathBuf>,
    },
    /// Print the zone as a master file.
    Export {
        username: String,
        domain: String,
    },
    /// Sign the zone with DNSSEC (`on`) or go back to unsigned (`off`).
    Dnssec {
        username: String,
        domain: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
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
    if let Command::SandboxCron { root } = &cli.command {
        // Before anything else: unsharing the mount namespace needs one thread.
        let never = hs_services::cron::exec_private(root).map_err(anyhow::Error::msg)?;
        match never {}
    }
    if let Command::Up = cli.command {
        let Some(dir) = &cli.sandbox else {
            anyhow::bail!("`hspanel up` needs --sandbox DIR");
        };
        return up::run(dir);
    }

    if let Command::Init { hostname, ip } = &cli.command {
        return init(&layout, hostname, *ip);
    }

    let config = PanelConfig::read(&layout.panel_config())?;
    let panel = local_panel(layout, config);
    let out = Out { json: cli.json };
    let op = format!("cli-{}", std::process::id());
    // The operation id travels with the actor, so plugin hooks receive it.
    let admin = Actor::admin("root").in_op(&op);

    match cli.command {
        Command::Up | Command::Init { .. } | Command::SandboxCron { .. } => Ok(()),
        Command::Cron(cmd) => cron_cmd::run(&panel, &admin, &out, cmd),
        Command::Ftp(cmd) => ftp_cmd::run(&panel, &admin, &op, &out, cmd),
        Command::Mail(cmd) => mail_cmd::run(&panel, &admin, &op, &out, cmd),
        Command::Ssl(cmd) => ssl_cmd::run(&panel, &admin, &out, cmd),
        Command::Files(cmd) => files_cmd::run(&panel, &admin, &op, &out, cmd),
        Command::Task(cmd) => task_cmd::run(&panel, &admin, &out, cmd),
        Command::Plugin(cmd) => plugin_cmd::run(&panel, &admin, &out, cmd),
        Command::Backup(cmd) => backup_cmd::run(&panel, &admin, &op, &out, cmd),
        Command::Recover => {
            let n = account::recover(&panel)?;
            out.say(&serde_json::json!({ "recovered": n }), &format!("{n} operations recovered"))
        }
        Command::Account(cmd) => run_account(&panel, &admin, &op, &out, cmd),
        Command::Domain(cmd) => run_domain(&panel, &admin, &op, &out, cmd),
        Command::Dns(cmd) => run_dns(&panel, &admin, &out, cmd),
        Command::Monitor(cmd) => monitor::run(&panel, &admin, &out, cmd),
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

fn run_dns(panel: &Panel, admin: &Actor, out: &Out, cmd: DnsCmd) -> anyhow::Result<()> {
    let zone_text = |z: &dns::ZoneView| {
        let mut lines = vec![format!("{} serial {}", z.domain, z.serial)];
        for r in &z.records {
            let line =
                format!("{:>5}  {:<24} {:>6} {:<5} {}", r.id, r.name, r.ttl, r.rtype, r.value);
            lines.push(line);
        }
        lines.extend(z.ds.iter().map(|ds| format!("DS for the registrar: {ds}")));
        lines.join("\n")
    };
    let record_text = |r: &dns::RecordView| {
        format!("{} {} {} {} {} (id {})", r.name, r.ttl, "IN", r.rtype, r.value, r.id)
    };
    match cmd {
        DnsCmd::CreateZone { username, domain, template } => {
            let zone = dns::create_zone(
                panel,
                admin,
                &username.parse()?,
                &domain.parse()?,
                template.as_deref(),
            )?;
            out.say(&zone, &zone_text(&zone))
        }
        DnsCmd::DeleteZone { username, domain } => {
            let name: DomainName = domain.parse()?;
            dns::delete_zone(panel, admin, &username.parse()?, &name)?;
            out.say(&serde_json::json!({ "deleted": name }), &format!("deleted the zone {name}"))
        }
        DnsCmd::List { username, domain } => {
            let zone = dns::list_records(panel, admin, &username.parse()?, &domain.parse()?)?;
            out.say(&zone, &zone_text(&zone))
        }
        DnsCmd::Add { username, domain, record } => {
            let input = record.input()?;
            let view = dns::add_record(panel, admin, &username.parse()?, &domain.parse()?, &input)?;
            out.say(&view, &record_text(&view))
        }
        DnsCmd::Edit { username, domain, id, record } => {
            let input = record.input()?;
            let user: Username = username.parse()?;
            let view = dns::edit_record(panel, admin, &user, &domain.parse()?, id, &input)?;
            out.say(&view, &record_text(&view))
        }
        DnsCmd::Delete { username, domain, id } => {
            dns::delete_record(panel, admin, &username.parse()?, &domain.parse()?, id)?;
            out.say(&serde_json::json!({ "deleted": id }), &format!("deleted record {id}"))
        }
        DnsCmd::ApplyTemplate { username, domain, template } => {
            let user: Username = username.parse()?;
            let zone = dns::apply_template(panel, admin, &user, &domain.parse()?, &template)?;
            out.say(&zone, &zone_text(&zone))
        }
        DnsCmd::Import { username, domain, file } => {
            let text = match file.filter(|f| f.as_os_str() != "-") {
                Some(path) => std::fs::read_to_string(&path)?,
                None => {
                    let mut text = String::new();
                    let limit = hs_config::zonefile::MAX_FILE as u64 + 1;
                    std::io::stdin().take(limit).read_to_string(&mut text)?;
                    text
                }
            };
            let user: Username = username.parse()?;
            let zone = dns::import_zone(panel, admin, &user, &domain.parse()?, &text)?;
            out.say(&zone, &zone_text(&zone))
        }
        DnsCmd::Dnssec { username, domain, state } => {
            let user: Username = username.parse()?;
            let zone = dns::set_dnssec(panel, admin, &user, &domain.parse()?, state == "on")?;
            out.say(&zone, &zone_text(&zone))
        }
        DnsCmd::Export { username, domain } => {
            let name: DomainName = domain.parse()?;
            let text = dns::export_zone(panel, admin, &username.parse()?, &name)?;
            if out.json {
                out.say(&serde_json::json!({ "domain": name, "zone": text }), "")
            } else {
                print!("{text}");
                Ok(())
            }
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

pub(crate) struct Out {
    json: bool,
}

impl Out {
    pub(crate) fn say<T: Serialize>(&self, value: &T, text: &str) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string(value)?);
        } else if !text.is_empty() {
            println!("{text}");
        }
        Ok(())
    }
}

/// `hspanel init`: idempotent; an existing `hspanel.yaml` is kept as it is.
fn init(layout: &Layout, hostname: &str, ip: std::net::IpAddr) -> anyhow::Result<()> {
    if layout.is_sandbox() {
        anyhow::bail!("`hspanel init` prepares a real server; a sandbox is prepared by `up`");
    }
    let path = layout.panel_config();
    let config = if path.exists() {
        PanelConfig::read(&path)?
    } else {
        let mut config = PanelConfig::system_default(hostname.parse()?);
        config.server_ip = ip;
        config.write(&path)?;
        config
    };

    // Debian's stock site claims the default server on port 80, which is ours now.
    let stock = layout.path("etc/nginx/sites-enabled/default");
    if stock.exists() {
        std::fs::remove_file(&stock)?;
        println!("disabled nginx's stock default site ({})", stock.display());
    }
    let panel = local_panel(layout.clone(), config);
    hs_modules::web::install_layout(&panel)?;
    hs_modules::plan::ensure_default(&panel)?;
    let admins = hs_auth::AdminStore::open(&layout.auth_dir());
    admins.set("admin", &read_password()?)?;
    panel.pipeline.reload("nginx")?;
    println!("HS-Panel is set up; start hs-srvd, then log in as admin on port 2086");
    Ok(())
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
