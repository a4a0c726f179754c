//! The table of API actions: one row per `/api/{module}/{action}`, saying who may
//! call it, on which port, with which fields. Routing, authorisation and the
//! OpenAPI document are all read from this table, so they cannot disagree.

use std::net::IpAddr;

use hs_auth::{Portal, Principal, Role};
use hs_modules::Actor;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::app::App;
use crate::error::ApiError;

/// One request, as a handler sees it.
pub struct Call<'a> {
    pub app: &'a App,
    pub portal: Portal,
    pub principal: Option<Principal>,
    pub ip: IpAddr,
    pub op_id: String,
    pub input: Value,
    /// The `Range` header, for downloads.
    pub range: Option<String>,
}

/// What a handler answers.
pub enum Reply {
    Json(Value),
    /// A new session: the body, and the token to set as the session cookie.
    Login {
        body: Value,
        token: String,
        max_age: i64,
    },
    /// The session ended: clear the cookie.
    Logout(Value),
    /// A response the handler built itself (a streamed download).
    Raw(axum::response::Response),
}

pub type Handler = fn(&Call<'_>) -> Result<Reply, ApiError>;

#[derive(Debug, Clone, Copy)]
pub enum FieldType {
    String,
    Integer,
    Boolean,
    StringList,
    Object,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub required: bool,
    pub about: &'static str,
}

pub const fn req(name: &'static str, ty: FieldType, about: &'static str) -> Field {
    Field { name, ty, required: true, about }
}

pub const fn opt(name: &'static str, ty: FieldType, about: &'static str) -> Field {
    Field { name, ty, required: false, about }
}

pub struct Action {
    pub module: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    /// Read-only actions also answer GET with query parameters.
    pub read_only: bool,
    /// Callable without credentials (only `auth/login`).
    pub public: bool,
    pub portals: &'static [Portal],
    /// Roles that may call it; checked before the handler runs.
    pub roles: &'static [Role],
    pub fields: &'static [Field],
    pub handler: Handler,
}

/// A row for an action on one account, callable on both ports by anyone: on the
/// user port the account is the caller's own, on the admin port staff name it.
pub const fn account_action(
    module: &'static str,
    name: &'static str,
    summary: &'static str,
    read_only: bool,
    fields: &'static [Field],
    handler: Handler,
) -> Action {
    Action {
        module,
        name,
        summary,
        read_only,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields,
        handler,
    }
}

pub const ADMIN_PORT: &[Portal] = &[Portal::Admin];
pub const USER_PORT: &[Portal] = &[Portal::User];
pub const BOTH_PORTS: &[Portal] = &[Portal::Admin, Portal::User];
pub const STAFF: &[Role] = &[Role::Admin, Role::Reseller];
pub const ADMIN_ONLY: &[Role] = &[Role::Admin];
pub const ANYONE: &[Role] = &[Role::Admin, Role::Reseller, Role::User];

impl Call<'_> {
    /// The input as the handler's typed request. Unknown fields, missing fields and
    /// invalid values are the caller's mistake: a 400 saying which.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_value(self.input.clone()).map_err(|e| ApiError::bad_request(e.to_string()))
    }

    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal.as_ref().ok_or_else(|| ApiError::unauthenticated("log in first"))
    }

    pub fn actor(&self) -> Result<Actor, ApiError> {
        let p = self.principal()?;
        Ok(Actor { name: p.username.clone(), role: p.role, op_id: Some(self.op_id.clone()) })
    }

    /// The account an action is about. On the user port it is always the caller's
    /// own; on the admin port the caller names it.
    pub fn target(
        &self,
        named: Option<hs_types::Username>,
    ) -> Result<hs_types::Username, ApiError> {
        let p = self.principal()?;
        match self.portal {
            Portal::User => {
                let me: hs_types::Username = p.username.parse()?;
                match named {
                    Some(other) if other != me => {
                        Err(ApiError::forbidden("on this port you act on your own account only"))
                    }
                    _ => Ok(me),
                }
            }
            Portal::Admin => named.ok_or_else(|| ApiError::bad_request("missing field `username`")),
        }
    }

    /// The account of an action whose only input is the account: see
    /// [`Call::target`].
    pub fn target_only(&self) -> Result<hs_types::Username, ApiError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct AccountOnly {
            #[serde(default)]
            username: Option<hs_types::Username>,
        }
        let input: AccountOnly = self.parse()?;
        self.target(input.username)
    }

    pub fn json(&self, value: impl serde::Serialize) -> Result<Reply, ApiError> {
        serde_json::to_value(value).map(Reply::Json).map_err(|e| ApiError::internal(e.to_string()))
    }
}

/// Every action, in the order the OpenAPI document lists them.
pub fn actions() -> &'static [&'static Action] {
    static ALL: std::sync::OnceLock<Vec<&'static Action>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let modules: &[&'static [Action]] = &[
            crate::api::auth::ACTIONS,
            crate::api::account::ACTIONS,
            crate::api::domain::ACTIONS,
            crate::api::dns::ACTIONS,
            crate::api::plan::ACTIONS,
            crate::api::cron::ACTIONS,
            crate::api::ftp::ACTIONS,
            crate::api::mail::ACTIONS,
            crate::api::monitor::ACTIONS,
            crate::api::database::ACTIONS,
            crate::api::fileman::ACTIONS,
            crate::api::task::ACTIONS,
            crate::api::plugin::ACTIONS,
            crate::api::ssl::ACTIONS,
            crate::api::backup::ACTIONS,
        ];
        modules.iter().copied().flatten().collect()
    })
}

pub fn find(portal: Portal, module: &str, name: &str) -> Option<&'static Action> {
    actions()
        .iter()
        .copied()
        .find(|a| a.module == module && a.name == name && a.portals.contains(&portal))
}
