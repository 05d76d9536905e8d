//! The cloud binding: the same `http_api.wasm`, run by a stand-alone host
//! (`wasmtime serve`, configured the way `spin.toml` configures Spin: the
//! connector's URL and token as environment), reaches a real connector over
//! its internal endpoint; a send through it reaches another account.

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use support::gateway::Gateway;
use wa_testkit::{ChildGuard, free_port, required_file, wait_for_port};

const TOKEN: &str = "internal-token-for-tests-0123456789";
/// The edge's own API key: nothing in front of `wasmtime serve` checks
/// credentials, so the component does.
const API_KEY: &str = "edge-api-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_component_under_wasmtime_serve_drives_a_remote_connector() {
    let gw = Gateway::start("standalone", &[("INTERNAL_API_TOKEN", TOKEN)]).await;

    // The internal endpoint on the network: token required, then the contract.
    let call = |token: Option<&str>| {
        let mut request = gw
            .http
            .post(format!("{}/internal/v1/accounts/info", gw.base))
            .body("[]");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(call(None).await.unwrap().status(), 401);
    assert_eq!(call(Some("wrong")).await.unwrap().status(), 401);
    let info: serde_json::Value = call(Some(TOKEN)).await.unwrap().json().await.unwrap();
    assert_eq!(info["store"], "sqlite", "{info}");
    let unknown = gw
        .http
        .post(format!("{}/internal/v1/accounts/nope", gw.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let bad_args = gw
        .http
        .post(format!("{}/internal/v1/accounts/get-account", gw.base))
        .bearer_auth(TOKEN)
        .body("[1, 2, 3]")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_args.status(), 400);

    // The component under wasmtime serve, pointed at the connector.
    let wasmtime = required_file("WA_WASMTIME_CLI");
    let component = required_file("WA_HTTP_COMPONENT");
    let port = free_port();
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let child = Command::new(&wasmtime)
        .arg("serve")
        .arg("-Scli")
        .args(["--env", "WA_HOST=wasmtime-serve"])
        .args(["--env", &format!("CONNECTOR_URL={}", gw.base)])
        .args(["--env", &format!("CONNECTOR_TOKEN={TOKEN}")])
        .args(["--env", &format!("APP_API_KEYS=edge:{API_KEY}")])
        .arg("--addr")
        .arg(address.to_string())
        .arg(&component)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting wasmtime serve");
    let _edge = ChildGuard::new(child);
    wait_for_port(address, Duration::from_secs(120));
    let edge = format!("http://{address}");

    // The component enforces the key it was given: liveness is open, the API
    // is not, and the refusal is GOWA's envelope.
    let anonymous = reqwest::Client::new();
    let health = anonymous
        .get(format!("{edge}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    for key in [None, Some("wrong-key-0123456789")] {
        let mut request = anonymous.get(format!("{edge}/app/info"));
        if let Some(key) = key {
            request = request.header("X-Api-Key", key);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), 401);
        assert!(refused.headers().get("www-authenticate").is_none());
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["code"], "AUTHENTICATION_ERROR", "{body}");
    }
    let bearer = anonymous
        .get(format!("{edge}/app/devices"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", API_KEY.parse().unwrap());
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();

    let info: serde_json::Value = client
        .get(format!("{edge}/app/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["results"]["host"], "wasmtime-serve", "{info}");
    assert_eq!(info["results"]["store"], "sqlite", "{info}");

    // Link two accounts through the edge, then send from one to the other.
    for (id, phone) in [("ann", "15550200001"), ("bob", "15550200002")] {
        let login: serde_json::Value = client
            .get(format!("{edge}/app/login"))
            .header("X-Device-Id", id)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let qr = login["results"]["qr_code"]
            .as_str()
            .unwrap_or_else(|| panic!("{login}"));
        gw.sim.scan_qr(qr, phone).unwrap();
        gw.wait_connected(id).await;
    }
    let sent: serde_json::Value = client
        .post(format!("{edge}/send/message"))
        .header("X-Device-Id", "ann")
        .json(&json!({"phone": "15550200002", "message": "from the edge"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["code"], "SUCCESS", "{sent}");
    let id = sent["results"]["message_id"].as_str().unwrap().to_owned();
    let received = gw
        .wait_for_message("bob", "15550200001", |m| m["id"] == id.as_str())
        .await;
    assert_eq!(received["content"], "from the edge");
}
