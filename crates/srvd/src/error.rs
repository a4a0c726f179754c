//! The one place errors become HTTP: a status, a stable code, a message for the
//! caller, and the operation id. Caller mistakes are 4xx and are not logged as
//! errors; our own failures are 5xx, logged once with the operation id.

use axum::http::StatusCode;
use hs_modules::ModuleError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn is_callers_fault(&self) -> bool {
        self.status.is_client_error()
    }

    /// The JSON body: `{"error":{"code","message","operation_id"}}`.
    pub fn body(&self, op_id: &str) -> serde_json::Value {
        // Internal details stay in the log; the caller gets the operation id to quote.
        let message = if self.status.is_server_error() && self.code == "internal" {
            "internal error; quote the operation id to the administrator".to_string()
        } else {
            self.message.clone()
        };
        serde_json::json!({
            "error": { "code": self.code, "message": message, "operation_id": op_id }
        })
    }
}

impl From<ModuleError> for ApiError {
    fn from(e: ModuleError) -> ApiError {
        let status = match &e {
            ModuleError::Invalid(_) => StatusCode::BAD_REQUEST,
            ModuleError::NotFound(_) => StatusCode::NOT_FOUND,
            ModuleError::Conflict(_) => StatusCode::CONFLICT,
            ModuleError::Forbidden(_) | ModuleError::LimitReached(_) => StatusCode::FORBIDDEN,
            ModuleError::Vetoed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ModuleError::Service(_) => StatusCode::BAD_GATEWAY,
            ModuleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<hs_auth::AuthError> for ApiError {
    fn from(e: hs_auth::AuthError) -> ApiError {
        use hs_auth::AuthError as A;
        match e {
            A::Unauthenticated(reason) => ApiError::unauthenticated(reason),
            A::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            A::NotFound(m) => ApiError::not_found(m),
            A::Invalid(m) => ApiError::bad_request(m),
            A::Storage(m) => ApiError::internal(m),
        }
    }
}

impl From<hs_types::InvalidValue> for ApiError {
    fn from(e: hs_types::InvalidValue) -> ApiError {
        ApiError::bad_request(e.to_string())
    }
}
