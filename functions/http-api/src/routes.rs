//! The route table: which handler answers which method and path.

use http::{Method, StatusCode};
use serde::Serialize;
use spin_sdk::http::Request;

use crate::bindings::wa::gateway::types::AppInfo;
use crate::envelope::{self, ApiResponse};

/// The REST dialect this API speaks, reported by `/app/info`.
const API_DIALECT: &str = "gowa-v9";
/// The contract this component was built against.
const CONTRACT: &str = "wa:gateway@0.1.0";

/// Answers one request; unknown paths and methods get the envelope too.
pub fn dispatch(request: Request) -> ApiResponse {
    let path = request.uri().path();
    match (request.method(), path) {
        (&Method::GET, "/health") => health(),
        (&Method::GET, "/app/info") => app_info(),
        (_, "/health" | "/app/info") => envelope::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{} is not allowed on {path}", request.method()),
        ),
        _ => envelope::error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no route for {} {path}", request.method()),
        ),
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

fn health() -> ApiResponse {
    envelope::success("ok", Health { status: "ok" })
}

fn app_info() -> ApiResponse {
    let info = AppInfo {
        name: "wa-gateway".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        api: API_DIALECT.to_owned(),
        contract: CONTRACT.to_owned(),
        // The host names itself through the component's environment; a host
        // that says nothing is reported as such rather than guessed.
        host: std::env::var("WA_HOST").unwrap_or_else(|_| "unknown".to_owned()),
        store: std::env::var("WA_STORE").ok(),
        media: std::env::var("WA_MEDIA").ok(),
    };
    envelope::success("gateway information", info)
}
