//! The connector binary, started as a user would start it, answering real HTTP.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use wa_testkit::{ChildGuard, free_port, http_request, required_file, wait_for_port};

const STARTUP: Duration = Duration::from_secs(120);

/// A connector serving in its own temporary data folder.
struct Connector {
    address: SocketAddr,
    _child: ChildGuard,
    _data: TempDir,
}

fn start_connector(extra_env: &[(&str, &str)]) -> Connector {
    let component = required_file("WA_HTTP_COMPONENT");
    let data = TempDir::new("serve");
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_wa-connector"));
    command
        .arg("serve")
        .current_dir(data.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("APP_PORT", port.to_string())
        .env("WA_HTTP_COMPONENT", &component)
        .env(
            "WA_WEBHOOK_COMPONENT",
            required_file("WA_WEBHOOK_COMPONENT"),
        )
        .envs(extra_env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = ChildGuard::new(command.spawn().expect("starting wa-connector"));
    child.wait_for_line("listening on http://", STARTUP);
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    wait_for_port(address, Duration::from_secs(5));
    assert!(
        data.path().join("data/wa.db").is_file(),
        "the default SQLite file was not created"
    );
    assert!(
        data.path().join("data/media").is_dir(),
        "the default media folder was not created"
    );
    Connector {
        address,
        _child: child,
        _data: data,
    }
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {}", String::from_utf8_lossy(body)))
}

#[test]
fn serves_app_info_and_health_in_the_gowa_envelope() {
    let connector = start_connector(&[]);

    let info = http_request(connector.address, "GET", "/app/info", &[], b"").unwrap();
    assert_eq!(info.status, 200);
    assert_eq!(info.header("content-type"), Some("application/json"));
    let info = json(&info.body);
    assert_eq!(info["code"], "SUCCESS");
    assert_eq!(info["results"]["name"], "wa-gateway");
    assert_eq!(info["results"]["contract"], "wa:gateway@0.1.0");
    // The host tells the component who runs it: proof the in-process host ran it.
    assert_eq!(info["results"]["host"], "wa-connector");
    // The embedded default: SQLite and a local media folder, nothing else.
    assert_eq!(info["results"]["store"], "sqlite");
    assert_eq!(info["results"]["media"], "folder");

    let health = json(
        &http_request(connector.address, "GET", "/health", &[], b"")
            .unwrap()
            .body,
    );
    assert_eq!(health["code"], "SUCCESS");

    let missing = http_request(connector.address, "GET", "/no/such/route", &[], b"").unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(json(&missing.body)["code"], "NOT_FOUND");

    let wrong_method = http_request(connector.address, "POST", "/app/info", &[], b"{}").unwrap();
    assert_eq!(wrong_method.status, 405);
}

#[test]
fn basic_auth_guards_the_api_but_not_the_health_probe() {
    let connector = start_connector(&[("APP_BASIC_AUTH", "admin:s3cret,ops:pw")]);

    let anonymous = http_request(connector.address, "GET", "/app/info", &[], b"").unwrap();
    assert_eq!(anonymous.status, 401);
    assert_eq!(json(&anonymous.body)["code"], "AUTHENTICATION_ERROR");
    assert!(anonymous.header("www-authenticate").is_some());

    // admin:wrong
    let wrong = http_request(
        connector.address,
        "GET",
        "/app/info",
        &[("Authorization", "Basic YWRtaW46d3Jvbmc=")],
        b"",
    )
    .unwrap();
    assert_eq!(wrong.status, 401);

    // ops:pw
    let ok = http_request(
        connector.address,
        "GET",
        "/app/info",
        &[("Authorization", "Basic b3BzOnB3")],
        b"",
    )
    .unwrap();
    assert_eq!(ok.status, 200);

    let health = http_request(connector.address, "GET", "/health", &[], b"").unwrap();
    assert_eq!(health.status, 200);
}

#[test]
fn survives_malformed_http() {
    let connector = start_connector(&[]);
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(connector.address).unwrap();
    stream.write_all(b"NOT HTTP AT ALL\r\n\r\n").unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    // hyper answers 400 or just closes; either way the server must keep serving.
    let info = http_request(connector.address, "GET", "/app/info", &[], b"").unwrap();
    assert_eq!(info.status, 200);
}

#[test]
fn bad_configuration_is_one_clear_line() {
    for (name, value, expected) in [
        ("APP_PORT", "seventy", "invalid digit"),
        ("DB_URI", "mysql://nope", "postgres://"),
        ("APP_BASIC_AUTH", "justauser", "user:password"),
        ("WHATSAPP_WEBHOOK", "ftp://hook", "http or https"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_wa-connector"))
            .arg("serve")
            .env_clear()
            .env(name, value)
            .output()
            .expect("running wa-connector");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}={value}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{name}={value} printed more than one line: {stderr}"
        );
        assert!(stderr.contains(expected), "{name}={value}: {stderr}");
        assert!(
            stderr.contains(name),
            "{name}={value} does not name its variable: {stderr}"
        );
    }
}

#[test]
fn a_missing_component_is_reported_not_panicked() {
    let data = TempDir::new("missing");
    let output = Command::new(env!("CARGO_BIN_EXE_wa-connector"))
        .arg("serve")
        .current_dir(data.path())
        .env_clear()
        .env("APP_PORT", "0")
        .env("WA_HTTP_COMPONENT", data.path().join("nope.wasm"))
        .output()
        .expect("running wa-connector");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: cannot load the REST API component"),
        "{stderr}"
    );
    assert!(last.contains("nope.wasm"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn help_lists_every_setting_with_its_environment_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_wa-connector"))
        .args(["serve", "--help"])
        .output()
        .expect("running wa-connector");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for variable in [
        "APP_PORT",
        "APP_HOST",
        "APP_BASIC_AUTH",
        "APP_DEBUG",
        "DB_URI",
        "MEDIA_URI",
        "WHATSAPP_WEBHOOK",
        "WHATSAPP_WEBHOOK_SECRET",
        "WA_HTTP_COMPONENT",
        "WA_WEBHOOK_COMPONENT",
        "WHATSAPP_WEBHOOK_EVENTS",
        "WEBHOOK_TIMEOUT",
        "WEBHOOK_CONCURRENT_DELIVERIES",
        "WEBHOOK_RETRY_WINDOW",
        "INTERNAL_API_TOKEN",
        "WHATSAPP_MAX_FILE_SIZE_IMAGE",
        "APP_API_KEYS",
        "WEBHOOK_QUEUE_URL",
        "TLS_CERT_FILE",
        "TLS_KEY_FILE",
        "METRICS_PUBLIC",
        // The performance guide's knobs.
        "DB_MAX_OPEN_CONNS",
        "DB_MAX_IDLE_CONNS",
        "DB_CONN_MAX_LIFETIME",
        "DB_SQLITE_BUSY_TIMEOUT",
        "DB_SQLITE_CACHE_SIZE_KIB",
        "DB_SQLITE_SYNCHRONOUS",
        "WHATSAPP_CHAT_STORAGE",
        "WHATSAPP_MESSAGE_RETENTION_DAYS",
        "WHATSAPP_MEDIA_RETENTION_DAYS",
        "WHATSAPP_RETENTION_INTERVAL",
        "WHATSAPP_RETENTION_BATCH_SIZE",
        "WHATSAPP_MAX_FILE_SIZE_VIDEO",
        "WHATSAPP_MAX_FILE_SIZE_DOCUMENT",
        "WHATSAPP_MAX_FILE_SIZE_AUDIO",
        "FFMPEG_PRESET",
        "FFMPEG_CRF",
        "FFMPEG_THREADS",
        "FFMPEG_HWACCEL",
        "WHATSAPP_SEND_MEDIA_WITHOUT_RECOMPRESSION",
        "RATE_LIMIT_REQUESTS_PER_MINUTE",
        "RATE_LIMIT_BURST",
        "WHATSAPP_RATE_LIMIT_MESSAGES_PER_MINUTE",
        "WHATSAPP_RATE_LIMIT_BURST",
        "HTTP_CLIENT_TIMEOUT",
        "HTTP_CLIENT_MAX_IDLE_PER_HOST",
        "HTTP_CLIENT_IDLE_TIMEOUT",
        "PPROF_ENABLED",
        "WHATSAPP_LINK_PREVIEW",
        "WHATSAPP_LINK_PREVIEW_TIMEOUT",
    ] {
        assert!(
            help.contains(&format!("[env: {variable}")),
            "--help does not list {variable}:\n{help}"
        );
    }
}

/// A temporary folder removed at the end of the test.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "wa-connector-{label}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
