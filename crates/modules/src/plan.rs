//! Hosting plans (`/var/hspanel/packages/`): named sets of limits.

use hs_config::state::{Limits, Plan, Role, STATE_VERSION};
use hs_types::{PlanName, Username};
use serde::Deserialize;

use crate::context::{Actor, Panel};
use crate::error::{ModuleError, Result};

/// Creates the `default` plan (unlimited) when no plan exists yet.
pub fn ensure_default(panel: &Panel) -> Result<()> {
    if !panel.store.plans()?.is_empty() {
        return Ok(());
    }
    let plan = Plan {
        version: STATE_VERSION,
        name: "default".parse()?,
        limits: Limits::default(),
        owner: None,
    };
    Ok(panel.store.write_plan(&plan)?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavePlan {
    pub name: PlanName,
    #[serde(default)]
    pub limits: Limits,
}

/// Creates or updates a plan. Resellers own the plans they create.
pub fn save(panel: &Panel, actor: &Actor, req: SavePlan) -> Result<Plan> {
    let event = serde_json::json!({ "name": &req.name, "limits": &req.limits });
    crate::hooks::around(panel, actor, "saveplan", event, || save_now(panel, actor, req))
}

fn save_now(panel: &Panel, actor: &Actor, req: SavePlan) -> Result<Plan> {
    let owner = match actor.role {
        Role::Admin => None,
        Role::Reseller => Some(actor.name.parse::<Username>()?),
        Role::User => {
            return Err(ModuleError::Forbidden("only administrators manage plans".into()));
        }
    };
    if let Some(existing) = panel.store.plan(&req.name)?
        && !may_edit(actor, &existing)
    {
        return Err(ModuleError::Conflict(format!("plan {} exists", req.name)));
    }
    let plan = Plan { version: STATE_VERSION, name: req.name, limits: req.limits, owner };
    panel.store.write_plan(&plan)?;
    Ok(plan)
}

fn may_edit(actor: &Actor, plan: &Plan) -> bool {
    match actor.role {
        Role::Admin => plan.owner.is_none(),
        _ => plan.owner.as_ref().is_some_and(|o| o.as_str() == actor.name),
    }
}

/// May `actor` give accounts this plan? Admin plans are shared with resellers.
pub fn may_use(actor: &Actor, plan: &Plan) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Reseller => plan.owner.as_ref().is_none_or(|o| o.as_str() == actor.name),
        Role::User => false,
    }
}

pub fn list(panel: &Panel, actor: &Actor) -> Result<Vec<Plan>> {
    Ok(panel.store.plans()?.into_iter().filter(|p| may_use(actor, p)).collect())
}

pub fn get_usable(panel: &Panel, actor: &Actor, name: &PlanName) -> Result<Plan> {
    let plan = panel.store.plan(name)?;
    match plan {
        Some(plan) if may_use(actor, &plan) => Ok(plan),
        _ => Err(ModuleError::NotFound(format!("plan {name} does not exist"))),
    }
}
