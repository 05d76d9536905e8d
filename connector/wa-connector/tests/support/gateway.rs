//! A running `wa-connector serve` process (REST component hosted inside) in
//! front of the WhatsApp simulator, and a small client for its GOWA API.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use wa_simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use wa_testkit::{ChildGuard, free_port, required_file, wait_for_port};

/// How long the process may take to start (component compilation included).
pub const STARTUP: Duration = Duration::from_secs(180);
/// How long a message or state change may take to show.
pub const WAIT: Duration = Duration::from_secs(30);

/// Basic-auth credentials the process is started with.
pub const USER: &str = "api";
/// Their password.
pub const PASSWORD: &str = "s3cret-pass";

/// The process, the simulator behind it and an HTTP client.
pub struct Gateway {
    pub sim: SimulatorHandle,
    pub base: String,
    pub dir: PathBuf,
    pub http: reqwest::Client,
    port: u16,
    env: Vec<(String, String)>,
    child: Option<ChildGuard>,
}

/// Starts `wa-connector serve` on `dir` and `port`, waits until it listens.
fn spawn(
    sim: &SimulatorHandle,
    dir: &std::path::Path,
    port: u16,
    env: &[(String, String)],
) -> ChildGuard {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wa-connector"));
    command
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("APP_PORT", port.to_string())
        .env("APP_BASIC_AUTH", format!("{USER}:{PASSWORD}"))
        .env("WA_HTTP_COMPONENT", required_file("WA_HTTP_COMPONENT"))
        .env(
            "WA_WEBHOOK_COMPONENT",
            required_file("WA_WEBHOOK_COMPONENT"),
        )
        .env("WA_SERVER_URL", sim.ws_url())
        .env("WA_TRUST_ROOT", hex::encode(sim.root_key()))
        .env("WA_PRINT_QR", "false")
        .env("RUST_LOG", "info,wa_connector=debug")
        .env("NO_COLOR", "1")
        // Tests send in bursts; the ones about pacing set their own.
        .env("WHATSAPP_RATE_LIMIT_MESSAGES_PER_MINUTE", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(cache) = std::env::var_os("WA_COMPONENT_CACHE") {
        command.env("WA_COMPONENT_CACHE", cache);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = ChildGuard::new(command.spawn().expect("starting wa-connector"));
    tokio::task::block_in_place(|| {
        // `http://` or `https://`.
        child.wait_for_line("listening on http", STARTUP);
    });
    wait_for_port(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), WAIT);
    child
}

/// One answer: status, headers and the parsed envelope (or raw bytes).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    /// The envelope's `code`.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// The envelope's `results`.
    pub fn results(&self) -> Value {
        self.json()["results"].clone()
    }

    /// Asserts a `200 SUCCESS` and returns `results`.
    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(
            (self.status, self.code().as_str()),
            (200, "SUCCESS"),
            "{}",
            String::from_utf8_lossy(&self.bytes)
        );
        self.results()
    }
}

impl Gateway {
    /// Starts the simulator and the process with extra environment variables.
    pub async fn start(label: &str, env: &[(&str, &str)]) -> Gateway {
        Self::start_with(label, env, SimulatorConfig::default()).await
    }

    /// The same, with the simulator set up as given.
    pub async fn start_with(label: &str, env: &[(&str, &str)], sim: SimulatorConfig) -> Gateway {
        let sim = Simulator::start(sim).await.unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "rest-{label}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let port = free_port();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let child = spawn(&sim, &dir, port, &env);
        Gateway {
            sim,
            base: format!("http://127.0.0.1:{port}"),
            dir,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            port,
            env,
            child: Some(child),
        }
    }

    /// The process's database, opened alongside it (WAL lets both in).
    pub async fn database(&self) -> wa_store::DynStore {
        wa_store::open(&format!("file:{}", self.dir.join("data/wa.db").display()))
            .await
            .unwrap()
    }

    /// Message `id` in `account`'s chat with `phone`, decoded as that
    /// account stored it (what the receiver's phone would show).
    pub async fn stored_message(
        &self,
        account: &str,
        phone: &str,
        id: &str,
    ) -> wa_proto::proto::message::Message {
        use prost::Message as _;
        let stored = self
            .database()
            .await
            .get_message(
                &wa_store::AccountId::new(account).unwrap(),
                &format!("{phone}@s.whatsapp.net"),
                id,
            )
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{account} has no message {id} from {phone}"));
        wa_proto::proto::message::Message::decode(stored.message.content.as_slice()).unwrap()
    }

    /// Kills the process (SIGKILL: no clean shutdown) and starts it again on the
    /// same data, with `env` changed as given.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        drop(self.child.take());
        for (key, value) in env {
            self.env.retain(|(k, _)| k != key);
            self.env.push(((*key).to_owned(), (*value).to_owned()));
        }
        self.child = Some(spawn(&self.sim, &self.dir, self.port, &self.env));
    }

    /// The connector's process id, e.g. to read its CPU time and memory.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the process is running").id()
    }

    /// Sends a request with the API's credentials.
    pub async fn request(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request
            .basic_auth(USER, Some(PASSWORD))
            .send()
            .await
            .expect("the gateway answers");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            bytes: response.bytes().await.unwrap().to_vec(),
        }
    }

    /// `GET path` as `device` (none: no `X-Device-Id`).
    pub async fn get(&self, device: Option<&str>, path: &str) -> Reply {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(device) = device {
            request = request.header("X-Device-Id", device);
        }
        self.request(request).await
    }

    /// `POST path` with a JSON body as `device`.
    pub async fn post(&self, device: Option<&str>, path: &str, body: Value) -> Reply {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        if let Some(device) = device {
            request = request.header("X-Device-Id", device);
        }
        self.request(request).await
    }

    /// `POST path` with a raw body and content type as `device`.
    pub async fn post_raw(
        &self,
        device: Option<&str>,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(device) = device {
            request = request.header("X-Device-Id", device);
        }
        self.request(request).await
    }

    /// Sends `text` from `device` to `phone` (a number or JID) through
    /// `/send/message` and returns the message id.
    pub async fn send_text(&self, device: &str, phone: &str, text: &str) -> String {
        let sent = self
            .post(
                Some(device),
                "/send/message",
                serde_json::json!({"phone": phone, "message": text}),
            )
            .await
            .ok();
        sent["message_id"].as_str().expect("message_id").to_owned()
    }

    /// Sends `text` and waits until `receiver` sees it in its chat `chat`;
    /// returns the message as `receiver`'s history shows it.
    pub async fn send_and_receive(
        &self,
        (device, phone): (&str, &str),
        (receiver, chat): (&str, &str),
        text: &str,
    ) -> Value {
        let id = self.send_text(device, phone, text).await;
        self.wait_for_message(receiver, chat, |m| m["id"] == id.as_str())
            .await
    }

    /// Links device `id` as phone `phone` through the API's QR login and waits
    /// until it is connected; returns the account's JID.
    pub async fn link(&self, id: &str, phone: &str) -> String {
        let login = self.get(Some(id), "/app/login").await.ok();
        let qr = login["qr_code"].as_str().expect("qr_code").to_owned();
        self.sim
            .scan_qr(&qr, phone)
            .expect("the phone scans the QR");
        self.wait_connected(id).await
    }

    /// Waits until device `id` reports itself connected; returns its JID.
    pub async fn wait_connected(&self, id: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let status = self.get(None, &format!("/devices/{id}/status")).await.ok();
            if status["is_connected"] == Value::Bool(true) {
                return status["jid"].as_str().unwrap().to_owned();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "device {id} never connected: {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls `/chat/{chat}/messages` of `device` until `pred` accepts a message.
    pub async fn wait_for_message(
        &self,
        device: &str,
        chat: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let page = self
                .get(Some(device), &format!("/chat/{chat}/messages?limit=100"))
                .await
                .ok();
            if let Some(found) = page["data"]
                .as_array()
                .and_then(|messages| messages.iter().find(|m| pred(m)))
            {
                return found.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no matching message in {chat} for {device}: {page}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Polls `check` until it returns something, for at most [`WAIT`]; `what`
/// names the awaited state in the failure.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A multipart/form-data body: text fields and files `(name, file name, type, bytes)`.
pub fn multipart(
    fields: &[(&str, &str)],
    files: &[(&str, &str, &str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = "----wa-gateway-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, content_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
