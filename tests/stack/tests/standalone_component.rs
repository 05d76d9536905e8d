//! The very `http_api.wasm` the connector hosts also serves under a stand-alone
//! host (`wasmtime serve`), as it will on a Spin host at the edge: the component
//! depends on nothing the connector alone provides.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use wa_testkit::{ChildGuard, free_port, http_request, required_file, wait_for_port};

#[test]
fn http_api_serves_under_wasmtime_serve() {
    let wasmtime = required_file("WA_WASMTIME_CLI");
    let component = required_file("WA_HTTP_COMPONENT");
    let port = free_port();
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));

    let child = Command::new(&wasmtime)
        .arg("serve")
        // Rust std components import wasi:cli (environment, stdio).
        .arg("-Scli")
        // Its settings come from wasi:config/store (else the environment).
        .arg("-Sconfig")
        .args(["--env", "WA_HOST=wasmtime-serve"])
        .arg("--addr")
        .arg(address.to_string())
        .arg(&component)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting wasmtime serve");
    let _child = ChildGuard::new(child);
    wait_for_port(address, Duration::from_secs(120));

    let reply = http_request(address, "GET", "/app/info", &[], b"").unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let info: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(info["code"], "SUCCESS");
    assert_eq!(info["results"]["name"], "wa-gateway");
    assert_eq!(info["results"]["host"], "wasmtime-serve");
    // No connector behind it: the component says so instead of guessing.
    assert_eq!(info["results"]["store"], Value::Null);

    let health = http_request(address, "GET", "/health", &[], b"").unwrap();
    assert_eq!(health.status, 200);
    let missing = http_request(address, "GET", "/nope", &[], b"").unwrap();
    assert_eq!(missing.status, 404);
}

#[test]
fn the_component_needs_only_standard_wasi_interfaces() {
    let engine = wa_host::HostEngine::new(&wa_host::HostConfig::default()).unwrap();
    let world =
        wa_host::ComponentWorld::read(&engine, &required_file("WA_HTTP_COMPONENT")).unwrap();
    assert_eq!(world.exports, ["wasi:http/handler@0.3.0"], "{world:?}");
    // Anything outside `wasi:` would tie the component to one host.
    let foreign: Vec<_> = world
        .imports
        .iter()
        .filter(|name| !name.starts_with("wasi:"))
        .collect();
    assert!(foreign.is_empty(), "host-specific imports: {foreign:?}");
    assert!(
        world
            .imports
            .iter()
            .any(|name| name.starts_with("wasi:http/types@0.3")),
        "{world:?}"
    );
}
