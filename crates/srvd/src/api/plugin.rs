//! `/api/plugin/*`: HS::Plugins. The administrator lists, enables and disables
//! plugins and reads the hook points; everyone gets the menu entries of their
//! portal. `/api/plugin/{name}/{path}` (a route of its own in `server`) hands an
//! authenticated request to the plugin.

use hs_auth::Portal;
use hs_config::plugin::MenuPortal;
use hs_modules::{hooks, plugins};
use hs_types::PluginName;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{
    ADMIN_ONLY, ADMIN_PORT, ANYONE, Action, BOTH_PORTS, Call, FieldType as T, Reply, opt, req,
};

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    c.json(json!({ "plugins": plugins::list(&c.app.panel, &c.actor()?)? }))
}

fn hook_points(c: &Call<'_>) -> Result<Reply, ApiError> {
    let common: Vec<_> = hooks::COMMON_FIELDS
        .iter()
        .map(|(name, about)| json!({ "name": name, "about": about }))
        .collect();
    let points: Vec<_> = hooks::POINTS
        .iter()
        .map(|p| {
            json!({
                "pre": format!("pre_{}", p.action),
                "post": format!("post_{}", p.action),
                "action": p.action,
                "module": p.module,
                "about": p.about,
                "input_fields": p.fields,
            })
        })
        .collect();
    c.json(json!({ "event_fields": common, "hooks": points }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Enable {
    name: PluginName,
    #[serde(default)]
    allow_root: bool,
}

fn enable(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Enable = c.parse()?;
    c.json(plugins::enable(&c.app.panel, &c.actor()?, &input.name, input.allow_root)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Name {
    name: PluginName,
}

fn disable(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Name = c.parse()?;
    c.json(plugins::disable(&c.app.panel, &c.actor()?, &input.name)?)
}

fn menu(c: &Call<'_>) -> Result<Reply, ApiError> {
    let portal = match c.portal {
        Portal::Admin => MenuPortal::Admin,
        Portal::User => MenuPortal::User,
    };
    c.json(json!({ "menu": plugins::menu(&c.app.panel, &c.actor()?, portal) }))
}

pub const ACTIONS: &[Action] = &[
    Action {
        module: "plugin",
        name: "list",
        summary: "Installed plugins: status, hooks, routes, menu, failed post hooks",
        read_only: true,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields: &[],
        handler: list,
    },
    Action {
        module: "plugin",
        name: "hooks",
        summary: "Every hook point with the fields its event carries",
        read_only: true,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields: &[],
        handler: hook_points,
    },
    Action {
        module: "plugin",
        name: "enable",
        summary: "Enable a plugin; allow_root approves root for its current manifest",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields: &[
            req("name", T::String, "the plugin"),
            opt("allow_root", T::Boolean, "approve a manifest that asks for root"),
        ],
        handler: enable,
    },
    Action {
        module: "plugin",
        name: "disable",
        summary: "Disable a plugin: its hooks, routes and menu entries stop",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: ADMIN_ONLY,
        fields: &[req("name", T::String, "the plugin")],
        handler: disable,
    },
    Action {
        module: "plugin",
        name: "menu",
        summary: "The plugins' menu entries for this portal and the caller's role",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[],
        handler: menu,
    },
];

/// The registry row plugin routes are authenticated with: both ports, every
/// role (the route's own `roles` are checked by the module).
pub const ROUTE: Action = Action {
    module: "plugin",
    name: "route",
    summary: "A plugin's route",
    read_only: false,
    public: false,
    portals: BOTH_PORTS,
    roles: ANYONE,
    fields: &[],
    handler: unreachable_handler,
};

fn unreachable_handler(_: &Call<'_>) -> Result<Reply, ApiError> {
    Err(ApiError::not_found("plugin routes are served by their own route"))
}
