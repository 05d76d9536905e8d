//! Every failure of a request, as GOWA reports it: an HTTP status plus a code.

use http::StatusCode;

use crate::bindings::wa::gateway::types::GatewayError;
use crate::envelope::{self, ApiResponse};

/// Why a request failed; turned into the envelope by [`ApiError::into_response`].
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// GOWA's error code (`VALIDATION_ERROR`, `INVALID_JID`, ...).
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

/// Short for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A status, a code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A field is missing or malformed (400 `VALIDATION_ERROR`).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// A phone number or JID that cannot be an address (400 `INVALID_JID`).
    pub fn invalid_jid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_JID", message)
    }

    /// The body is larger than the route accepts (413).
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "FILE_TOO_LARGE", message)
    }

    /// Something the gateway depends on failed (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            message,
        )
    }

    /// The same error under another GOWA code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// The envelope for this error.
    pub fn into_response(self) -> ApiResponse {
        envelope::error(self.status, self.code, self.message)
    }
}

impl From<GatewayError> for ApiError {
    fn from(error: GatewayError) -> Self {
        match error {
            GatewayError::InvalidInput(why) => ApiError::validation(why),
            GatewayError::NotFound(what) => ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", what),
            GatewayError::NotReady(why) => {
                ApiError::new(StatusCode::CONFLICT, "DEVICE_NOT_READY", why)
            }
            GatewayError::Unavailable(why) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", why)
            }
        }
    }
}
