//! `/api/plan/*`: hosting plans, on the admin port.

use hs_modules::plan::{self, SavePlan};
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{ADMIN_PORT, Action, Call, FieldType as T, Reply, STAFF, opt, req};

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    c.json(json!({ "plans": plan::list(&c.app.panel, &c.actor()?)? }))
}

fn save(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: SavePlan = c.parse()?;
    c.json(plan::save(&c.app.panel, &c.actor()?, input)?)
}

pub const ACTIONS: &[Action] = &[
    Action {
        module: "plan",
        name: "list",
        summary: "Plans the caller may hand out",
        read_only: true,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[],
        handler: list,
    },
    Action {
        module: "plan",
        name: "save",
        summary: "Create or update a plan",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[
            req("name", T::String, ""),
            opt(
                "limits",
                T::Object,
                "disk_mb, bandwidth_mb, addon_domains, subdomains, parked_domains, \
                 mailboxes, databases, forwarders, cron_jobs (absent: unlimited)",
            ),
        ],
        handler: save,
    },
];
