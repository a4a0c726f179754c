//! What every module operation runs with: where things are, how the server is
//! configured, the state store, and the pipeline to the services.

use hs_automation::Pipeline;
use hs_config::state::{Owner, Role};
use hs_config::{Layout, PanelConfig, StateStore, Templates};
use hs_types::Username;

use crate::error::{ModuleError, Result};

#[derive(Debug, Clone)]
pub struct Panel {
    pub layout: Layout,
    pub config: PanelConfig,
    pub store: StateStore,
    pub pipeline: Pipeline,
    /// Sessions to revoke on suspension, password change and termination.
    pub auth: Option<hs_auth::Authenticator>,
}

impl Panel {
    pub fn new(layout: Layout, config: PanelConfig, pipeline: Pipeline) -> Panel {
        let store = StateStore::new(layout.clone());
        Panel { layout, config, store, pipeline, auth: None }
    }

    pub fn with_auth(mut self, auth: hs_auth::Authenticator) -> Panel {
        self.auth = Some(auth);
        self
    }

    /// Templates are read at each use, so an administrator's edit applies at once.
    pub fn templates(&self) -> Result<Templates> {
        Ok(Templates::load(&self.layout.templates())?)
    }

    /// Test-only crash points: in a sandbox, if `var/hspanel/fault` names `point`,
    /// the process dies on the spot, as a power cut would. Ignored on real servers.
    pub fn fault_point(&self, point: &str) {
        if !self.layout.is_sandbox() {
            return;
        }
        let path = self.layout.fault_file();
        let Ok(wanted) = std::fs::read_to_string(&path) else { return };
        if wanted.trim() == point {
            let _ = std::fs::remove_file(&path);
            tracing::warn!(point, "fault injection: killing the process");
            let _ = nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::SIGKILL);
        }
    }
}

/// Who is asking: the administrator, a reseller, or an account holder; and the
/// operation id of the request, which plugin hooks receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
    /// The operation this actor acts in (the API's `op-…`, the CLI's `cli-…`).
    pub op_id: Option<String>,
}

impl Actor {
    pub fn admin(name: &str) -> Actor {
        Actor { name: name.to_string(), role: Role::Admin, op_id: None }
    }

    pub fn user(name: &Username) -> Actor {
        Actor { name: name.as_str().to_string(), role: Role::User, op_id: None }
    }

    /// The same actor, acting in operation `op_id`.
    pub fn in_op(mut self, op_id: &str) -> Actor {
        self.op_id = Some(op_id.to_string());
        self
    }

    /// The owner that accounts created by this actor get.
    pub fn as_owner(&self) -> Result<Owner> {
        match self.role {
            Role::Admin => Ok(Owner::Admin),
            Role::Reseller => Ok(Owner::Reseller(self.name.parse()?)),
            Role::User => {
                Err(ModuleError::Forbidden("account holders cannot create accounts".into()))
            }
        }
    }

    /// May this actor manage the account `account`, owned by `owner`?
    pub fn may_manage(&self, account: &Username, owner: &Owner) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Reseller => matches!(owner, Owner::Reseller(r) if r.as_str() == self.name),
            Role::User => account.as_str() == self.name,
        }
    }
}
