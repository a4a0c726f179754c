//! The business modules' one error type. Each variant says whose fault it is: the
//! caller's (a 4xx, with a stable code and a message meant for them) or ours.

use hs_types::InvalidValue;

#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// A value the caller sent is not acceptable.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    /// The name is taken, or the resource is in a state that forbids the action.
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this to this resource.
    #[error("{0}")]
    Forbidden(String),
    /// A plan or reseller limit would be exceeded.
    #[error("{0}")]
    LimitReached(String),
    /// A plugin or policy vetoed the action.
    #[error("{0}")]
    Vetoed(String),
    /// A service refused the change; nothing was left half-done.
    #[error("{0}")]
    Service(String),
    /// Our own failure: disk, a tool, a damaged state file.
    #[error("{0}")]
    Internal(String),
}

impl ModuleError {
    /// A stable, machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            ModuleError::Invalid(_) => "invalid_input",
            ModuleError::NotFound(_) => "not_found",
            ModuleError::Conflict(_) => "conflict",
            ModuleError::Forbidden(_) => "forbidden",
            ModuleError::LimitReached(_) => "limit_reached",
            ModuleError::Vetoed(_) => "vetoed",
            ModuleError::Service(_) => "service_failed",
            ModuleError::Internal(_) => "internal",
        }
    }

    pub fn is_callers_fault(&self) -> bool {
        !matches!(self, ModuleError::Service(_) | ModuleError::Internal(_))
    }

    pub fn internal(e: impl std::fmt::Display) -> ModuleError {
        ModuleError::Internal(e.to_string())
    }
}

impl From<InvalidValue> for ModuleError {
    fn from(e: InvalidValue) -> ModuleError {
        ModuleError::Invalid(e.to_string())
    }
}

impl From<hs_config::StateError> for ModuleError {
    fn from(e: hs_config::StateError) -> ModuleError {
        ModuleError::Internal(e.to_string())
    }
}

impl From<hs_automation::PipelineError> for ModuleError {
    fn from(e: hs_automation::PipelineError) -> ModuleError {
        ModuleError::Service(e.to_string())
    }
}

impl From<hs_automation::ExecError> for ModuleError {
    fn from(e: hs_automation::ExecError) -> ModuleError {
        ModuleError::Internal(e.to_string())
    }
}

impl From<hs_config::render::RenderError> for ModuleError {
    fn from(e: hs_config::render::RenderError) -> ModuleError {
        ModuleError::Service(e.to_string())
    }
}

impl From<hs_auth::AuthError> for ModuleError {
    fn from(e: hs_auth::AuthError) -> ModuleError {
        ModuleError::Internal(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, ModuleError>;
