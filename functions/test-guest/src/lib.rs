//! A component that misbehaves on request, so that the host's per-request
//! deadline and memory cap are tested against real guest code:
//!
//! - `GET /ok` answers at once;
//! - `GET /spin` loops forever without yielding;
//! - `GET /grow?mib=N` allocates and touches N MiB.

use spin_sdk::http::{IntoResponse, Request};

#[spin_sdk::http_service]
async fn handle(request: Request) -> impl IntoResponse {
    let path = request.uri().path();
    let query = request.uri().query().unwrap_or_default();
    match path {
        "/ok" => respond(200, "ok".to_owned()),
        "/spin" => spin_forever(),
        "/grow" => {
            let mib = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("mib="))
                .and_then(|value| value.parse::<usize>().ok())
                .unwrap_or(1);
            let block = vec![1u8; mib * 1024 * 1024];
            let sum: u64 = block
                .iter()
                .step_by(4096)
                .map(|&byte| u64::from(byte))
                .sum();
            respond(200, format!("grew {mib} MiB ({sum} pages)"))
        }
        _ => respond(404, "no such route".to_owned()),
    }
}

fn spin_forever() -> http::Response<String> {
    let mut counter = 0u64;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

fn respond(status: u16, body: String) -> http::Response<String> {
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response
}
