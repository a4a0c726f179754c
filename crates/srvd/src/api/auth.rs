//! `/api/auth/*`: log in and out, who am I, and API tokens for automation.

use std::net::IpAddr;

use axum::http::StatusCode;
use hs_auth::{Portal, Role};
use hs_types::{Password, TokenName, Username};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{
    ADMIN_PORT, ANYONE, Action, BOTH_PORTS, Call, FieldType as T, Reply, STAFF, USER_PORT, opt, req,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

/// The same answer for a wrong password, an unknown user and a user who may not
/// use this port, so a caller cannot learn which names exist.
fn refused() -> ApiError {
    ApiError::unauthenticated("wrong username or password")
}

fn login(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Login = c.parse()?;
    let name = input.username.trim().to_ascii_lowercase();
    if name.is_empty() || name.len() > 64 || input.password.len() > 1024 {
        return Err(refused());
    }
    if let Err(wait) = c.app.logins.check(c.ip, &name) {
        let msg = format!("too many failed logins; try again in {} s", wait.as_secs().max(1));
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "locked_out", msg));
    }

    let verified = verify(c, &name, &input.password)?;
    let Some(role) = verified else {
        c.app.logins.record_failure(c.ip, &name);
        tracing::info!(user = %name, ip = %c.ip, portal = %c.portal, audit = true, "login refused");
        return Err(refused());
    };
    c.app.logins.record_success(c.ip, &name);

    let (token, expires) = c.app.auth.login(&name, role, c.portal)?;
    tracing::info!(user = %name, ip = %c.ip, portal = %c.portal, audit = true, "login");
    let max_age = expires - jiff::Timestamp::now().as_second();
    let body = json!({ "token": token, "expires": expires, "username": name, "role": role });
    Ok(Reply::Login { body, token, max_age })
}

/// `Some(role)` when the password is right and the user may log in on this port.
fn verify(c: &Call<'_>, name: &str, password: &str) -> Result<Option<Role>, ApiError> {
    if c.portal == Portal::Admin
        && let Some(hash) = c.app.admins.get_hash(name)?
    {
        return Ok(hs_auth::verify_password(&hash, password).then_some(Role::Admin));
    }
    let account = match name.parse::<Username>() {
        Ok(user) => {
            c.app.panel.store.account(&user).map_err(|e| ApiError::internal(e.to_string()))?
        }
        Err(_) => None,
    };
    let Some(account) = account else {
        hs_auth::burn_verify_time(password);
        return Ok(None);
    };
    if !hs_auth::verify_password(&account.password_hash, password) {
        return Ok(None);
    }
    if account.suspended.is_some() {
        return Err(ApiError::forbidden("this account is suspended"));
    }
    Ok(match (c.portal, account.role) {
        (Portal::User, _) => Some(Role::User),
        (Portal::Admin, Role::Reseller) => Some(Role::Reseller),
        (Portal::Admin, _) => None,
    })
}

fn logout(c: &Call<'_>) -> Result<Reply, ApiError> {
    c.app.auth.logout(c.principal()?)?;
    Ok(Reply::Logout(json!({ "logged_out": true })))
}

fn whoami(c: &Call<'_>) -> Result<Reply, ApiError> {
    let p = c.principal()?;
    let via = match &p.auth {
        hs_auth::AuthMethod::Session { .. } => "session",
        hs_auth::AuthMethod::ApiToken { .. } => "api_token",
    };
    c.json(json!({ "username": p.username, "role": p.role, "portal": p.portal, "via": via }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: String,
    new_password: Password,
}

/// Changes the caller's own password and ends all of its sessions.
fn change_password(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: ChangePassword = c.parse()?;
    let p = c.principal()?;
    if p.role == Role::Admin {
        let hash = c.app.admins.get_hash(&p.username)?.ok_or_else(refused)?;
        if !hs_auth::verify_password(&hash, &input.current_password) {
            return Err(ApiError::forbidden("the current password is wrong"));
        }
        c.app.admins.set(&p.username, &input.new_password)?;
        c.app.auth.revoke_sessions(&p.username)?;
        return c.json(json!({ "changed": true }));
    }
    let user: Username = p.username.parse()?;
    let account =
        c.app.panel.store.account(&user).map_err(|e| ApiError::internal(e.to_string()))?;
    let account = account.ok_or_else(refused)?;
    if !hs_auth::verify_password(&account.password_hash, &input.current_password) {
        return Err(ApiError::forbidden("the current password is wrong"));
    }
    let actor = hs_modules::Actor::user(&user).in_op(&c.op_id);
    hs_modules::account::change_password(&c.app.panel, &actor, &user, &input.new_password)?;
    c.json(json!({ "changed": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenCreate {
    name: TokenName,
    #[serde(default)]
    allowed_ips: Vec<IpAddr>,
    /// Days until the token stops working; never when absent.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

fn token_create(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: TokenCreate = c.parse()?;
    let p = c.principal()?;
    if matches!(p.auth, hs_auth::AuthMethod::ApiToken { .. }) {
        return Err(ApiError::forbidden("API tokens cannot create API tokens; log in"));
    }
    let expires = input
        .expires_in_days
        .map(|days| jiff::Timestamp::now().as_second() + i64::from(days.min(3650)) * 86_400);
    let (token, info) = c.app.auth.create_api_token(
        &p.username,
        p.role,
        c.portal,
        &input.name,
        input.allowed_ips,
        expires,
    )?;
    tracing::info!(user = %p.username, name = %info.name, audit = true, "API token created");
    c.json(json!({ "token": token, "info": info }))
}

fn token_list(c: &Call<'_>) -> Result<Reply, ApiError> {
    let p = c.principal()?;
    let tokens = c.app.auth.list_api_tokens(&p.username)?;
    let tokens: Vec<_> = tokens.into_iter().filter(|t| t.portal == c.portal).collect();
    c.json(json!({ "tokens": tokens }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRevoke {
    name: TokenName,
}

fn token_revoke(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: TokenRevoke = c.parse()?;
    let p = c.principal()?;
    if !c.app.auth.revoke_api_token(&p.username, &input.name)? {
        return Err(ApiError::not_found(format!("no token named {}", input.name)));
    }
    tracing::info!(user = %p.username, name = %input.name, audit = true, "API token revoked");
    c.json(json!({ "revoked": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginAs {
    username: Username,
}

/// Staff open an account's user portal as that account: a one-time ticket the
/// user portal redeems with `auth/handoff`. A reseller may do it for its own
/// customers only, like every other action on them.
fn login_as(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: LoginAs = c.parse()?;
    let actor = c.actor()?;
    let account = hs_modules::account::load_managed(&c.app.panel, &actor, &input.username)?;
    if account.suspended.is_some() {
        let msg = "this account is suspended; unsuspend it first";
        return Err(ApiError::new(StatusCode::CONFLICT, "suspended", msg));
    }
    let ticket = c.app.handoffs.issue(input.username.as_str(), &actor.name)?;
    tracing::info!(
        user = %input.username, by = %actor.name, ip = %c.ip, audit = true,
        "login as the user requested"
    );
    c.json(json!({
        "username": input.username,
        "ticket": ticket,
        "user_port": c.app.panel.config.api.user_listen.port(),
        "expires_in": hs_auth::TICKET_TTL.as_secs(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Handoff {
    ticket: String,
}

/// Redeems a `login_as` ticket on the user portal: a session like a login's.
fn handoff(c: &Call<'_>) -> Result<Reply, ApiError> {
    let input: Handoff = c.parse()?;
    let expired = || ApiError::unauthenticated("this link has expired or was used; ask again");
    let handoff = c.app.handoffs.redeem(&input.ticket).ok_or_else(expired)?;
    let user: Username = handoff.username.parse()?;
    let account =
        c.app.panel.store.account(&user).map_err(|e| ApiError::internal(e.to_string()))?;
    let account = account.ok_or_else(expired)?;
    if account.suspended.is_some() {
        return Err(ApiError::forbidden("this account is suspended"));
    }
    let (token, expires) = c.app.auth.login(user.as_str(), Role::User, Portal::User)?;
    tracing::info!(
        user = %user, by = %handoff.issued_by, ip = %c.ip, portal = %c.portal, audit = true,
        "login as the user"
    );
    let max_age = expires - jiff::Timestamp::now().as_second();
    let body = json!({
        "token": token, "expires": expires, "username": user, "role": Role::User,
        "issued_by": handoff.issued_by,
    });
    Ok(Reply::Login { body, token, max_age })
}

pub const ACTIONS: &[Action] = &[
    Action {
        module: "auth",
        name: "login",
        summary: "Log in; returns a bearer token and sets the session cookie",
        read_only: false,
        public: true,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[req("username", T::String, ""), req("password", T::String, "")],
        handler: login,
    },
    Action {
        module: "auth",
        name: "logout",
        summary: "End this session",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[],
        handler: logout,
    },
    Action {
        module: "auth",
        name: "whoami",
        summary: "Who the credentials belong to",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[],
        handler: whoami,
    },
    Action {
        module: "auth",
        name: "change_password",
        summary: "Change your own password; ends every session",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[
            req("current_password", T::String, ""),
            req("new_password", T::String, "8+ characters, 3 character classes"),
        ],
        handler: change_password,
    },
    Action {
        module: "auth",
        name: "token_create",
        summary: "Create a named API token (shown once)",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[
            req("name", T::String, ""),
            opt("allowed_ips", T::StringList, "addresses the token works from"),
            opt("expires_in_days", T::Integer, ""),
        ],
        handler: token_create,
    },
    Action {
        module: "auth",
        name: "token_list",
        summary: "Your API tokens on this port",
        read_only: true,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[],
        handler: token_list,
    },
    Action {
        module: "auth",
        name: "token_revoke",
        summary: "Revoke one of your API tokens by name",
        read_only: false,
        public: false,
        portals: BOTH_PORTS,
        roles: ANYONE,
        fields: &[req("name", T::String, "")],
        handler: token_revoke,
    },
    Action {
        module: "auth",
        name: "login_as",
        summary: "A one-time ticket that opens the user portal as one of your accounts",
        read_only: false,
        public: false,
        portals: ADMIN_PORT,
        roles: STAFF,
        fields: &[req("username", T::String, "the account")],
        handler: login_as,
    },
    Action {
        module: "auth",
        name: "handoff",
        summary: "Redeem a login_as ticket; sets the session cookie",
        read_only: false,
        public: true,
        portals: USER_PORT,
        roles: ANYONE,
        fields: &[req("ticket", T::String, "from auth/login_as, valid once for 60 s")],
        handler: handoff,
    },
];
