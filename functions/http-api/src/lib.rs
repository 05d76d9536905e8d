//! The gateway's REST API as a Spin HTTP component.
//!
//! It speaks GOWA's dialect (go-whatsapp-web-multidevice): every answer is the
//! envelope `{"code","message","results"}`. The component is stateless; what it
//! knows of the deployment comes from its host's environment, so the same file
//! runs in the connector, under `wasmtime serve`, or on a Spin host.

mod envelope;
mod routes;

use spin_sdk::http::{IntoResponse, Request};

/// Bindings for the `wa:gateway` contract (`wit/`), generated, never hand-copied.
#[allow(missing_docs, clippy::all)]
pub(crate) mod bindings {
    spin_sdk::wit_bindgen::generate!({
        path: "../../wit",
        world: "wa:gateway/http-api",
        runtime_path: "spin_sdk::wit_bindgen::rt",
        generate_all,
        generate_unused_types: true,
        additional_derives: [serde::Serialize],
    });
}

#[spin_sdk::http_service]
async fn handle(request: Request) -> impl IntoResponse {
    routes::dispatch(request)
}
