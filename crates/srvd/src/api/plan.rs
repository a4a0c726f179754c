//! `/api/plan/*`: hosting plans, on the admin port; on both ports, the plan an
//! account is on (the user dashboard shows usage against its limits).

use hs_modules::plan::{self, SavePlan};
use hs_types::PlanName;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{
    ADMIN_PORT, ANYONE, Action, BOTH_PORTS, Call, FieldType as T, Reply, STAFF, opt, req,
};

fn list(c: &Call<'_>) -> Result<Reply, ApiError> {
    c.json(json!({ "plans": plan::list(&c.app.panel, &c.actor()?)? }))
}

fn save(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: SavePlan = c.parse()?;
    c.json(plan::save(&c.app.panel, &c.actor()?, input)?)
}

/// The account's plan; whoever may see the account may see its limits.
fn of_account(c: &Call<'_>) -> Result<Reply, ApiError> {
    let user = c.target_only()?;
    let account = hs_modules::account::show(&c.app.panel, &c.actor()?, &user)?;
    let name: PlanName = account.plan.parse()?;
    let found = c.app.panel.store.plan(&name).map_err(|e| ApiError::internal(e.to_string()))?;
    let plan = found.ok_or_else(|| ApiError::not_found(format!("plan {name} does not exist")))?;
    c.json(json!({ "username": user, "plan": plan }))
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
                 mailboxes, databases, forwarders, cron_jobs, dns_records (records per \
                 zone) (absent: unlimited)",
            ),
        ],
        handler: save,
    },
    Action {
        module: "plan",
        name: "of_account",
        summary: "The plan an account is on, with its limits (on the user port: yours)",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[opt("username", T::String, "required on the admin port")],
        handler: of_account,
    },
];
