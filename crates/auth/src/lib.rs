//! Authentication for the panel: password hashing, sessions, API tokens, the panel's own
//! administrator accounts, and the throttles that slow down guessing.
//!
//! No HTTP here: the API daemon calls this crate with what it took from a request.
//!
//! # On disk (all below `Layout::auth_dir()`, every file mode 0600)
//!
//! - `jwt.key`: 32 random bytes, hex, the HS256 signing key, created on first start;
//! - `sessions/{jti}.json`: one file per live login session. A session token is valid only
//!   while its file exists, so deleting the file (logout, password change, suspension)
//!   revokes the token in every process at once;
//! - `tokens/{id}.json`: one file per API token, holding the SHA-256 of its secret, never
//!   the secret itself;
//! - `admins.json`: the panel's administrator accounts (not Linux users).
//!
//! # Secrets
//!
//! Nothing in this crate logs or `Debug`-prints a password, a token, a hash of one, or the
//! signing key.

mod admins;
mod error;
mod handoff;
mod password;
mod session;
mod store;
mod throttle;
mod tokens;

pub use admins::AdminStore;
pub use error::AuthError;
pub use handoff::{Handoff, Handoffs, TICKET_TTL};
pub use hs_config::state::Role;
pub use password::{burn_verify_time, hash_password, verify_password};
pub use session::{AuthMethod, Authenticator, Principal};
pub use throttle::{LoginGuard, RequestLimiter};
pub use tokens::ApiTokenInfo;

use serde::{Deserialize, Serialize};

/// Which listener a credential was issued for: the administrator port or the user port.
/// A credential issued for one portal is refused on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Portal {
    Admin,
    User,
}

impl Portal {
    /// `"admin"` or `"user"`, as in JSON and in the session token's `aud` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            Portal::Admin => "admin",
            Portal::User => "user",
        }
    }
}

impl std::fmt::Display for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The current time in unix seconds.
pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}
