//! The gateway's REST API as a Spin HTTP component.
//!
//! It speaks GOWA's dialect (go-whatsapp-web-multidevice): the same routes,
//! request fields and the envelope `{"code","message","results"}`, so GOWA
//! clients work unchanged. The component is stateless: everything it does goes
//! through the connector's interfaces (WIT world `wa:gateway/connector`), which
//! it calls over `wasi:http` ([`connector`]). The same `.wasm` file therefore
//! runs inside the connector (calls answered in-process), under `wasmtime
//! serve`, or on a Spin host (calls sent to the connector's internal endpoint).
//!
//! Map of the crate: [`routes`] matches method and path and holds one module per
//! feature (`app`, `devices`, `send`, `message`, `chats`, `groups`, `webhooks`);
//! [`input`] reads JSON, multipart and query fields alike; [`phone`] turns
//! phone numbers into JIDs; [`error`] and [`envelope`] shape every answer;
//! [`fetch`] downloads what clients point at (media URLs, linked pages)
//! behind one address guard, and [`link_preview`] builds `/send/link`'s card.

mod auth;
mod connector;
mod envelope;
mod error;
mod fetch;
mod input;
mod link_preview;
mod media;
mod phone;
mod qr;
mod routes;
mod settings;

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
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

#[spin_sdk::http_service]
async fn handle(request: Request) -> impl IntoResponse {
    routes::dispatch(request).await
}
