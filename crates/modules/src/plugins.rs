//! HS::Plugins: the installed plugins, their state, their routes and menus.
//!
//! Plugins are folders under `/usr/local/hspanel/plugins/` with a `plugin.json`
//! (`hs_config::plugin`). They are read from disk at every use (a few small
//! files), so hs-srvd and the CLI always agree and `enable`/`disable` apply at
//! once in every process; hs-srvd also scans at start ([`prepare`]) to log the
//! broken ones. A broken plugin is listed with its reason and otherwise ignored.
//!
//! A plugin runs unless the administrator disabled it; one whose manifest asks
//! for root runs only once the administrator approved root for that exact
//! manifest (`enable --allow-root`; a changed manifest needs a new approval).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use hs_config::plugin::{self as manifest, LoadedManifest, MenuPortal, PluginStates, RouteRole};
use hs_config::state::Role;
use hs_types::PluginName;
use serde::Serialize;
use serde_json::{Value, json};

use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};
use crate::hooks;

/// Alerts kept in the alerts file; older lines are dropped.
const MAX_ALERTS: usize = 200;
/// Alerts shown per plugin in the list.
const SHOWN_ALERTS: usize = 10;

/// One folder of the plugins' folder, loaded or not.
struct Found {
    name: String,
    loaded: std::result::Result<LoadedManifest, String>,
}

fn scan(panel: &Panel) -> Vec<Found> {
    let Ok(entries) = std::fs::read_dir(panel.layout.plugins()) else { return Vec::new() };
    let mut found: Vec<Found> = entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let loaded = manifest::load(&e.path(), &hooks::is_hook_name);
            Found { name, loaded }
        })
        .filter(|f| !f.name.starts_with('.'))
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn states(panel: &Panel) -> PluginStates {
    match PluginStates::read(&panel.layout.plugin_states()) {
        Ok(states) => states,
        Err(e) => {
            tracing::error!("plugin states unreadable, every plugin is off: {e}");
            let mut off = PluginStates::default();
            for f in scan(panel) {
                if let Ok(name) = f.name.parse::<PluginName>() {
                    off.plugins.insert(
                        name,
                        hs_config::plugin::PluginState { disabled: true, root_approved: None },
                    );
                }
            }
            off
        }
    }
}

/// Why a loaded plugin does not run, if it does not.
fn blocked(states: &PluginStates, plugin: &LoadedManifest) -> Option<&'static str> {
    let state = states.get(&plugin.manifest.name);
    if state.disabled {
        return Some("disabled");
    }
    if plugin.manifest.run_as == manifest::RunAs::Root
        && state.root_approved.as_deref() != Some(plugin.digest.as_str())
    {
        return Some("needs_root_approval");
    }
    None
}

/// The plugins that run: loaded, enabled, and approved if they ask for root.
pub fn active(panel: &Panel) -> Vec<LoadedManifest> {
    let found = scan(panel);
    if found.is_empty() {
        return Vec::new();
    }
    let states = states(panel);
    found
        .into_iter()
        .filter_map(|f| f.loaded.ok())
        .filter(|p| blocked(&states, p).is_none())
        .collect()
}

/// At hs-srvd's start: logs what loaded and what was refused, and makes the
/// data folders. Never fails: a broken plugin is skipped.
pub fn prepare(panel: &Panel) -> usize {
    let mut loaded = 0;
    for f in scan(panel) {
        match &f.loaded {
            Ok(plugin) => {
                loaded += 1;
                if let Err(e) = data_dir(panel, plugin) {
                    tracing::warn!(plugin = %f.name, "no data folder: {e}");
                }
                let hooks = plugin.manifest.hooks.len();
                tracing::info!(plugin = %f.name, hooks, "plugin loaded");
            }
            Err(reason) => tracing::warn!(plugin = %f.name, "plugin refused: {reason}"),
        }
    }
    loaded
}

/// The uid and gid plugins run as unless approved for root: `nobody`.
pub fn unprivileged_ids() -> (u32, u32) {
    match nix::unistd::User::from_name("nobody") {
        Ok(Some(user)) => (user.uid.as_raw(), user.gid.as_raw()),
        _ => (65534, 65534),
    }
}

/// The plugin's writable folder, made on first use, owned by its user.
pub fn data_dir(panel: &Panel, plugin: &LoadedManifest) -> Result<PathBuf> {
    let dir = panel.layout.plugin_data(&plugin.manifest.name);
    if dir.is_dir() {
        return Ok(dir);
    }
    let parent = dir.parent().ok_or_else(|| ModuleError::internal("no parent"))?;
    std::fs::create_dir_all(parent).map_err(ModuleError::internal)?;
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o711))
        .map_err(ModuleError::internal)?;
    std::fs::create_dir_all(&dir).map_err(ModuleError::internal)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .map_err(ModuleError::internal)?;
    if plugin.manifest.run_as == manifest::RunAs::Nobody {
        let (uid, gid) = unprivileged_ids();
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(ModuleError::internal)?;
    }
    Ok(dir)
}

/// A failed `post_` hook, for the administrator: one JSON line in the alerts file.
pub fn record_alert(panel: &Panel, plugin: &PluginName, hook: &str, op_id: &str, message: &str) {
    let line = json!({
        "time": jiff::Timestamp::now().to_string(),
        "plugin": plugin,
        "hook": hook,
        "operation_id": op_id,
        "message": message,
    });
    let path = panel.layout.plugin_alerts();
    let written = (|| -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let _lock = hs_config::fsutil::FileLock::acquire(&path.with_extension("lock"))?;
        let mut lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        lines.push(line.to_string());
        let keep = lines.len().saturating_sub(MAX_ALERTS);
        let mut text = lines[keep..].join("\n");
        text.push('\n');
        hs_config::fsutil::write_atomic(&path, text.as_bytes(), 0o600)?;
        Ok(())
    })();
    if let Err(e) = written {
        tracing::error!(plugin = %plugin, "cannot record the alert: {e}");
    }
}

fn alerts(panel: &Panel) -> Vec<Value> {
    let text = std::fs::read_to_string(panel.layout.plugin_alerts()).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[derive(Debug, Serialize)]
pub struct PluginView {
    pub name: String,
    /// `active`, `disabled`, `needs_root_approval` or `broken`.
    pub status: String,
    /// Why a broken plugin was refused.
    pub error: Option<String>,
    pub version: String,
    pub description: String,
    pub run_as: Option<manifest::RunAs>,
    pub hooks: Vec<String>,
    pub routes: Vec<String>,
    pub menu: Vec<manifest::MenuEntry>,
    /// The latest failed `post_` hooks (newest last).
    pub alerts: Vec<Value>,
}

fn admin_only(actor: &Actor) -> Result<()> {
    if actor.role != Role::Admin {
        return Err(ModuleError::Forbidden("only the administrator manages plugins".into()));
    }
    Ok(())
}

pub fn list(panel: &Panel, actor: &Actor) -> Result<Vec<PluginView>> {
    admin_only(actor)?;
    let states = states(panel);
    let alerts = alerts(panel);
    Ok(scan(panel).into_iter().map(|f| view(&states, &alerts, f)).collect())
}

fn view(states: &PluginStates, alerts: &[Value], f: Found) -> PluginView {
    let mine: Vec<Value> =
        alerts.iter().filter(|a| a["plugin"] == f.name.as_str()).cloned().collect();
    let recent = mine[mine.len().saturating_sub(SHOWN_ALERTS)..].to_vec();
    match f.loaded {
        Ok(p) => PluginView {
            status: blocked(states, &p).unwrap_or("active").to_string(),
            name: f.name,
            error: None,
            version: p.manifest.version.clone(),
            description: p.manifest.description.clone(),
            run_as: Some(p.manifest.run_as),
            hooks: p.manifest.hooks.keys().cloned().collect(),
            routes: p.manifest.routes.iter().map(|r| r.path.clone()).collect(),
            menu: p.manifest.menu.clone(),
            alerts: recent,
        },
        Err(reason) => PluginView {
            name: f.name,
            status: "broken".into(),
            error: Some(reason),
            version: String::new(),
            description: String::new(),
            run_as: None,
            hooks: Vec::new(),
            routes: Vec::new(),
            menu: Vec::new(),
            alerts: recent,
        },
    }
}

fn find(panel: &Panel, name: &PluginName) -> Result<Found> {
    scan(panel)
        .into_iter()
        .find(|f| f.name == name.as_str())
        .ok_or_else(|| ModuleError::NotFound(format!("no plugin called {name}")))
}

/// Enables a plugin; `allow_root` approves root for its current manifest.
pub fn enable(
    panel: &Panel,
    actor: &Actor,
    name: &PluginName,
    allow_root: bool,
) -> Result<PluginView> {
    admin_only(actor)?;
    let found = find(panel, name)?;
    let plugin = match &found.loaded {
        Ok(p) => p.clone(),
        Err(reason) => {
            return Err(ModuleError::Invalid(format!("plugin {name} is broken: {reason}")));
        }
    };
    if plugin.manifest.run_as == manifest::RunAs::Root && !allow_root {
        return Err(ModuleError::Invalid(format!(
            "plugin {name} asks to run as root; enable it with allow_root to approve that"
        )));
    }
    let _lock = hs_config::locks::service(&panel.layout, "plugins")?;
    let mut states = PluginStates::read(&panel.layout.plugin_states())?;
    let state = states.plugins.entry(name.clone()).or_default();
    state.disabled = false;
    if plugin.manifest.run_as == manifest::RunAs::Root {
        state.root_approved = Some(plugin.digest.clone());
    }
    states.version = 1;
    states.write(&panel.layout.plugin_states())?;
    data_dir(panel, &plugin)?;
    tracing::info!(plugin = %name, allow_root, "plugin enabled");
    Ok(view(&states, &alerts(panel), found))
}

pub fn disable(panel: &Panel, actor: &Actor, name: &PluginName) -> Result<PluginView> {
    admin_only(actor)?;
    let found = find(panel, name)?;
    let _lock = hs_config::locks::service(&panel.layout, "plugins")?;
    let mut states = PluginStates::read(&panel.layout.plugin_states())?;
    let state = states.plugins.entry(name.clone()).or_default();
    state.disabled = true;
    state.root_approved = None;
    states.version = 1;
    states.write(&panel.layout.plugin_states())?;
    tracing::info!(plugin = %name, "plugin disabled");
    Ok(view(&states, &alerts(panel), found))
}

/// A menu entry for the portal's navigation.
#[derive(Debug, Serialize)]
pub struct MenuItem {
    pub plugin: String,
    pub label: String,
    pub route: String,
}

fn role_allowed(roles: &[RouteRole], role: Role) -> bool {
    let want = match role {
        Role::Admin => RouteRole::Admin,
        Role::Reseller => RouteRole::Reseller,
        Role::User => RouteRole::User,
    };
    roles.contains(&want)
}

/// The active plugins' menu entries for this portal that this actor may open.
pub fn menu(panel: &Panel, actor: &Actor, portal: MenuPortal) -> Vec<MenuItem> {
    let mut items = Vec::new();
    for plugin in active(panel) {
        for entry in plugin.manifest.menu.iter().filter(|e| e.portal == portal) {
            let route = plugin.manifest.routes.iter().find(|r| r.path == entry.route);
            if route.is_some_and(|r| role_allowed(&r.roles, actor.role)) {
                items.push(MenuItem {
                    plugin: plugin.manifest.name.to_string(),
                    label: entry.label.clone(),
                    route: entry.route.clone(),
                });
            }
        }
    }
    items
}

/// A plugin route's request, as hs-srvd authenticated it.
pub struct RouteCall<'a> {
    pub plugin: &'a PluginName,
    pub path: &'a str,
    pub method: &'a str,
    /// `admin` or `user`: the port the request came to.
    pub portal: &'a str,
    pub input: Value,
}

/// Hands an authenticated request to the plugin's program; its stdout (JSON)
/// is the answer. A missing plugin or route, or a role the route does not allow,
/// is a 404/403; a program that fails is the plugin refusing (its message).
pub fn call_route(panel: &Panel, actor: &Actor, call: RouteCall<'_>) -> Result<Value> {
    let missing =
        || ModuleError::NotFound(format!("no such plugin route: {}/{}", call.plugin, call.path));
    let plugin =
        active(panel).into_iter().find(|p| &p.manifest.name == call.plugin).ok_or_else(missing)?;
    let route = plugin.manifest.routes.iter().find(|r| r.path == call.path).ok_or_else(missing)?;
    if !role_allowed(&route.roles, actor.role) {
        return Err(ModuleError::Forbidden("your role may not call this plugin route".into()));
    }
    let op_id = actor.op_id.clone().unwrap_or_default();
    let event = json!({
        "version": 1,
        "plugin": call.plugin,
        "route": call.path,
        "method": call.method,
        "who": { "user": actor.name, "role": actor.role, "portal": call.portal },
        "operation_id": op_id,
        "input": call.input,
        "data_dir": data_dir(panel, &plugin)?,
    });
    let out = match hooks::run_program(&plugin, &route.exec, &event) {
        Ok(out) => out,
        Err(hs_automation::ExecError::Timeout { secs, .. }) => {
            return Err(ModuleError::Service(format!(
                "plugin {} did not answer within {secs} s",
                call.plugin
            )));
        }
        Err(e) => return Err(ModuleError::Service(format!("plugin {}: {e}", call.plugin))),
    };
    if !out.status.success() {
        let message = hooks::message_of(&out.stdout, &out.stderr, &out.status.to_string());
        return Err(ModuleError::Vetoed(format!("plugin {}: {message}", call.plugin)));
    }
    serde_json::from_str(out.stdout.trim())
        .map_err(|e| ModuleError::Service(format!("plugin {} answered no JSON: {e}", call.plugin)))
}
