//! The cloud binding: the same `http_api.wasm`, run by a stand-alone host
//! (`wasmtime serve`) configured the way `spin.toml` configures Spin — its
//! component variables resolved from application variables and handed over
//! as `wasi:config` variables, its environment as environment, its outbound
//! hosts checked — reaches a real connector over its internal endpoint; a
//! send through it reaches another account.

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

    // The component under wasmtime serve, configured from spin.toml with the
    // application variables a user would set.
    let wasmtime = required_file("WA_WASMTIME_CLI");
    let component = required_file("WA_HTTP_COMPONENT");
    let port = free_port();
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let api_keys = format!("edge:{API_KEY}");
    let spin = SpinComponent::from_manifest(
        "http-api",
        &[
            ("connector_url", gw.base.as_str()),
            ("connector_token", TOKEN),
            ("api_keys", api_keys.as_str()),
        ],
    );
    assert_eq!(spin.allowed_outbound_hosts, std::slice::from_ref(&gw.base));
    let child = Command::new(&wasmtime)
        .arg("serve")
        .args(["-Scli", "-Sconfig"])
        .args(spin.wasmtime_args())
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
    // WA_HOST from spin.toml's environment.
    assert_eq!(info["results"]["host"], "spin", "{info}");
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

/// One component of `spin.toml`, resolved the way Spin resolves it.
struct SpinComponent {
    /// `[component.<name>.variables]`, templates filled in: the component's
    /// `wasi:config` variables.
    config_vars: Vec<(String, String)>,
    /// `[component.<name>.environment]`.
    env: Vec<(String, String)>,
    /// `allowed_outbound_hosts`, templates filled in.
    allowed_outbound_hosts: Vec<String>,
}

impl SpinComponent {
    /// Reads component `name` from the repository's `spin.toml`, with the
    /// given application variables (the rest take their defaults; a required
    /// one left out fails the test, as it fails `spin up`).
    fn from_manifest(name: &str, variables: &[(&str, &str)]) -> Self {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml");
        let manifest: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let declared = manifest["variables"].as_table().unwrap();
        let value_of = |variable: &str| -> String {
            if let Some((_, value)) = variables.iter().find(|(k, _)| *k == variable) {
                return (*value).to_owned();
            }
            let declaration = declared
                .get(variable)
                .unwrap_or_else(|| panic!("spin.toml uses undeclared variable {variable}"));
            declaration
                .get("default")
                .and_then(|d| d.as_str())
                .unwrap_or_else(|| panic!("required variable {variable} not given"))
                .to_owned()
        };
        // `{{ name }}` templates, as in Spin manifests.
        let fill = |template: &str| -> String {
            let mut out = String::new();
            let mut rest = template;
            while let Some(start) = rest.find("{{") {
                out.push_str(&rest[..start]);
                let end = rest[start..].find("}}").expect("unclosed template") + start;
                out.push_str(&value_of(rest[start + 2..end].trim()));
                rest = &rest[end + 2..];
            }
            out.push_str(rest);
            out
        };
        let component = manifest["component"][name].as_table().unwrap();
        let table = |key: &str| -> Vec<(String, String)> {
            component
                .get(key)
                .and_then(|t| t.as_table())
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| (k.clone(), fill(v.as_str().unwrap())))
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            config_vars: table("variables"),
            env: table("environment"),
            allowed_outbound_hosts: component["allowed_outbound_hosts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| fill(h.as_str().unwrap()))
                .collect(),
        }
    }

    /// The same configuration as `wasmtime serve` flags.
    fn wasmtime_args(&self) -> Vec<String> {
        let vars = self
            .config_vars
            .iter()
            .map(|(k, v)| format!("-Sconfig-var={k}={v}"));
        let env = self
            .env
            .iter()
            .flat_map(|(k, v)| ["--env".to_owned(), format!("{k}={v}")]);
        vars.chain(env).collect()
    }
}
