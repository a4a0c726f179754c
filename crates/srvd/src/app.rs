//! The daemon's shared state: the panel, the authenticator and the throttles.

use std::sync::Arc;
use std::time::Duration;

use hs_auth::{AdminStore, Authenticator, Handoffs, LoginGuard, RequestLimiter};
use hs_modules::Panel;

/// Failed logins before a temporary lockout, per user and per client address.
const LOGIN_FAILURES: u32 = 5;
const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
const LOGIN_LOCKOUT: Duration = Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct App(Arc<Inner>);

pub struct Inner {
    pub panel: Panel,
    pub auth: Authenticator,
    pub admins: AdminStore,
    pub logins: LoginGuard,
    /// "Log in as the user" tickets on their way to the user portal.
    pub handoffs: Handoffs,
    pub requests: RequestLimiter,
    pub session_ttl: u64,
}

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl App {
    pub fn new(panel: Panel, auth: Authenticator) -> App {
        let admins = AdminStore::open(&panel.layout.auth_dir());
        let per_second = panel.config.api.requests_per_second;
        let session_ttl = panel.config.api.token_ttl_secs;
        App(Arc::new(Inner {
            panel: panel.with_auth(auth.clone()),
            auth,
            admins,
            logins: LoginGuard::new(LOGIN_FAILURES, LOGIN_WINDOW, LOGIN_LOCKOUT),
            handoffs: Handoffs::new(),
            requests: RequestLimiter::new(per_second, per_second.saturating_mul(2)),
            session_ttl,
        }))
    }
}
