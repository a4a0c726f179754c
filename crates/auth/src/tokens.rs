//! API tokens: long-lived credentials for scripts, `hsp_{id}_{secret}`.
//!
//! `id` (16 hex digits) names the file `tokens/{id}.json`; `secret` (64 hex digits, 256
//! random bits) is shown once at creation and only its SHA-256 is stored, compared in
//! constant time. A token may be limited to a list of client addresses and may expire.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;

use hs_config::fsutil::FileLock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::session::{AuthMethod, Authenticator, Principal};
use crate::store;
use crate::{AuthError, Portal, Role, now};

/// Every API token starts with this, which is how `verify` tells it from a session token.
pub(crate) const PREFIX: &str = "hsp_";
/// Hex digits of a token id (64 bits: a name, not a secret).
const ID_HEX: usize = 16;
/// Hex digits of a token secret (256 bits).
const SECRET_HEX: usize = 64;
/// Most addresses one token may be limited to.
const MAX_ALLOWED_IPS: usize = 64;

/// What can be shown about an API token: never its secret nor the secret's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenInfo {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub role: Role,
    pub portal: Portal,
    /// Empty: any address.
    pub allowed_ips: Vec<IpAddr>,
    /// Unix seconds; `None`: never.
    pub expires: Option<i64>,
    pub created: i64,
}

/// The file `tokens/{id}.json`.
#[derive(Serialize, Deserialize)]
struct TokenRecord {
    id: String,
    name: String,
    owner: String,
    role: Role,
    portal: Portal,
    allowed_ips: Vec<IpAddr>,
    expires: Option<i64>,
    created: i64,
    /// Hex SHA-256 of the secret part of the token.
    secret_sha256: String,
}

impl TokenRecord {
    fn info(self) -> ApiTokenInfo {
        ApiTokenInfo {
            id: self.id,
            name: self.name,
            owner: self.owner,
            role: self.role,
            portal: self.portal,
            allowed_ips: self.allowed_ips,
            expires: self.expires,
            created: self.created,
        }
    }
}

fn sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Splits `hsp_{id}_{secret}`; `None` unless both parts have the exact expected shape.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    (store::is_hex(id, ID_HEX) && store::is_hex(secret, SECRET_HEX)).then_some((id, secret))
}

impl Authenticator {
    fn token_path(&self, id: &str) -> PathBuf {
        self.inner.tokens.join(format!("{id}.json"))
    }

    /// Serializes token creation and removal across processes (the duplicate-name check).
    fn lock_tokens(&self) -> Result<FileLock, AuthError> {
        let path = self.inner.dir.join("tokens.lock");
        FileLock::acquire(&path).map_err(|e| AuthError::io(&path, &e))
    }

    /// Every readable token record with its path; damaged files are logged and skipped.
    fn token_records(&self) -> Result<Vec<(PathBuf, TokenRecord)>, AuthError> {
        let mut records = Vec::new();
        for (id, path) in store::list_records(&self.inner.tokens, ID_HEX)? {
            match store::read_json::<TokenRecord>(&path) {
                Ok(Some(record)) if record.id == id => records.push((path, record)),
                Ok(Some(_)) => tracing::warn!(path = %path.display(), "token id mismatch"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable token file"),
            }
        }
        Ok(records)
    }

    /// Creates an API token for `owner` and returns it (to be shown once) with its public
    /// details. Refuses a second token with the same name for the same owner.
    pub fn create_api_token(
        &self,
        owner: &str,
        role: Role,
        portal: Portal,
        name: &hs_types::TokenName,
        allowed_ips: Vec<IpAddr>,
        expires: Option<i64>,
    ) -> Result<(String, ApiTokenInfo), AuthError> {
        let created = now();
        if expires.is_some_and(|at| at <= created) {
            return Err(AuthError::Invalid("the expiry date is in the past".to_owned()));
        }
        let allowed_ips: Vec<IpAddr> = allowed_ips
            .into_iter()
            .map(|ip| ip.to_canonical())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if allowed_ips.len() > MAX_ALLOWED_IPS {
            return Err(AuthError::Invalid(format!(
                "a token can be limited to at most {MAX_ALLOWED_IPS} addresses"
            )));
        }

        let _lock = self.lock_tokens()?;
        let taken = self
            .token_records()?
            .into_iter()
            .any(|(_, r)| r.owner == owner && r.name == name.as_str());
        if taken {
            return Err(AuthError::Conflict(format!("a token named \"{name}\" already exists")));
        }

        let secret = store::random_hex(SECRET_HEX / 2)?;
        let mut record = TokenRecord {
            id: String::new(),
            name: name.as_str().to_owned(),
            owner: owner.to_owned(),
            role,
            portal,
            allowed_ips,
            expires,
            created,
            secret_sha256: hex::encode(sha256(&secret)),
        };
        for _ in 0..4 {
            record.id = store::random_hex(ID_HEX / 2)?;
            if store::create_json(&self.token_path(&record.id), &record)? {
                let token = format!("{PREFIX}{}_{secret}", record.id);
                tracing::info!(user = owner, token = %name, id = record.id, "API token created");
                return Ok((token, record.info()));
            }
        }
        Err(AuthError::Storage("token id collision".to_owned()))
    }

    /// The tokens of `owner`, oldest first.
    pub fn list_api_tokens(&self, owner: &str) -> Result<Vec<ApiTokenInfo>, AuthError> {
        let mut list: Vec<ApiTokenInfo> = self
            .token_records()?
            .into_iter()
            .filter(|(_, r)| r.owner == owner)
            .map(|(_, r)| r.info())
            .collect();
        list.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
        Ok(list)
    }

    /// Deletes `owner`'s token named `name`. Returns whether there was one.
    pub fn revoke_api_token(
        &self,
        owner: &str,
        name: &hs_types::TokenName,
    ) -> Result<bool, AuthError> {
        let _lock = self.lock_tokens()?;
        let mut found = false;
        for (path, record) in self.token_records()? {
            if record.owner == owner && record.name == name.as_str() {
                store::remove(&path)?;
                found = true;
                tracing::info!(user = owner, token = %name, id = record.id, "API token revoked");
            }
        }
        Ok(found)
    }

    /// Deletes every token and ends every session of `owner` (account terminated).
    pub fn forget_owner(&self, owner: &str) -> Result<(), AuthError> {
        {
            let _lock = self.lock_tokens()?;
            for (path, record) in self.token_records()? {
                if record.owner == owner {
                    store::remove(&path)?;
                }
            }
        }
        self.revoke_sessions(owner)?;
        tracing::info!(user = owner, "all credentials removed");
        Ok(())
    }

    /// The API-token half of [`Authenticator::verify`]. Only after the secret matched does
    /// the answer say more than "bad token" (expired, wrong address).
    pub(crate) fn verify_api_token(
        &self,
        token: &str,
        portal: Portal,
        client_ip: IpAddr,
    ) -> Result<Principal, AuthError> {
        const BAD: AuthError = AuthError::Unauthenticated("bad token");
        let (id, secret) = parse_token(token).ok_or(BAD)?;
        let record: TokenRecord = match store::read_json(&self.token_path(id)) {
            Ok(Some(record)) => record,
            Ok(None) => return Err(BAD),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable token file");
                return Err(BAD);
            }
        };
        let stored = hex::decode(&record.secret_sha256).unwrap_or_default();
        let given = sha256(secret);
        if stored.len() != given.len() || !bool::from(given.as_slice().ct_eq(&stored)) {
            return Err(BAD);
        }
        if record.id != id || record.portal != portal {
            return Err(BAD);
        }
        if record.expires.is_some_and(|at| at <= now()) {
            return Err(AuthError::Unauthenticated("token expired"));
        }
        let client_ip = client_ip.to_canonical();
        if !record.allowed_ips.is_empty()
            && !record.allowed_ips.iter().any(|ip| ip.to_canonical() == client_ip)
        {
            return Err(AuthError::Unauthenticated("address not allowed"));
        }
        Ok(Principal {
            username: record.owner,
            role: record.role,
            portal,
            auth: AuthMethod::ApiToken { id: record.id, name: record.name },
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    const OTHER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

    fn setup() -> (tempfile::TempDir, Authenticator) {
        let dir = tempfile::tempdir().unwrap();
        let auth = Authenticator::open(dir.path(), 3600).unwrap();
        (dir, auth)
    }

    fn name(s: &str) -> hs_types::TokenName {
        s.parse().unwrap()
    }

    fn refused(result: Result<Principal, AuthError>) -> &'static str {
        match result {
            Err(AuthError::Unauthenticated(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn parse_shapes() {
        let id = "0123456789abcdef";
        let secret = "ab".repeat(32);
        assert_eq!(parse_token(&format!("hsp_{id}_{secret}")), Some((id, secret.as_str())));
        for bad in [
            String::new(),
            "hsp_".to_owned(),
            format!("hsp_{id}"),
            format!("hsp_{id}_"),
            format!("hsp_{id}_{secret}0"),
            format!("hsp_{}_{secret}", id.to_uppercase()),
            format!("hsp_../../etc_{secret}"),
            format!("hsx_{id}_{secret}"),
        ] {
            assert_eq!(parse_token(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn create_verify_revoke() {
        let (dir, auth) = setup();
        let (token, info) = auth
            .create_api_token("alice", Role::User, Portal::User, &name("ci"), vec![], None)
            .unwrap();
        assert!(token.starts_with("hsp_"));
        assert_eq!((info.owner.as_str(), info.name.as_str()), ("alice", "ci"));

        // The stored file holds neither the token nor its secret.
        let stored =
            std::fs::read_to_string(dir.path().join(format!("tokens/{}.json", info.id))).unwrap();
        let secret = token.rsplit('_').next().unwrap();
        assert!(!stored.contains(secret));
        let json = serde_json::to_string(&info).unwrap();
        assert!(!json.contains(secret) && !json.contains("sha256"), "{json}");

        let p = auth.verify(&token, Portal::User, IP).unwrap();
        assert_eq!(p.username, "alice");
        assert_eq!(p.role, Role::User);
        assert!(matches!(p.auth, AuthMethod::ApiToken { ref name, .. } if name == "ci"));
        // Logging out with a token principal does nothing.
        auth.logout(&p).unwrap();
        assert!(auth.verify(&token, Portal::User, IP).is_ok());

        // Wrong portal, wrong secret, unknown id.
        assert_eq!(refused(auth.verify(&token, Portal::Admin, IP)), "bad token");
        let mut tampered = token.clone();
        let last = if tampered.ends_with('0') { "1" } else { "0" };
        tampered.replace_range(tampered.len() - 1.., last);
        assert_eq!(refused(auth.verify(&tampered, Portal::User, IP)), "bad token");
        let unknown = format!("hsp_{}_{secret}", "f".repeat(16));
        assert_eq!(refused(auth.verify(&unknown, Portal::User, IP)), "bad token");

        assert_eq!(auth.list_api_tokens("alice").unwrap(), vec![info]);
        assert!(auth.list_api_tokens("bob").unwrap().is_empty());
        assert!(!auth.revoke_api_token("bob", &name("ci")).unwrap());
        assert!(auth.revoke_api_token("alice", &name("ci")).unwrap());
        assert!(!auth.revoke_api_token("alice", &name("ci")).unwrap());
        assert_eq!(refused(auth.verify(&token, Portal::User, IP)), "bad token");
        assert!(auth.list_api_tokens("alice").unwrap().is_empty());
    }

    #[test]
    fn duplicate_names_per_owner() {
        let (_dir, auth) = setup();
        let create = |owner: &str, n: &str| {
            auth.create_api_token(owner, Role::User, Portal::User, &name(n), vec![], None)
        };
        create("alice", "deploy").unwrap();
        assert!(matches!(create("alice", "deploy"), Err(AuthError::Conflict(_))));
        create("alice", "Deploy").unwrap();
        create("bob", "deploy").unwrap();
        assert_eq!(auth.list_api_tokens("alice").unwrap().len(), 2);
    }

    #[test]
    fn allow_list() {
        let (_dir, auth) = setup();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let (token, info) = auth
            .create_api_token(
                "alice",
                Role::User,
                Portal::User,
                &name("ci"),
                vec![IP, v6, IP],
                None,
            )
            .unwrap();
        assert_eq!(info.allowed_ips.len(), 2);
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 10).to_ipv6_mapped());
        for (ip, ok) in [
            (IP, true),
            (mapped, true),
            (v6, true),
            (OTHER_IP, false),
            (IpAddr::V4(Ipv4Addr::LOCALHOST), false),
            (IpAddr::V6(Ipv6Addr::LOCALHOST), false),
        ] {
            match auth.verify(&token, Portal::User, ip) {
                Ok(_) => assert!(ok, "{ip} accepted"),
                Err(e) => {
                    assert!(!ok, "{ip} refused");
                    assert_eq!(e, AuthError::Unauthenticated("address not allowed"));
                }
            }
        }
    }

    #[test]
    fn expiry() {
        let (dir, auth) = setup();
        let past = auth.create_api_token(
            "alice",
            Role::User,
            Portal::User,
            &name("old"),
            vec![],
            Some(now() - 1),
        );
        assert!(matches!(past, Err(AuthError::Invalid(_))));

        let (token, info) = auth
            .create_api_token(
                "alice",
                Role::Admin,
                Portal::Admin,
                &name("soon"),
                vec![],
                Some(now() + 60),
            )
            .unwrap();
        assert!(auth.verify(&token, Portal::Admin, IP).is_ok());
        // Let it expire by rewriting its record.
        let path = dir.path().join(format!("tokens/{}.json", info.id));
        let mut record: TokenRecord = store::read_json(&path).unwrap().unwrap();
        record.expires = Some(now() - 5);
        store::write_json(&path, &record).unwrap();
        assert_eq!(refused(auth.verify(&token, Portal::Admin, IP)), "token expired");
    }

    #[test]
    fn forget_owner_removes_tokens_and_sessions() {
        let (_dir, auth) = setup();
        let mk = |owner: &str| {
            auth.create_api_token(owner, Role::User, Portal::User, &name("t"), vec![], None)
                .unwrap()
                .0
        };
        let (alice_tok, bob_tok) = (mk("alice"), mk("bob"));
        let (alice_jwt, _) = auth.login("alice", Role::User, Portal::User).unwrap();
        let (bob_jwt, _) = auth.login("bob", Role::User, Portal::User).unwrap();
        auth.forget_owner("alice").unwrap();
        assert!(auth.verify(&alice_tok, Portal::User, IP).is_err());
        assert!(auth.verify(&alice_jwt, Portal::User, IP).is_err());
        assert!(auth.verify(&bob_tok, Portal::User, IP).is_ok());
        assert!(auth.verify(&bob_jwt, Portal::User, IP).is_ok());
        assert!(auth.list_api_tokens("alice").unwrap().is_empty());
    }
}
