//! Plugin hooks: the catalogue of hook points, and [`around`], which runs the
//! `pre_` hooks of an action, the action, then its `post_` hooks.
//!
//! Every state-changing entry point of a module wraps its body in [`around`], so
//! a hook fires whoever called the module: hs-srvd's API, the `hspanel` CLI, or
//! the panel itself (hs-logd's bandwidth policy suspends through
//! `account::suspend`). Internal steps (a termination removing its domains) call
//! the modules' private functions and fire no hooks of their own.
//!
//! A hook is one of a plugin's programs, run with [`hs_automation::exec::Cmd`]
//! (argv, no shell, a clean environment, its own process group killed at the
//! manifest's time limit), as `nobody` unless the manifest asks for root and
//! the administrator approved that manifest. The event is JSON on stdin.
//! A `pre_` hook that exits non-zero, or does not finish in time, vetoes the
//! action: nothing has changed yet, and the caller gets [`ModuleError::Vetoed`]
//! (422) with the plugin's message. A `post_` hook runs only after the action
//! succeeded; its failure is logged and recorded in the alerts file shown by
//! `plugin/list`, and undoes nothing.
//!
//! Adding a hook point for a new action is one row in [`POINTS`], plus wrapping
//! the entry point's body:
//! `hooks::around(panel, actor, "addpop", json!({...}), || addpop_now(...))`.

use std::time::Duration;

use hs_automation::exec::{Cmd, ExecError};
use hs_config::plugin::{LoadedManifest, RunAs};
use serde::Serialize;
use serde_json::{Value, json};

use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};
use crate::plugins;

/// One action that hooks can watch: `pre_{action}` and `post_{action}`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HookPoint {
    pub action: &'static str,
    pub module: &'static str,
    pub about: &'static str,
    /// The keys of the event's `input` (never a password).
    pub fields: &'static [&'static str],
}

const fn point(
    module: &'static str,
    action: &'static str,
    about: &'static str,
    fields: &'static [&'static str],
) -> HookPoint {
    HookPoint { action, module, about, fields }
}

const U: &str = "username";

/// Every hook point, in the spec's naming (`createacct`, `killdomain`, ...).
pub const POINTS: &[HookPoint] = &[
    point("account", "createacct", "create an account", &[U, "domain", "plan", "reseller"]),
    point("account", "suspendacct", "suspend an account", &[U, "reason"]),
    point("account", "unsuspendacct", "lift a suspension", &[U]),
    point("account", "killacct", "terminate an account", &[U]),
    point("account", "changepackage", "move an account to another plan", &[U, "plan"]),
    point("account", "passwdacct", "set an account's password", &[U]),
    point("plan", "saveplan", "create or change a plan", &["name", "limits"]),
    point("domain", "addaddondomain", "add an addon domain", &[U, "domain"]),
    point("domain", "addsubdomain", "add a subdomain", &[U, "domain", "subdomain"]),
    point("domain", "parkdomain", "park a domain on another", &[U, "domain", "target"]),
    point("domain", "setredirect", "set or remove a redirect", &[U, "domain", "url", "status"]),
    point("domain", "killdomain", "delete a domain", &[U, "domain"]),
    point("dns", "addzone", "create a DNS zone", &[U, "domain", "template"]),
    point("dns", "killzone", "delete a DNS zone", &[U, "domain"]),
    point("dns", "addzonerecord", "add a DNS record", &[U, "domain", "record"]),
    point("dns", "editzonerecord", "change a DNS record", &[U, "domain", "id", "record"]),
    point("dns", "removezonerecord", "delete a DNS record", &[U, "domain", "id"]),
    point(
        "dns",
        "applyzonetemplate",
        "replace records from a template",
        &[U, "domain", "template"],
    ),
    point("dns", "importzone", "replace records from a master file", &[U, "domain", "zone"]),
    point("dns", "setdnssec", "sign or unsign a zone", &[U, "domain", "enabled"]),
    point("cron", "addcron", "add a cron job", &[U, "schedule", "command", "comment"]),
    point("cron", "editcron", "change a cron job", &[U, "id"]),
    point("cron", "removecron", "delete a cron job", &[U, "id"]),
    point("cron", "setcronmailto", "set the cron MAILTO", &[U, "mailto"]),
    point("database", "createdb", "create a database", &[U, "name"]),
    point("database", "deletedb", "drop a database", &[U, "name"]),
    point("database", "createdbuser", "create a database user", &[U, "name"]),
    point("database", "deletedbuser", "drop a database user", &[U, "name"]),
    point("database", "passwddbuser", "set a database user's password", &[U, "name"]),
    point("database", "grantdb", "grant privileges", &[U, "user", "db", "privileges"]),
    point("database", "revokedb", "revoke privileges", &[U, "user", "db", "privileges"]),
    point("database", "setdbremotehosts", "set a user's remote hosts", &[U, "name", "hosts"]),
    point("ftp", "addftp", "create an FTP user", &[U, "login", "folder"]),
    point("ftp", "delftp", "delete an FTP user", &[U, "login"]),
    point("ftp", "passwdftp", "set an FTP user's password", &[U, "login"]),
    point("mail", "addpop", "create mailboxes on a domain", &[U, "domain", "mailboxes"]),
    point("mail", "delpop", "delete a mailbox", &[U, "email"]),
    point("mail", "passwdpop", "set a mailbox password", &[U, "email"]),
    point("mail", "editquota", "change a mailbox quota", &[U, "email", "quota"]),
    point("mail", "setautoresponder", "set a mailbox's autoresponder", &[U, "email"]),
    point("mail", "addforward", "add forwarders", &[U, "forwarders"]),
    point("mail", "delforward", "delete a forwarder", &[U, "source"]),
    point("mail", "setcatchall", "set or remove a domain's catch-all", &[U, "domain", "dest"]),
    point("ssl", "installssl", "install a certificate the user brings", &[U, "domain"]),
    point("ssl", "autossl", "order a certificate through ACME", &[U, "domain"]),
    point("ssl", "deletessl", "remove a certificate", &[U, "domain"]),
    point("backup", "backupacct", "back up an account", &[U, "incremental", "destination"]),
    point("backup", "restoreacct", "restore a whole account", &[U, "backup", "replace"]),
];

/// The fields every event carries, whatever the action.
pub const COMMON_FIELDS: &[(&str, &str)] = &[
    ("version", "1"),
    ("hook", "the hook point, e.g. pre_createacct"),
    ("stage", "pre or post"),
    ("action", "the action, e.g. createacct"),
    ("module", "the module, e.g. account"),
    ("who", "{user, role}: who asked (role admin, reseller or user)"),
    ("operation_id", "the request's operation id (op-… from the API, cli-… from the CLI)"),
    ("input", "the validated input; the point's fields (never a password)"),
    ("result", "post only: what the action answered"),
    ("data_dir", "a folder the plugin may write"),
];

pub fn find(action: &str) -> Option<&'static HookPoint> {
    POINTS.iter().find(|p| p.action == action)
}

/// Is `name` (`pre_createacct`) a hook point?
pub fn is_hook_name(name: &str) -> bool {
    let action = name.strip_prefix("pre_").or_else(|| name.strip_prefix("post_"));
    action.is_some_and(|a| find(a).is_some())
}

/// Runs `pre_{action}` hooks, then `body`, then (if it succeeded) `post_{action}`.
pub fn around<T: Serialize>(
    panel: &Panel,
    actor: &Actor,
    action: &str,
    input: Value,
    body: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let point = find(action)
        .ok_or_else(|| ModuleError::internal(format!("no hook point called {action}")))?;
    let pre = format!("pre_{action}");
    let post = format!("post_{action}");
    let active = plugins::active(panel);
    let wants = |hook: &str| active.iter().any(|p| p.manifest.hooks.contains_key(hook));
    if !wants(&pre) && !wants(&post) {
        return body();
    }
    let op_id = actor.op_id.clone().unwrap_or_else(|| format!("internal-{}", std::process::id()));
    let event = |stage: &str, result: Option<&T>| {
        json!({
            "version": 1,
            "hook": format!("{stage}_{action}"),
            "stage": stage,
            "action": action,
            "module": point.module,
            "who": { "user": actor.name, "role": actor.role },
            "operation_id": op_id,
            "input": input,
            "result": result,
        })
    };

    let pre_event = event("pre", None);
    for plugin in active.iter().filter(|p| p.manifest.hooks.contains_key(&pre)) {
        if let Err(message) = run_hook(panel, plugin, &pre, &pre_event) {
            let name = &plugin.manifest.name;
            tracing::info!(op = %op_id, plugin = %name, hook = %pre, "vetoed: {message}");
            return Err(ModuleError::Vetoed(format!(
                "refused by plugin {}: {message}",
                plugin.manifest.name
            )));
        }
    }

    let result = body()?;

    let post_event = event("post", Some(&result));
    for plugin in active.iter().filter(|p| p.manifest.hooks.contains_key(&post)) {
        if let Err(message) = run_hook(panel, plugin, &post, &post_event) {
            let name = &plugin.manifest.name;
            tracing::warn!(op = %op_id, plugin = %name, hook = %post, "failed: {message}");
            plugins::record_alert(panel, &plugin.manifest.name, &post, &op_id, &message);
        }
    }
    Ok(result)
}

/// Runs one hook with `event` on stdin; `Err` carries the plugin's message.
fn run_hook(
    panel: &Panel,
    plugin: &LoadedManifest,
    hook: &str,
    event: &Value,
) -> std::result::Result<(), String> {
    let Some(exec) = plugin.manifest.hooks.get(hook) else { return Ok(()) };
    let mut event = event.clone();
    let data_dir = plugins::data_dir(panel, plugin).map_err(|e| e.to_string())?;
    event["data_dir"] = json!(data_dir);
    match run_program(plugin, exec, &event) {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(message_of(&out.stdout, &out.stderr, &out.status.to_string())),
        Err(ExecError::Timeout { secs, .. }) => {
            Err(format!("{hook} did not finish within {secs} s and was stopped"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Runs one of the plugin's programs as its user, in its folder, with `event`
/// on stdin and the manifest's time limit.
pub(crate) fn run_program(
    plugin: &LoadedManifest,
    exec: &str,
    event: &Value,
) -> std::result::Result<hs_automation::exec::Output, ExecError> {
    let program = plugin.program(exec);
    let program = program.to_str().ok_or_else(|| ExecError::NotFound(exec.to_string()))?;
    let mut cmd = Cmd::new(program)?
        .current_dir(&plugin.folder)
        .stdin_secret(event.to_string().into_bytes())
        .timeout(Duration::from_secs(plugin.manifest.timeout_secs));
    if plugin.manifest.run_as == RunAs::Nobody {
        let (uid, gid) = plugins::unprivileged_ids();
        cmd = cmd.as_user(uid, gid);
    }
    cmd.run_unchecked()
}

/// The plugin's message: `{"message": "..."}` on stdout, else the first line of
/// stdout, else the last of stderr; one printable line of at most 300 characters.
pub(crate) fn message_of(stdout: &str, stderr: &str, status: &str) -> String {
    let from_json = serde_json::from_str::<Value>(stdout.trim())
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string));
    let line = from_json
        .or_else(|| stdout.lines().find(|l| !l.trim().is_empty()).map(str::to_string))
        .or_else(|| stderr.lines().rfind(|l| !l.trim().is_empty()).map(str::to_string))
        .unwrap_or_else(|| format!("the hook failed ({status})"));
    let clean: String = line.chars().filter(|c| !c.is_control()).take(300).collect();
    clean.trim().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn points_are_unique_and_well_formed() {
        for (i, p) in POINTS.iter().enumerate() {
            assert!(p.action.chars().all(|c| c.is_ascii_lowercase()), "{}", p.action);
            assert!(POINTS[..i].iter().all(|q| q.action != p.action), "{} twice", p.action);
        }
        assert!(is_hook_name("pre_createacct"));
        assert!(is_hook_name("post_killdomain"));
        assert!(is_hook_name("pre_addpop"));
        assert!(!is_hook_name("createacct"));
        assert!(!is_hook_name("pre_nothing"));
    }

    /// Every wrapped entry point names a live point, and every live point is wrapped.
    #[test]
    fn points_match_the_wrapped_entry_points() {
        let sources = [
            include_str!("account.rs"),
            include_str!("plan.rs"),
            include_str!("domain.rs"),
            include_str!("dns.rs"),
            include_str!("cron.rs"),
            include_str!("database.rs"),
            include_str!("ftp.rs"),
            include_str!("mail.rs"),
            include_str!("ssl.rs"),
            include_str!("backup.rs"),
        ];
        let mut wrapped = Vec::new();
        for source in sources {
            let flat: String = source.chars().filter(|c| !c.is_whitespace()).collect();
            for piece in flat.split("hooks::around(panel,actor,\"").skip(1) {
                wrapped.push(piece.split('"').next().unwrap().to_string());
            }
        }
        for name in &wrapped {
            assert!(find(name).is_some(), "{name} is not a hook point");
        }
        for p in POINTS {
            assert!(wrapped.iter().any(|w| w == p.action), "nothing fires {}", p.action);
        }
    }

    #[test]
    fn messages() {
        let cases: &[(&str, &str, &str)] = &[
            (r#"{"message":"no test accounts"}"#, "", "no test accounts"),
            ("plain words\nmore", "", "plain words"),
            ("", "warning\nlast words\n", "last words"),
            ("", "", "the hook failed (exit status: 1)"),
            ("bad\u{1b}[31m red", "", "bad[31m red"),
        ];
        for (stdout, stderr, expected) in cases {
            assert_eq!(message_of(stdout, stderr, "exit status: 1"), *expected);
        }
    }
}
