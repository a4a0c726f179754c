//! The two listeners and the request path: operation id → client throttle →
//! action lookup → credentials (a cookie must come with this address's `Origin`
//! on POST) → role → input → handler on a blocking thread.

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use hs_auth::Portal;
use serde_json::Value;

use crate::app::App;
use crate::error::ApiError;
use crate::registry::{self, Call, Reply};

/// Largest request body accepted; uploads have their own route when they exist.
const BODY_LIMIT: usize = 1024 * 1024;
pub const SESSION_COOKIE: &str = "hs_session";
/// The admin port's own cookie: cookies ignore ports, so with one name a login on
/// one port of a host would log the browser out of the other.
pub const ADMIN_SESSION_COOKIE: &str = "hs_admin_session";

pub fn cookie_name(portal: Portal) -> &'static str {
    match portal {
        Portal::Admin => ADMIN_SESSION_COOKIE,
        Portal::User => SESSION_COOKIE,
    }
}

#[derive(Clone)]
struct PortState {
    app: App,
    portal: Portal,
}

pub fn router(app: App, portal: Portal) -> Router {
    let state = PortState { app, portal };
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/fileman/upload", any(upload).layer(DefaultBodyLimit::disable()))
        .route("/api/{module}/{action}", any(dispatch))
        .route("/api/plugin/{name}/{*path}", any(plugin_route))
        .fallback(not_found)
        .with_state(state)
}

async fn openapi(State(s): State<PortState>) -> Response {
    let doc = crate::openapi::document(s.portal);
    with_op_id(axum::Json(doc).into_response(), &new_op_id())
}

async fn not_found(request: Request) -> Response {
    let op_id = new_op_id();
    let path = request.uri().path().to_string();
    if !path.starts_with("/api/")
        && let Some(asset) = hs_ui::asset(&path)
    {
        let headers = [
            (header::CONTENT_TYPE, asset.mime),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, hs_ui::CONTENT_SECURITY_POLICY),
            (header::REFERRER_POLICY, "same-origin"),
        ];
        return with_op_id((headers, asset.body).into_response(), &op_id);
    }
    error_response(&ApiError::not_found(format!("no such route: {path}")), &op_id)
}

async fn dispatch(
    State(s): State<PortState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((module, action)): Path<(String, String)>,
    request: Request,
) -> Response {
    let op_id = new_op_id();
    let result = handle(&s, peer, &module, &action, request, &op_id).await;
    let response = match result {
        Ok(reply) => reply_response(reply, s.app.session_ttl, s.portal),
        Err(e) => {
            if e.is_callers_fault() {
                tracing::debug!(op = %op_id, module, action, code = e.code, "refused");
            } else {
                tracing::error!(op = %op_id, module, action, "{}", e.message);
            }
            error_response(&e, &op_id)
        }
    };
    with_op_id(response, &op_id)
}

async fn handle(
    s: &PortState,
    peer: SocketAddr,
    module: &str,
    action_name: &str,
    request: Request,
    op_id: &str,
) -> Result<Reply, ApiError> {
    let ip = peer.ip();
    throttle(s, ip)?;

    let action = registry::find(s.portal, module, action_name)
        .ok_or_else(|| ApiError::not_found(format!("no such action: {module}/{action_name}")))?;

    let method = request.method().clone();
    let allowed = method == Method::POST || (action.read_only && method == Method::GET);
    if !allowed {
        let msg = if action.read_only { "use GET or POST" } else { "use POST" };
        return Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", msg));
    }

    let (parts, body) = request.into_parts();
    let principal = authenticate(s, &parts.headers, &method, ip, action)?;

    let input = if method == Method::GET {
        query_input(parts.uri.query())?
    } else {
        body_input(&parts.headers, body).await?
    };

    let range = parts.headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(String::from);
    let call_app = s.app.clone();
    let portal = s.portal;
    let op_id = op_id.to_string();
    let handler = action.handler;
    tokio::task::spawn_blocking(move || {
        let call = Call { app: &call_app, portal, principal, ip, op_id, input, range };
        handler(&call)
    })
    .await
    .map_err(|e| ApiError::internal(format!("handler crashed: {e}")))?
}

fn throttle(s: &PortState, ip: IpAddr) -> Result<(), ApiError> {
    match s.app.requests.check(ip) {
        Ok(()) => Ok(()),
        Err(wait) => {
            let msg = format!("too many requests; retry in {} ms", wait.as_millis().max(1));
            Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", msg))
        }
    }
}

/// Credentials → session → role, for one action. `None` for a public action.
fn authenticate(
    s: &PortState,
    headers: &HeaderMap,
    method: &Method,
    ip: IpAddr,
    action: &registry::Action,
) -> Result<Option<hs_auth::Principal>, ApiError> {
    if action.public {
        return Ok(None);
    }
    let credential = credential(headers, s.portal)?;
    if credential.from_cookie && method == Method::POST && !same_origin(headers) {
        let msg = "cross-site request refused: its Origin is not this panel's address";
        return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf", msg));
    }
    let principal = s.app.auth.verify(&credential.token, s.portal, ip)?;
    if !action.roles.contains(&principal.role) {
        return Err(ApiError::forbidden("your role may not call this action"));
    }
    Ok(Some(principal))
}

/// `POST /api/fileman/upload`: multipart, streamed to the file helper, so it
/// has its own route without the 1 MiB body limit; the same throttle,
/// credentials and roles as every action.
async fn upload(
    State(s): State<PortState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let op_id = new_op_id();
    let result = async {
        let ip = peer.ip();
        throttle(&s, ip)?;
        let action = registry::find(s.portal, "fileman", "upload")
            .ok_or_else(|| ApiError::not_found("no such action: fileman/upload"))?;
        let method = request.method().clone();
        if method != Method::POST {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "use POST",
            ));
        }
        let principal = authenticate(&s, request.headers(), &method, ip, action)?
            .ok_or_else(|| ApiError::unauthenticated("log in first"))?;
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad_request(format!("not a multipart upload: {e}")))?;
        crate::api::fileman::upload(s.app.clone(), s.portal, principal, op_id.clone(), multipart)
            .await
    }
    .await;
    let response = match result {
        Ok(reply) => reply_response(reply, s.app.session_ttl, s.portal),
        Err(e) => {
            if e.is_callers_fault() {
                tracing::debug!(op = %op_id, code = e.code, "upload refused");
            } else {
                tracing::error!(op = %op_id, "upload: {}", e.message);
            }
            error_response(&e, &op_id)
        }
    };
    with_op_id(response, &op_id)
}

/// `/api/plugin/{name}/{path}`: the same throttle and credentials as every
/// action, then the request (input, method, caller) goes to the plugin's program
/// and its JSON comes back. The route's roles are checked by the module.
async fn plugin_route(
    State(s): State<PortState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((name, path)): Path<(String, String)>,
    request: Request,
) -> Response {
    let op_id = new_op_id();
    let result = async {
        let ip = peer.ip();
        throttle(&s, ip)?;
        let method = request.method().clone();
        if method != Method::POST && method != Method::GET {
            let msg = "use GET or POST";
            return Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", msg));
        }
        let (parts, body) = request.into_parts();
        let action = &crate::api::plugin::ROUTE;
        let principal = authenticate(&s, &parts.headers, &method, ip, action)?
            .ok_or_else(|| ApiError::unauthenticated("log in first"))?;
        let plugin: hs_types::PluginName =
            name.parse().map_err(|_| ApiError::not_found(format!("no such plugin: {name}")))?;
        let input = if method == Method::GET {
            query_input(parts.uri.query())?
        } else {
            body_input(&parts.headers, body).await?
        };
        let app = s.app.clone();
        let portal = match s.portal {
            Portal::Admin => "admin",
            Portal::User => "user",
        };
        let op = op_id.clone();
        tokio::task::spawn_blocking(move || {
            let actor = hs_modules::Actor {
                name: principal.username.clone(),
                role: principal.role,
                op_id: Some(op),
            };
            let call = hs_modules::plugins::RouteCall {
                plugin: &plugin,
                path: &path,
                method: method.as_str(),
                portal,
                input,
            };
            hs_modules::plugins::call_route(&app.panel, &actor, call)
                .map(Reply::Json)
                .map_err(ApiError::from)
        })
        .await
        .map_err(|e| ApiError::internal(format!("handler crashed: {e}")))?
    }
    .await;
    let response = match result {
        Ok(reply) => reply_response(reply, s.app.session_ttl, s.portal),
        Err(e) => {
            if e.is_callers_fault() {
                tracing::debug!(op = %op_id, code = e.code, "plugin route refused");
            } else {
                tracing::error!(op = %op_id, "plugin route: {}", e.message);
            }
            error_response(&e, &op_id)
        }
    };
    with_op_id(response, &op_id)
}

struct Credential {
    token: String,
    /// Browsers attach cookies to cross-site requests too; bearer headers they do not.
    from_cookie: bool,
}

/// A bearer token from `Authorization`, else the session cookie.
fn credential(headers: &HeaderMap, portal: Portal) -> Result<Credential, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match bearer {
        Some(token) => Ok(Credential { token: token.to_string(), from_cookie: false }),
        None => session_cookie(headers, cookie_name(portal))
            .map(|token| Credential { token, from_cookie: true })
            .ok_or_else(|| ApiError::unauthenticated("log in first")),
    }
}

/// Did a page of this very address send the request? `Origin` (else the origin
/// part of `Referer`) must equal `http://` + the `Host` header, port included, so
/// IPv6 (`[::1]:2086`) and non-default ports compare as plain text.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let Some(host) = text(header::HOST) else { return false };
    let source = match headers.get(header::ORIGIN) {
        Some(_) => text(header::ORIGIN),
        None => text(header::REFERER).and_then(referer_origin),
    };
    source.is_some_and(|origin| origin_matches(origin, host))
}

fn origin_matches(origin: &str, host: &str) -> bool {
    // FIXME: only `http://` until the panel ports serve TLS themselves.
    let authority = origin.strip_prefix("http://");
    !host.is_empty() && authority.is_some_and(|a| a.eq_ignore_ascii_case(host))
}

/// `http://host:port` out of a full `Referer` URL.
fn referer_origin(referer: &str) -> Option<&str> {
    let rest = referer.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    referer.get(.."http://".len() + end)
}

fn session_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

fn query_input(query: Option<&str>) -> Result<Value, ApiError> {
    let pairs: Vec<(String, String)> = match query {
        Some(q) => serde_urlencoded_pairs(q)?,
        None => Vec::new(),
    };
    let mut object = serde_json::Map::new();
    for (key, value) in pairs {
        if object.insert(key.clone(), Value::String(value)).is_some() {
            return Err(ApiError::bad_request(format!("parameter `{key}` given twice")));
        }
    }
    Ok(Value::Object(object))
}

fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    let parsed = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query}").parse().map_err(|_| ApiError::bad_request("bad query string"))?,
    );
    parsed.map(|q| q.0).map_err(|_| ApiError::bad_request("bad query string"))
}

async fn body_input(headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let too_large = || {
        let msg = format!("the request body is larger than {} KiB", BODY_LIMIT / 1024);
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", msg)
    };
    // Refuse a declared oversize body before reading any of it.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let bytes = to_bytes(body, BODY_LIMIT).await.map_err(|_| too_large())?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    Ok(value)
}

fn reply_response(reply: Reply, ttl: u64, portal: Portal) -> Response {
    let name = cookie_name(portal);
    match reply {
        Reply::Json(value) => axum::Json(value).into_response(),
        Reply::Raw(response) => response,
        Reply::Login { body, token, max_age } => {
            let age = max_age.clamp(0, ttl as i64);
            let cookie =
                format!("{name}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={age}");
            let mut response = axum::Json(body).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Reply::Logout(body) => {
            let cookie = format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
            let mut response = axum::Json(body).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
    }
}

fn error_response(e: &ApiError, op_id: &str) -> Response {
    (e.status, axum::Json(e.body(op_id))).into_response()
}

fn with_op_id(mut response: Response, op_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(op_id) {
        response.headers_mut().insert("x-operation-id", value);
    }
    response
}

/// `op-` and 16 random hex digits: in every response, error body and log line.
pub fn new_op_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = (nanos as u64).to_le_bytes();
    }
    format!("op-{}", hex::encode(bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(origin: Option<&str>, referer: Option<&str>, host: Option<&str>) -> bool {
        let mut headers = HeaderMap::new();
        let pairs = [(header::ORIGIN, origin), (header::REFERER, referer), (header::HOST, host)];
        for (name, value) in pairs {
            if let Some(value) = value {
                headers.insert(name, HeaderValue::from_str(value).unwrap());
            }
        }
        same_origin(&headers)
    }

    #[test]
    fn origin_must_be_this_address() {
        // (Origin, Referer, Host, accepted)
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, bool);
        let cases: &[Case<'_>] = &[
            (Some("http://127.0.0.1:2086"), None, Some("127.0.0.1:2086"), true),
            (Some("http://[::1]:2086"), None, Some("[::1]:2086"), true),
            (Some("http://panel.example"), None, Some("panel.example"), true),
            (Some("http://Panel.Example:8080"), None, Some("panel.example:8080"), true),
            (Some("http://evil.example"), None, Some("127.0.0.1:2086"), false),
            (Some("http://127.0.0.1:2082"), None, Some("127.0.0.1:2086"), false),
            (Some("http://127.0.0.1"), None, Some("127.0.0.1:2086"), false),
            (Some("http://[::1]:20860"), None, Some("[::1]:2086"), false),
            (Some("https://127.0.0.1:2086"), None, Some("127.0.0.1:2086"), false),
            (Some("null"), None, Some("127.0.0.1:2086"), false),
            // Origin wins over Referer.
            (Some("http://evil.example"), Some("http://h:1/x"), Some("h:1"), false),
            (None, Some("http://[::1]:2086/#/domains"), Some("[::1]:2086"), true),
            (None, Some("http://h:1?x"), Some("h:1"), true),
            (None, Some("http://h:1.evil.example/"), Some("h:1"), false),
            (None, Some("http://evil.example/h:1"), Some("h:1"), false),
            (None, None, Some("h:1"), false),
            (Some("http://h:1"), None, None, false),
            (Some("http://"), None, Some(""), false),
        ];
        for &(origin, referer, host, expected) in cases {
            let got = check(origin, referer, host);
            assert_eq!(got, expected, "origin {origin:?} referer {referer:?} host {host:?}");
        }
    }
}
