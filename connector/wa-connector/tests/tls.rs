//! The listener over TLS (`TLS_CERT_FILE` / `TLS_KEY_FILE`): the API and the
//! internal endpoint answer HTTPS with the configured certificate (made here
//! by the openssl CLI, checked by reqwest's rustls client against it as the
//! only root), plain HTTP gets no answer, and an unusable key stops the start
//! with a clear error.

mod support;

use std::path::Path;
use std::process::Command;

use support::gateway::{Gateway, PASSWORD, USER};

const TOKEN: &str = "tls-internal-token-0123456789";

/// A self-signed certificate for 127.0.0.1 and its key, by openssl.
fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=wa-gateway test"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // A server certificate, not a CA (rustls refuses a CA as the end entity).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl could not make a certificate");
    (cert, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_the_internal_endpoint_speak_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let gw = Gateway::start(
        "tls",
        &[
            ("TLS_CERT_FILE", cert.to_str().unwrap()),
            ("TLS_KEY_FILE", key.to_str().unwrap()),
            ("INTERNAL_API_TOKEN", TOKEN),
        ],
    )
    .await;
    let base = gw.base.replace("http://", "https://");
    let trusted = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();

    let health = trusted.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let info: serde_json::Value = trusted
        .get(format!("{base}/app/info"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["code"], "SUCCESS", "{info}");
    let internal: serde_json::Value = trusted
        .post(format!("{base}/internal/v1/accounts/info"))
        .bearer_auth(TOKEN)
        .body("[]")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(internal["host"], "wa-connector", "{internal}");

    // A client that does not trust the certificate refuses the server, and
    // plain HTTP on the TLS port gets no HTTP answer.
    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(true)
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("{base}/health"))
            .send()
            .await
            .is_err()
    );
    let plain = reqwest::Client::new()
        .get(format!("{}/health", gw.base))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
}

#[test]
fn an_unusable_key_stops_the_start_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed(dir.path());
    let bad_key = dir.path().join("bad.pem");
    std::fs::write(&bad_key, "not a key").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_wa-connector"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("APP_PORT", "0")
        .env("TLS_CERT_FILE", &cert)
        .env("TLS_KEY_FILE", &bad_key)
        .env(
            "WA_HTTP_COMPONENT",
            wa_testkit::required_file("WA_HTTP_COMPONENT"),
        )
        .env(
            "WA_WEBHOOK_COMPONENT",
            wa_testkit::required_file("WA_WEBHOOK_COMPONENT"),
        )
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot set up TLS") && stderr.contains("private key"),
        "{stderr}"
    );
    // Half a configuration is refused before anything starts.
    let output = Command::new(env!("CARGO_BIN_EXE_wa-connector"))
        .arg("serve")
        .env_clear()
        .env("TLS_CERT_FILE", &cert)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("required arguments were not provided"),
        "{stderr}"
    );
}
