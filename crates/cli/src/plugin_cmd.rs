//! `hspanel plugin ...`: list plugins and hook points, enable and disable.

use clap::Subcommand;
use hs_modules::{Actor, Panel, hooks, plugins};
use hs_types::PluginName;
use serde_json::json;

use crate::Out;

#[derive(Subcommand)]
pub(crate) enum PluginCmd {
    /// Installed plugins with their status and failed post hooks.
    List,
    /// Every hook point and the fields of its event.
    Hooks,
    /// Enable a plugin.
    Enable {
        name: String,
        /// Approve a manifest that asks to run as root.
        #[arg(long)]
        allow_root: bool,
    },
    /// Disable a plugin.
    Disable { name: String },
}

pub(crate) fn run(panel: &Panel, admin: &Actor, out: &Out, cmd: PluginCmd) -> anyhow::Result<()> {
    match cmd {
        PluginCmd::List => {
            let list = plugins::list(panel, admin)?;
            let mut lines = Vec::new();
            for p in &list {
                let detail = p.error.clone().unwrap_or_else(|| p.description.clone());
                lines.push(format!("{:<24} {:<20} {detail}", p.name, p.status));
                for alert in &p.alerts {
                    lines.push(format!(
                        "    failed {} ({}): {}",
                        alert["hook"].as_str().unwrap_or_default(),
                        alert["operation_id"].as_str().unwrap_or_default(),
                        alert["message"].as_str().unwrap_or_default()
                    ));
                }
            }
            out.say(&json!({ "plugins": list }), &lines.join("\n"))
        }
        PluginCmd::Hooks => {
            let text: Vec<String> = hooks::POINTS
                .iter()
                .map(|p| format!("pre_/post_{:<20} {}: {}", p.action, p.about, p.fields.join(", ")))
                .collect();
            out.say(&json!({ "hooks": hooks::POINTS }), &text.join("\n"))
        }
        PluginCmd::Enable { name, allow_root } => {
            let name: PluginName = name.parse()?;
            let view = plugins::enable(panel, admin, &name, allow_root)?;
            out.say(&view, &format!("{} is {}", view.name, view.status))
        }
        PluginCmd::Disable { name } => {
            let name: PluginName = name.parse()?;
            let view = plugins::disable(panel, admin, &name)?;
            out.say(&view, &format!("{} is {}", view.name, view.status))
        }
    }
}
