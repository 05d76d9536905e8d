//! The component's own credential check, for hosts that do not check them.
//!
//! Hosted in the connector, the component is never given credentials (the
//! connector's front has checked them already) and lets every request in.
//! Under another host — Spin with `spin.toml`'s variables, `wasmtime serve` —
//! the operator gives it `APP_BASIC_AUTH` and/or `APP_API_KEYS` (see
//! [`crate::settings`]), and it enforces them exactly as the connector does
//! (`api-auth`, one definition).

use std::sync::OnceLock;

use api_auth::Credentials;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::envelope::{self, ApiResponse};

/// The credentials in the component's environment, read once per instance.
fn configured() -> &'static Result<Credentials, api_auth::ConfigError> {
    static CREDENTIALS: OnceLock<Result<Credentials, api_auth::ConfigError>> = OnceLock::new();
    CREDENTIALS.get_or_init(|| {
        let setting = |name| crate::settings::get(name).unwrap_or_default();
        Credentials::parse(&setting("APP_BASIC_AUTH"), &setting("APP_API_KEYS"))
    })
}

/// `None` when the request may go on, else the answer refusing it.
pub fn check(path: &str, headers: &HeaderMap) -> Option<ApiResponse> {
    if path == "/health" {
        return None; // liveness probes carry no credentials
    }
    let credentials = match configured() {
        Ok(credentials) => credentials,
        // Refuse everything rather than run open on a typo.
        Err(error) => {
            return Some(envelope::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "CONFIGURATION_ERROR",
                format!("the API's credentials are misconfigured: {error}"),
            ));
        }
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if credentials
        .authenticate(header("authorization"), header("x-api-key"))
        .is_some()
    {
        return None;
    }
    let mut refusal = envelope::error(
        StatusCode::UNAUTHORIZED,
        "AUTHENTICATION_ERROR",
        "valid credentials are required: basic auth, or an API key in X-Api-Key or Authorization: Bearer",
    );
    if credentials.has_accounts() {
        refusal.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(api_auth::CHALLENGE),
        );
    }
    Some(refusal)
}
