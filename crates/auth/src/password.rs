//! Password hashing: Argon2id PHC strings with explicit parameters (m=19456 KiB, t=2, p=1,
//! the OWASP baseline), so a change of the library's defaults cannot silently change them.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::AuthError;

/// Memory cost in KiB.
const M_COST: u32 = 19 * 1024;
/// Number of passes.
const T_COST: u32 = 2;
/// Degree of parallelism.
const P_COST: u32 = 1;

/// Upper bounds accepted when verifying a stored hash, so that a damaged or hand-edited
/// hash cannot make one login attempt allocate gigabytes or run for minutes.
const MAX_M_COST: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 16;

fn hasher() -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(M_COST, T_COST, P_COST, None)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a new password into an Argon2id PHC string with a fresh random salt.
pub fn hash_password(password: &hs_types::Password) -> Result<String, AuthError> {
    let fail = |e: &dyn std::fmt::Display| AuthError::Storage(format!("cannot hash: {e}"));
    let argon = hasher().map_err(|e| fail(&e))?;
    let hash = argon.hash_password(password.expose().as_bytes()).map_err(|e| fail(&e))?;
    Ok(hash.to_string())
}

/// Checks `candidate` against a stored PHC string. The comparison is constant-time.
/// Returns `false` for a wrong password and for anything that is not an Argon2id hash
/// within sane cost bounds.
pub fn verify_password(phc: &str, candidate: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return false;
    }
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST || params.t_cost() > MAX_T_COST || params.p_cost() > MAX_P_COST
    {
        return false;
    }
    Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok()
}

/// Spends the time of one [`verify_password`] call, for a login whose user does not
/// exist, so that the response time does not reveal which names exist.
pub fn burn_verify_time(candidate: &str) {
    const SALT: &[u8] = b"hs-panel-no-such-user";
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if let Ok(argon) = hasher() {
        let _ = argon.hash_password_into(candidate.as_bytes(), SALT, &mut out);
    }
    std::hint::black_box(&out);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let pw: hs_types::Password = "Tr0ub4dor&3".parse().unwrap();
        let phc = hash_password(&pw).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("Tr0ub4dor"));

        for (candidate, want) in
            [("Tr0ub4dor&3", true), ("Tr0ub4dor&4", false), ("tr0ub4dor&3", false), ("", false)]
        {
            assert_eq!(verify_password(&phc, candidate), want, "{candidate:?}");
        }
    }

    #[test]
    fn garbage_hashes_never_verify() {
        // A valid Argon2i hash (wrong variant): refused without running it.
        let argon2i = "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA\
                       $Vn0e3FhTFJ6nBJOl4F8FhcU7cCH3yxAWuy0n3Xxs2oE";
        let huge = "$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHRzb21lc2FsdA\
                    $Vn0e3FhTFJ6nBJOl4F8FhcU7cCH3yxAWuy0n3Xxs2oE";
        for phc in ["", "x", "$argon2id$", "$argon2id$v=19$m=19456,t=2,p=1$", argon2i, huge] {
            assert!(!verify_password(phc, "anything"), "{phc:?}");
        }
    }

    #[test]
    fn burn_does_not_panic() {
        burn_verify_time("whatever");
        burn_verify_time("");
    }
}
