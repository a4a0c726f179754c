//! [`Authenticator`]: login sessions as HS256 JWTs backed by one file per session, and the
//! single `verify` entry point that also accepts API tokens (see `tokens.rs`).
//!
//! The JWT alone is not enough: `verify` also requires `sessions/{jti}.json` to exist.
//! Logging out, changing a password or suspending an account deletes session files, which
//! revokes the tokens in every daemon process without any shared memory.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::store::{self, MODE};
use crate::{AuthError, Portal, Role, now};

/// The `iss` claim of every session token.
const ISSUER: &str = "hs-panel";
/// Bytes of the signing key.
const KEY_LEN: usize = 32;
/// Hex digits of a session id (128 random bits).
pub(crate) const JTI_HEX: usize = 32;

/// Who is calling, once [`Authenticator::verify`] accepted the credential.
#[derive(Debug, Clone)]
pub struct Principal {
    pub username: String,
    pub role: Role,
    pub portal: Portal,
    pub auth: AuthMethod,
}

/// How the principal authenticated.
#[derive(Debug, Clone)]
pub enum AuthMethod {
    /// A login session; `expires` in unix seconds.
    Session { jti: String, expires: i64 },
    /// An API token, by id and name (never its secret).
    ApiToken { id: String, name: String },
}

/// The claims of a session token.
#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    aud: Portal,
    iss: String,
    jti: String,
    iat: i64,
    exp: i64,
}

/// The session file `sessions/{jti}.json`.
#[derive(Serialize, Deserialize)]
struct SessionRecord {
    username: String,
    role: Role,
    portal: Portal,
    created: i64,
    expires: i64,
}

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) sessions: PathBuf,
    pub(crate) tokens: PathBuf,
    ttl: i64,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// Issues and checks credentials. Cheap to clone (one `Arc`), `Send + Sync`.
#[derive(Clone)]
pub struct Authenticator {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("dir", &self.inner.dir)
            .field("session_ttl_secs", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Loads `<auth_dir>/jwt.key`, creating it (32 random bytes, hex, mode 0600) on first
    /// use. Sessions live in `<auth_dir>/sessions/{jti}.json`, API tokens in
    /// `<auth_dir>/tokens/{id}.json`.
    pub fn open(auth_dir: &Path, session_ttl_secs: u64) -> Result<Authenticator, AuthError> {
        ensure_crypto_provider();
        let key = load_or_create_key(&auth_dir.join("jwt.key"))?;
        let bad_key = |e: jsonwebtoken::errors::Error| {
            AuthError::Storage(format!("unusable signing key: {e}"))
        };
        let encoding = EncodingKey::from_secret(&key).map_err(bad_key)?;
        let decoding = DecodingKey::from_secret(&key).map_err(bad_key)?;
        let inner = Inner {
            dir: auth_dir.to_path_buf(),
            sessions: auth_dir.join("sessions"),
            tokens: auth_dir.join("tokens"),
            ttl: i64::try_from(session_ttl_secs).unwrap_or(i64::MAX / 4),
            encoding,
            decoding,
        };
        Ok(Authenticator { inner: Arc::new(inner) })
    }

    /// Starts a session: writes its file and returns the signed token and its expiry
    /// (unix seconds). The caller has already checked the password.
    pub fn login(
        &self,
        username: &str,
        role: Role,
        portal: Portal,
    ) -> Result<(String, i64), AuthError> {
        let iat = now();
        let exp = iat.saturating_add(self.inner.ttl);
        let jti = store::random_hex(JTI_HEX / 2)?;
        let claims = Claims {
            sub: username.to_owned(),
            role,
            aud: portal,
            iss: ISSUER.to_owned(),
            jti: jti.clone(),
            iat,
            exp,
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.inner.encoding)
                .map_err(|e| AuthError::Storage(format!("cannot sign a session token: {e}")))?;
        let record = SessionRecord {
            username: username.to_owned(),
            role,
            portal,
            created: iat,
            expires: exp,
        };
        if !store::create_json(&self.session_path(&jti), &record)? {
            return Err(AuthError::Storage("session id collision".to_owned()));
        }
        tracing::info!(user = username, ?role, %portal, "session started");
        Ok((token, exp))
    }

    /// Checks a bearer credential presented on `portal` by `client_ip`: either a session
    /// token or an API token (`hsp_{id}_{secret}`).
    ///
    /// A session token must carry a valid HS256 signature (no other algorithm is
    /// accepted), `iss` = `hs-panel`, `aud` = `portal`, must not be expired, and its
    /// session file must still exist.
    pub fn verify(
        &self,
        bearer: &str,
        portal: Portal,
        client_ip: IpAddr,
    ) -> Result<Principal, AuthError> {
        let bearer = bearer.trim();
        if bearer.starts_with(crate::tokens::PREFIX) {
            return self.verify_api_token(bearer, portal, client_ip);
        }
        self.verify_session(bearer, portal)
    }

    fn verify_session(&self, token: &str, portal: Portal) -> Result<Principal, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[portal.as_str()]);
        validation.leeway = 0;
        let claims = match jsonwebtoken::decode::<Claims>(token, &self.inner.decoding, &validation)
        {
            Ok(data) => data.claims,
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => {
                return Err(AuthError::Unauthenticated("token expired"));
            }
            Err(_) => return Err(AuthError::Unauthenticated("bad token")),
        };
        if claims.aud != portal || !store::is_hex(&claims.jti, JTI_HEX) {
            return Err(AuthError::Unauthenticated("bad token"));
        }
        if claims.exp <= now() {
            return Err(AuthError::Unauthenticated("token expired"));
        }
        let record: SessionRecord = match store::read_json(&self.session_path(&claims.jti)) {
            Ok(Some(record)) => record,
            Ok(None) => return Err(AuthError::Unauthenticated("session revoked")),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable session file");
                return Err(AuthError::Unauthenticated("session revoked"));
            }
        };
        if record.username != claims.sub || record.portal != portal || record.role != claims.role {
            return Err(AuthError::Unauthenticated("bad token"));
        }
        Ok(Principal {
            username: claims.sub,
            role: claims.role,
            portal,
            auth: AuthMethod::Session { jti: claims.jti, expires: claims.exp },
        })
    }

    /// Ends the principal's session by deleting its file. A no-op for API tokens.
    pub fn logout(&self, principal: &Principal) -> Result<(), AuthError> {
        match &principal.auth {
            AuthMethod::Session { jti, .. } if store::is_hex(jti, JTI_HEX) => {
                store::remove(&self.session_path(jti))?;
                tracing::info!(user = principal.username, "session ended");
                Ok(())
            }
            AuthMethod::Session { .. } | AuthMethod::ApiToken { .. } => Ok(()),
        }
    }

    /// Ends every session of `username` (password change, suspension, termination).
    /// Returns how many were ended.
    pub fn revoke_sessions(&self, username: &str) -> Result<usize, AuthError> {
        let mut removed = 0;
        for (_, path) in store::list_records(&self.inner.sessions, JTI_HEX)? {
            match store::read_json::<SessionRecord>(&path) {
                Ok(Some(record)) if record.username == username => {
                    store::remove(&path)?;
                    removed += 1;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable session file"),
            }
        }
        if removed > 0 {
            tracing::info!(user = username, count = removed, "sessions revoked");
        }
        Ok(removed)
    }

    /// Deletes the files of expired sessions, and of damaged ones (which can never be
    /// used). Returns how many were deleted. Call it every few minutes.
    pub fn sweep_expired(&self) -> Result<usize, AuthError> {
        let now = now();
        let mut removed = 0;
        for (_, path) in store::list_records(&self.inner.sessions, JTI_HEX)? {
            let stale = match store::read_json::<SessionRecord>(&path) {
                Ok(Some(record)) => record.expires <= now,
                Ok(None) => false,
                Err(_) => true,
            };
            if stale {
                store::remove(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn session_path(&self, jti: &str) -> PathBuf {
        self.inner.sessions.join(format!("{jti}.json"))
    }
}

/// Makes sure jsonwebtoken has a crypto provider. With only its `aws_lc_rs` feature the
/// provider is picked automatically; should feature unification ever enable `rust_crypto`
/// as well, jsonwebtoken would have none and panic, so install aws-lc explicitly then.
fn ensure_crypto_provider() {
    use jsonwebtoken::crypto::CryptoProvider;
    if CryptoProvider::try_get_default().is_none() {
        // Losing a race against another installer is fine: a provider is installed.
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    }
}

/// Reads the signing key, or creates it. Two processes starting at once agree on one key:
/// the file is claimed with an exclusive create and the loser reads the winner's key.
fn load_or_create_key(path: &Path) -> Result<Vec<u8>, AuthError> {
    for _ in 0..50 {
        match read_key(path)? {
            KeyFile::Key(key) => return Ok(key),
            KeyFile::Missing => {
                let fresh = store::random_hex(KEY_LEN)?;
                let created = hs_config::fsutil::create_exclusive(path, fresh.as_bytes(), MODE)
                    .map_err(|e| AuthError::io(path, &e))?;
                if created {
                    tracing::info!(path = %path.display(), "created a new session signing key");
                }
            }
            // Another process created the file and is writing it right now.
            KeyFile::Empty => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    Err(AuthError::corrupt(path, "the key file is empty"))
}

enum KeyFile {
    Missing,
    Empty,
    Key(Vec<u8>),
}

fn read_key(path: &Path) -> Result<KeyFile, AuthError> {
    let read = hs_config::fsutil::read_if_exists(path).map_err(|e| AuthError::io(path, &e))?;
    let Some(bytes) = read else {
        return Ok(KeyFile::Missing);
    };
    warn_if_exposed(path);
    let text = std::str::from_utf8(&bytes).map_err(|_| AuthError::corrupt(path, "not hex"))?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(KeyFile::Empty);
    }
    let key = hex::decode(text).map_err(|_| AuthError::corrupt(path, "not hex"))?;
    if key.len() < KEY_LEN {
        return Err(AuthError::corrupt(path, format!("shorter than {KEY_LEN} bytes")));
    }
    Ok(KeyFile::Key(key))
}

fn warn_if_exposed(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the signing key is readable by others");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));

    fn setup(ttl: u64) -> (tempfile::TempDir, Authenticator) {
        let dir = tempfile::tempdir().unwrap();
        let auth = Authenticator::open(dir.path(), ttl).unwrap();
        (dir, auth)
    }

    fn refused(result: Result<Principal, AuthError>) -> &'static str {
        match result {
            Err(AuthError::Unauthenticated(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Signs `claims` with the stored key and any algorithm, as an attacker holding the key
    /// (or the server itself) could.
    fn forge(dir: &Path, alg: Algorithm, claims: &serde_json::Value) -> String {
        let key = hex::decode(std::fs::read_to_string(dir.join("jwt.key")).unwrap()).unwrap();
        let key = EncodingKey::from_secret(&key).unwrap();
        jsonwebtoken::encode(&Header::new(alg), claims, &key).unwrap()
    }

    fn claims_of(jti: &str, aud: &str, exp: i64) -> serde_json::Value {
        serde_json::json!({
            "sub": "alice", "role": "user", "aud": aud, "iss": ISSUER,
            "jti": jti, "iat": now(), "exp": exp,
        })
    }

    #[test]
    fn login_then_verify() {
        let (dir, auth) = setup(3600);
        for (user, role, portal) in [
            ("root", Role::Admin, Portal::Admin),
            ("resell", Role::Reseller, Portal::User),
            ("alice", Role::User, Portal::User),
        ] {
            let (token, exp) = auth.login(user, role, portal).unwrap();
            assert!((exp - now() - 3600).abs() <= 2);
            let p = auth.verify(&token, portal, IP).unwrap();
            assert_eq!((p.username.as_str(), p.role, p.portal), (user, role, portal));
            let AuthMethod::Session { jti, expires } = &p.auth else { panic!("{p:?}") };
            assert_eq!(*expires, exp);
            let file = dir.path().join(format!("sessions/{jti}.json"));
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            // Surrounding whitespace from a header is tolerated.
            assert!(auth.verify(&format!(" {token}\n"), portal, IP).is_ok());
        }
        let key = dir.path().join("jwt.key");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn wrong_portal_refused() {
        let (_dir, auth) = setup(3600);
        let (admin, _) = auth.login("root", Role::Admin, Portal::Admin).unwrap();
        let (user, _) = auth.login("alice", Role::User, Portal::User).unwrap();
        assert_eq!(refused(auth.verify(&admin, Portal::User, IP)), "bad token");
        assert_eq!(refused(auth.verify(&user, Portal::Admin, IP)), "bad token");
    }

    #[test]
    fn malformed_and_tampered_refused() {
        let (dir, auth) = setup(3600);
        let (token, _) = auth.login("alice", Role::User, Portal::User).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);

        // Swap in a payload claiming to be the admin, keep the signature.
        let other_auth = Authenticator::open(&dir.path().join("elsewhere"), 3600).unwrap();
        let (foreign, _) = other_auth.login("root", Role::Admin, Portal::User).unwrap();
        let foreign_payload = foreign.split('.').nth(1).unwrap();
        let swapped = format!("{}.{foreign_payload}.{}", parts[0], parts[2]);
        let mut flipped_sig = parts[2].to_owned();
        let c = if flipped_sig.starts_with('A') { "B" } else { "A" };
        flipped_sig.replace_range(..1, c);
        let bad_sig = format!("{}.{}.{flipped_sig}", parts[0], parts[1]);
        let none_alg = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
        let none_alg_sig = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.{}", parts[1], parts[2]);
        let AuthMethod::Session { jti, .. } = auth.verify(&token, Portal::User, IP).unwrap().auth
        else {
            panic!()
        };
        let hs512 = forge(dir.path(), Algorithm::HS512, &claims_of(&jti, "user", now() + 60));
        let hs384 = forge(dir.path(), Algorithm::HS384, &claims_of(&jti, "user", now() + 60));
        let mut wrong_iss = claims_of(&jti, "user", now() + 60);
        wrong_iss["iss"] = "someone".into();
        let wrong_iss = forge(dir.path(), Algorithm::HS256, &wrong_iss);
        let mut no_aud = claims_of(&jti, "user", now() + 60);
        no_aud.as_object_mut().unwrap().remove("aud");
        let no_aud = forge(dir.path(), Algorithm::HS256, &no_aud);
        // Signed right, but for the admin: its session file says otherwise.
        let mut escalated = claims_of(&jti, "user", now() + 60);
        escalated["role"] = "admin".into();
        let escalated = forge(dir.path(), Algorithm::HS256, &escalated);
        // Signed right, but the jti could name a file elsewhere.
        let traversal =
            forge(dir.path(), Algorithm::HS256, &claims_of("../jwt", "user", now() + 60));
        // Signed by another installation's key.
        let (other_key_token, _) = other_auth.login("alice", Role::User, Portal::User).unwrap();

        for bad in [
            "",
            "garbage",
            "a.b.c",
            "Bearer x",
            "hsp_",
            &swapped,
            &bad_sig,
            &none_alg,
            &none_alg_sig,
            &hs512,
            &hs384,
            &wrong_iss,
            &no_aud,
            &escalated,
            &traversal,
            &other_key_token,
        ] {
            assert_eq!(refused(auth.verify(bad, Portal::User, IP)), "bad token", "{bad:?}");
        }
        // The genuine token is still fine.
        assert!(auth.verify(&token, Portal::User, IP).is_ok());
    }

    #[test]
    fn expired_refused() {
        let (_dir, auth) = setup(0);
        let (token, _) = auth.login("alice", Role::User, Portal::User).unwrap();
        assert_eq!(refused(auth.verify(&token, Portal::User, IP)), "token expired");

        // A correctly signed token whose session file exists but whose exp is past.
        let (dir, live) = setup(3600);
        let (token, _) = live.login("alice", Role::User, Portal::User).unwrap();
        let jti = match live.verify(&token, Portal::User, IP).unwrap().auth {
            AuthMethod::Session { jti, .. } => jti,
            AuthMethod::ApiToken { .. } => panic!(),
        };
        let old = forge(dir.path(), Algorithm::HS256, &claims_of(&jti, "user", now() - 10));
        assert_eq!(refused(live.verify(&old, Portal::User, IP)), "token expired");
    }

    #[test]
    fn logout_revokes() {
        let (_dir, auth) = setup(3600);
        let (token, _) = auth.login("alice", Role::User, Portal::User).unwrap();
        let (second, _) = auth.login("alice", Role::User, Portal::User).unwrap();
        let p = auth.verify(&token, Portal::User, IP).unwrap();
        auth.logout(&p).unwrap();
        auth.logout(&p).unwrap(); // twice is fine
        assert_eq!(refused(auth.verify(&token, Portal::User, IP)), "session revoked");
        assert!(auth.verify(&second, Portal::User, IP).is_ok());
    }

    #[test]
    fn revoke_sessions_per_user_across_processes() {
        let (dir, auth) = setup(3600);
        // A second "process" sharing the directory agrees on the key and the sessions.
        let other = Authenticator::open(dir.path(), 3600).unwrap();
        let (a1, _) = auth.login("alice", Role::User, Portal::User).unwrap();
        let (a2, _) = other.login("alice", Role::User, Portal::User).unwrap();
        let (b1, _) = auth.login("bob", Role::User, Portal::User).unwrap();
        assert!(other.verify(&a1, Portal::User, IP).is_ok());
        assert_eq!(other.revoke_sessions("alice").unwrap(), 2);
        assert_eq!(auth.revoke_sessions("alice").unwrap(), 0);
        for t in [&a1, &a2] {
            assert_eq!(refused(auth.verify(t, Portal::User, IP)), "session revoked");
        }
        assert!(auth.verify(&b1, Portal::User, IP).is_ok());
    }

    #[test]
    fn sweep_removes_only_expired() {
        let (dir, live) = setup(3600);
        let dead = Authenticator::open(dir.path(), 0).unwrap();
        let (keep, _) = live.login("alice", Role::User, Portal::User).unwrap();
        dead.login("alice", Role::User, Portal::User).unwrap();
        dead.login("bob", Role::User, Portal::User).unwrap();
        std::fs::write(dir.path().join("sessions/README"), "not a session").unwrap();
        assert_eq!(live.sweep_expired().unwrap(), 2);
        assert_eq!(live.sweep_expired().unwrap(), 0);
        assert!(live.verify(&keep, Portal::User, IP).is_ok());
        assert!(dir.path().join("sessions/README").exists());
    }

    #[test]
    fn key_file_checks_and_debug() {
        let (dir, auth) = setup(60);
        let key = std::fs::read_to_string(dir.path().join("jwt.key")).unwrap();
        assert_eq!(key.len(), 64);
        let shown = format!("{auth:?}");
        assert!(!shown.contains(&key) && shown.contains("Authenticator"), "{shown}");

        for (content, ok) in [("zz", false), ("abcd", false), ("", false)] {
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join("jwt.key"), content).unwrap();
            let opened = Authenticator::open(d.path(), 60);
            assert_eq!(opened.is_ok(), ok, "{content:?}");
            assert!(matches!(opened, Err(AuthError::Storage(_))));
        }
    }
}
