//! Plugins on disk: the `plugin.json` manifest of
//! `/usr/local/hspanel/plugins/{name}/`, validated on load, and the panel's
//! record of which plugins are enabled and which may run as root.
//!
//! A manifest is refused as a whole (the plugin is reported and skipped) when it
//! is larger than [`MAX_MANIFEST`], is not JSON, has a key this file does not
//! know, names a hook point that does not exist, or names a program that is not
//! a plain regular file inside the plugin's folder: every path is relative, made
//! of plain components, and walked on disk with `lstat` so no component may be a
//! symlink (nothing can lead out of the folder), and no program or folder on the
//! way may be writable by group or others.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use hs_types::PluginName;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::StateError;

/// Largest accepted `plugin.json`.
pub const MAX_MANIFEST: u64 = 64 * 1024;
/// Longest a hook or a route may run unless the manifest says less.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// Longest time limit a manifest may ask for.
pub const MAX_TIMEOUT_SECS: u64 = 120;
const MAX_ROUTES: usize = 32;
const MAX_MENU: usize = 16;
const MAX_PATH: usize = 200;

/// Who a plugin's programs run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RunAs {
    /// The unprivileged `nobody` user (the default).
    #[default]
    Nobody,
    /// root: only after the administrator approved it with `enable --allow-root`.
    Root,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MenuPortal {
    Admin,
    User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteRole {
    Admin,
    Reseller,
    User,
}

/// `plugin.json`, as written by the plugin's author.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Must equal the folder's name.
    pub name: PluginName,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub run_as: RunAs,
    /// Time limit of each hook and route run, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Hook point (`pre_createacct`) → program, relative to the plugin's folder.
    #[serde(default)]
    pub hooks: BTreeMap<String, String>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub menu: Vec<MenuEntry>,
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

/// `/api/plugin/{name}/{path}`, handed to `exec`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Segments of `[a-z0-9_-]`, separated by `/`: `hello`, `report/daily`.
    pub path: String,
    pub exec: String,
    /// Who may call it; absent: everyone logged in.
    #[serde(default = "all_roles")]
    pub roles: Vec<RouteRole>,
}

fn all_roles() -> Vec<RouteRole> {
    vec![RouteRole::Admin, RouteRole::Reseller, RouteRole::User]
}

/// A link in the admin or user portal's menu to one of the plugin's routes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuEntry {
    pub portal: MenuPortal,
    pub label: String,
    pub route: String,
}

/// A manifest that passed every check, with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    pub manifest: Manifest,
    pub folder: PathBuf,
    /// SHA-256 of the manifest's bytes: root approval holds for these bytes only.
    pub digest: String,
}

impl LoadedManifest {
    /// The absolute path of a program the manifest names (already checked).
    pub fn program(&self, rel: &str) -> PathBuf {
        self.folder.join(rel)
    }
}

/// Reads and checks `{folder}/plugin.json`. `known_hook` says whether a hook
/// point exists. The error is a sentence for the administrator.
pub fn load(folder: &Path, known_hook: &dyn Fn(&str) -> bool) -> Result<LoadedManifest, String> {
    let name = folder
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the folder name is not UTF-8")?
        .parse::<PluginName>()
        .map_err(|e| e.to_string())?;
    let meta = std::fs::symlink_metadata(folder).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_dir() {
        return Err("the plugin's folder is a symlink or not a folder".into());
    }
    check_not_writable_by_others(&meta, "the plugin's folder")?;
    let bytes = read_manifest(&folder.join("plugin.json"))?;
    let manifest = parse(&bytes, &name, known_hook)?;
    for (hook, exec) in &manifest.hooks {
        check_program(folder, exec).map_err(|e| format!("hook {hook}: {e}"))?;
    }
    for route in &manifest.routes {
        check_program(folder, &route.exec).map_err(|e| format!("route {}: {e}", route.path))?;
    }
    let digest = hex::encode(sha2::Sha256::digest(&bytes));
    Ok(LoadedManifest { manifest, folder: folder.to_path_buf(), digest })
}

fn read_manifest(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("plugin.json: {e}"))?;
    if !meta.is_file() {
        return Err("plugin.json is a symlink or not a regular file".into());
    }
    if meta.len() > MAX_MANIFEST {
        return Err(format!("plugin.json is larger than {} KiB", MAX_MANIFEST / 1024));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("plugin.json: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST + 1).read_to_end(&mut bytes).map_err(|e| format!("plugin.json: {e}"))?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(format!("plugin.json is larger than {} KiB", MAX_MANIFEST / 1024));
    }
    Ok(bytes)
}

/// The checks that need no disk: JSON, keys, names, paths' shape, limits.
pub fn parse(
    bytes: &[u8],
    folder_name: &PluginName,
    known_hook: &dyn Fn(&str) -> bool,
) -> Result<Manifest, String> {
    let manifest: Manifest =
        serde_json::from_slice(bytes).map_err(|e| format!("plugin.json: {e}"))?;
    if &manifest.name != folder_name {
        return Err(format!(
            "plugin.json names the plugin {}, but its folder is {folder_name}",
            manifest.name
        ));
    }
    short_text("version", &manifest.version, 40)?;
    short_text("description", &manifest.description, 300)?;
    if manifest.timeout_secs == 0 || manifest.timeout_secs > MAX_TIMEOUT_SECS {
        return Err(format!("timeout_secs must be 1 to {MAX_TIMEOUT_SECS}"));
    }
    for (hook, exec) in &manifest.hooks {
        if !known_hook(hook) {
            return Err(format!("there is no hook point called {}", printable(hook)));
        }
        check_relative(exec).map_err(|e| format!("hook {hook}: {e}"))?;
    }
    if manifest.routes.len() > MAX_ROUTES || manifest.menu.len() > MAX_MENU {
        return Err(format!("at most {MAX_ROUTES} routes and {MAX_MENU} menu entries"));
    }
    for (i, route) in manifest.routes.iter().enumerate() {
        check_route_path(&route.path)?;
        check_relative(&route.exec).map_err(|e| format!("route {}: {e}", route.path))?;
        if manifest.routes[..i].iter().any(|r| r.path == route.path) {
            return Err(format!("route {} is declared twice", route.path));
        }
        if route.roles.is_empty() {
            return Err(format!("route {} has no roles", route.path));
        }
    }
    for entry in &manifest.menu {
        short_text("menu label", &entry.label, 40)?;
        if entry.label.trim().is_empty() {
            return Err("a menu label is empty".into());
        }
        if !manifest.routes.iter().any(|r| r.path == entry.route) {
            return Err(format!("menu entry {} names no route of this plugin", entry.label));
        }
    }
    Ok(manifest)
}

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(60).collect()
}

fn short_text(what: &str, text: &str, max: usize) -> Result<(), String> {
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(format!("{what} must be one line of at most {max} characters"));
    }
    Ok(())
}

/// A route path: 1 to 8 segments of `[a-z0-9_-]`, each starting with a letter
/// or digit, so no `.`, `..` or empty segment.
pub fn check_route_path(path: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "route path {} must be segments of a-z, 0-9, '_' and '-' separated by '/'",
            printable(path)
        ))
    };
    if path.is_empty() || path.len() > 100 || path.split('/').count() > 8 {
        return bad();
    }
    for segment in path.split('/') {
        let Some(first) = segment.chars().next() else { return bad() };
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return bad();
        }
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        if !segment.chars().all(ok) {
            return bad();
        }
    }
    Ok(())
}

/// A program path's shape: relative, plain components only (no `..`, `.`,
/// empty segments or a leading `/`), ASCII letters, digits, `.`, `_` and `-`.
pub fn check_relative(rel: &str) -> Result<(), String> {
    let refuse = |why: &str| Err(format!("path {} {why}", printable(rel)));
    if rel.is_empty() || rel.len() > MAX_PATH {
        return refuse("must be 1 to 200 characters");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
    if !rel.chars().all(allowed) {
        return refuse("may only use letters, digits, '.', '_', '-' and '/'");
    }
    if rel.starts_with('/') {
        return refuse("must be relative to the plugin's folder");
    }
    for (i, part) in rel.split('/').enumerate() {
        if part.is_empty() || part == "." {
            return refuse(&format!("has an empty or '.' component ({})", i + 1));
        }
        if part == ".." {
            return refuse("leaves the plugin's folder");
        }
    }
    let plain = Path::new(rel).components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return refuse("leaves the plugin's folder");
    }
    Ok(())
}

/// Walks `rel` below `folder` with `lstat`: every folder on the way is a real
/// folder (no symlink, so nothing leads out), the last is a regular executable
/// file, and none is writable by group or others.
fn check_program(folder: &Path, rel: &str) -> Result<(), String> {
    check_relative(rel)?;
    let parts: Vec<&str> = rel.split('/').collect();
    let mut at = folder.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let meta = std::fs::symlink_metadata(&at).map_err(|e| format!("{rel}: {e}"))?;
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{rel}: a symlink is not accepted (it may lead out of the folder)"
            ));
        }
        let last = i + 1 == parts.len();
        if last {
            if !meta.is_file() {
                return Err(format!("{rel} is not a regular file"));
            }
            if meta.permissions().mode() & 0o111 == 0 {
                return Err(format!("{rel} is not executable"));
            }
        } else if !meta.is_dir() {
            return Err(format!("{rel}: {part} is not a folder"));
        }
        check_not_writable_by_others(&meta, rel)?;
    }
    Ok(())
}

fn check_not_writable_by_others(meta: &std::fs::Metadata, what: &str) -> Result<(), String> {
    if meta.mode() & 0o022 != 0 {
        return Err(format!("{what} is writable by group or others"));
    }
    Ok(())
}

/// The panel's record of plugins (`etc/hspanel/plugins.yaml`): which are
/// disabled, and which the administrator allowed to run as root.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PluginStates {
    pub version: u32,
    #[serde(default)]
    pub plugins: BTreeMap<PluginName, PluginState>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PluginState {
    /// An installed plugin runs unless it was disabled.
    #[serde(default)]
    pub disabled: bool,
    /// The manifest digest the administrator approved root for; a changed
    /// manifest needs a new approval.
    #[serde(default)]
    pub root_approved: Option<String>,
}

impl PluginStates {
    pub fn read(path: &Path) -> Result<PluginStates, StateError> {
        Ok(crate::yaml::read(path)?.unwrap_or(PluginStates { version: 1, ..Default::default() }))
    }

    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        crate::yaml::write(path, self)
    }

    pub fn get(&self, name: &PluginName) -> PluginState {
        self.plugins.get(name).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn known(hook: &str) -> bool {
        matches!(hook, "pre_createacct" | "post_createacct")
    }

    fn parse_text(text: &str) -> Result<Manifest, String> {
        parse(text.as_bytes(), &"demo".parse().unwrap(), &known)
    }

    #[test]
    fn manifest_table() {
        let good = r#"{"name":"demo","hooks":{"pre_createacct":"hooks/pre.sh"},
            "routes":[{"path":"hello","exec":"bin/hello"}],
            "menu":[{"portal":"user","label":"Hello","route":"hello"}]}"#;
        // (manifest, expected error fragment; None: accepted)
        let cases: &[(&str, Option<&str>)] = &[
            (good, None),
            (r#"{"name":"demo"}"#, None),
            (r#"{"name":"demo","timeout_secs":120,"run_as":"root"}"#, None),
            (r#"{"name":"demo","extra":1}"#, Some("unknown field `extra`")),
            (r#"{"name":"demo","routes":[{"path":"a","exec":"x","x":1}]}"#, Some("unknown field")),
            (r#"{"name":"demo""#, Some("plugin.json")),
            ("not json", Some("plugin.json")),
            (r#"{"name":"other"}"#, Some("its folder is demo")),
            (r#"{"name":"../x"}"#, Some("plugin name")),
            (r#"{"name":"demo","run_as":"admin"}"#, Some("unknown variant")),
            (r#"{"name":"demo","timeout_secs":0}"#, Some("timeout_secs")),
            (r#"{"name":"demo","timeout_secs":121}"#, Some("timeout_secs")),
            (r#"{"name":"demo","hooks":{"pre_rmrf":"x"}}"#, Some("no hook point")),
            (r#"{"name":"demo","hooks":{"pre_createacct":"../x"}}"#, Some("leaves")),
            (r#"{"name":"demo","hooks":{"pre_createacct":"a/../../x"}}"#, Some("leaves")),
            (r#"{"name":"demo","hooks":{"pre_createacct":"/bin/sh"}}"#, Some("relative")),
            (r#"{"name":"demo","hooks":{"pre_createacct":"./x"}}"#, Some("'.' component")),
            (r#"{"name":"demo","hooks":{"pre_createacct":"a//x"}}"#, Some("empty")),
            (r#"{"name":"demo","hooks":{"pre_createacct":"a x"}}"#, Some("may only use")),
            (r#"{"name":"demo","routes":[{"path":"../up","exec":"x"}]}"#, Some("route path")),
            (r#"{"name":"demo","routes":[{"path":"a/../b","exec":"x"}]}"#, Some("route path")),
            (r#"{"name":"demo","routes":[{"path":"/a","exec":"x"}]}"#, Some("route path")),
            (r#"{"name":"demo","routes":[{"path":"A","exec":"x"}]}"#, Some("route path")),
            (r#"{"name":"demo","routes":[{"path":"a","exec":"../x"}]}"#, Some("leaves")),
            (
                r#"{"name":"demo","routes":[{"path":"a","exec":"x"},{"path":"a","exec":"y"}]}"#,
                Some("twice"),
            ),
            (r#"{"name":"demo","routes":[{"path":"a","exec":"x","roles":[]}]}"#, Some("no roles")),
            (
                r#"{"name":"demo","menu":[{"portal":"user","label":"X","route":"nope"}]}"#,
                Some("names no route"),
            ),
            (
                r#"{"name":"demo","routes":[{"path":"a","exec":"x"}],
                   "menu":[{"portal":"user","label":"a\nb","route":"a"}]}"#,
                Some("one line"),
            ),
        ];
        for (text, expected) in cases {
            match (parse_text(text), expected) {
                (Ok(_), None) => {}
                (Err(e), Some(fragment)) => {
                    assert!(e.contains(fragment), "{text}: {e:?} lacks {fragment:?}")
                }
                (got, _) => panic!("{text}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    fn write_exec(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn programs_are_checked_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let folder = root.join("demo");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        write_exec(&folder.join("hooks/pre.sh"));
        std::fs::set_permissions(folder.join("hooks"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        write_exec(&root.join("outside.sh"));
        std::os::unix::fs::symlink(root.join("outside.sh"), folder.join("link.sh")).unwrap();
        std::os::unix::fs::symlink(root, folder.join("up")).unwrap();
        std::fs::write(folder.join("plain.txt"), "x").unwrap();

        let manifest =
            |exec: &str| format!(r#"{{"name":"demo","hooks":{{"pre_createacct":"{exec}"}}}}"#);
        let cases: &[(&str, Option<&str>)] = &[
            ("hooks/pre.sh", None),
            ("link.sh", Some("symlink")),
            ("up/outside.sh", Some("symlink")),
            ("missing.sh", Some("No such file")),
            ("plain.txt", Some("not executable")),
            ("hooks", Some("not a regular file")),
        ];
        for (exec, expected) in cases {
            std::fs::write(folder.join("plugin.json"), manifest(exec)).unwrap();
            match (load(&folder, &known), expected) {
                (Ok(loaded), None) => assert_eq!(loaded.digest.len(), 64),
                (Err(e), Some(fragment)) => assert!(e.contains(fragment), "{exec}: {e}"),
                (got, _) => panic!("{exec}: got {got:?}"),
            }
        }

        // Oversized manifests are refused before parsing.
        let big = format!(r#"{{"name":"demo","description":"{}"}}"#, "x".repeat(70_000));
        std::fs::write(folder.join("plugin.json"), big).unwrap();
        assert!(load(&folder, &known).unwrap_err().contains("larger than"));

        // A world-writable program is refused.
        std::fs::write(folder.join("plugin.json"), manifest("hooks/pre.sh")).unwrap();
        let perms = std::fs::Permissions::from_mode(0o777);
        std::fs::set_permissions(folder.join("hooks/pre.sh"), perms).unwrap();
        assert!(load(&folder, &known).unwrap_err().contains("writable"));

        // The plugin's folder itself may not be a symlink.
        std::os::unix::fs::symlink(&folder, root.join("alias")).unwrap();
        assert!(load(&root.join("alias"), &known).is_err());
    }
}
