//! [`AuthError`]: the one error type of the crate, with user-facing messages.

/// Why an authentication call failed.
///
/// `Display` is short English meant for the API response; it never contains a secret.
/// [`AuthError::Storage`] messages name a file and are meant for the log rather than the
/// client (the daemon answers them with a 500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The credential was refused. The reason is one of `"bad token"`, `"token expired"`,
    /// `"session revoked"`, `"address not allowed"`.
    #[error("not authenticated: {0}")]
    Unauthenticated(&'static str),
    /// The request clashes with what exists, e.g. a second token with the same name.
    #[error("{0}")]
    Conflict(String),
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A value given by the caller was refused, e.g. an administrator name.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written, or holds something unexpected.
    #[error("authentication storage: {0}")]
    Storage(String),
}

impl AuthError {
    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> AuthError {
        AuthError::Storage(format!("{}: {err}", path.display()))
    }

    pub(crate) fn corrupt(path: &std::path::Path, reason: impl std::fmt::Display) -> AuthError {
        AuthError::Storage(format!("{} is damaged: {reason}", path.display()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        for (err, want) in [
            (AuthError::Unauthenticated("bad token"), "not authenticated: bad token"),
            (AuthError::Conflict("token \"ci\" exists".into()), "token \"ci\" exists"),
            (AuthError::NotFound("no such token".into()), "no such token"),
            (AuthError::Invalid("bad name".into()), "bad name"),
            (AuthError::Storage("x: gone".into()), "authentication storage: x: gone"),
        ] {
            assert_eq!(err.to_string(), want);
        }
    }
}
