//! The webhook fan-out component (`WA_WEBHOOK_COMPONENT`, built by
//! `cargo xtask build-components`) hosted by wa-host, against real receivers
//! on loopback: what arrives (exact body, every header, a signature an
//! independent HMAC implementation accepts) and how each kind of answer is
//! classified.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use wa_host::{HostConfig, HostEngine, HttpComponent};
use wa_testkit::required_file;

/// What a receiver saw of one POST.
#[derive(Debug)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

fn load() -> HttpComponent {
    let path = required_file("WA_WEBHOOK_COMPONENT");
    let config = HostConfig {
        request_timeout: Duration::from_secs(3),
        ..HostConfig::default()
    };
    let engine = HostEngine::new(&config).expect("engine");
    HttpComponent::load(&engine, &path, &config).expect("the fan-out component loads")
}

/// A receiver answering every request with `answer` (raw HTTP/1.1), or never
/// answering when `answer` is None; it reports what it read.
async fn receiver(answer: Option<&'static str>) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(serve(stream, answer, tx));
        }
    });
    (url, rx)
}

async fn serve(mut stream: TcpStream, answer: Option<&str>, tx: mpsc::UnboundedSender<Seen>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head, body_start) = loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break (
                String::from_utf8_lossy(&buffer[..end]).into_owned(),
                end + 4,
            );
        }
    };
    let seen = Seen {
        head,
        body: Vec::new(),
    };
    let length: usize = seen
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[body_start..].to_vec();
    while body.len() < length {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let _ = tx.send(Seen { body, ..seen });
    match answer {
        Some(answer) => {
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        None => tokio::time::sleep(Duration::from_secs(30)).await,
    }
}

fn request(url: &str, secret: Option<&str>, headers: Value, timeout_ms: u32) -> Value {
    json!({
        "id": "d-1",
        "url": url,
        "body": r#"{"event":"message","device_id":"main","payload":{"text":"héllo"}}"#,
        "event": "message",
        "secret": secret,
        "headers": headers,
        "timestamp": 1_700_000_000u64,
        "timeout_ms": timeout_ms,
        "attempt": 2,
    })
}

/// Posts `delivery` to the component; its JSON outcome.
async fn deliver(component: &HttpComponent, delivery: &Value) -> Value {
    let http_request = http::Request::post("http://webhook-fanout.internal/deliver")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(delivery).unwrap(),
        )))
        .unwrap();
    let response = component
        .handle(http_request)
        .await
        .expect("the component answers");
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        status.is_success(),
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).expect("an outcome in JSON")
}

/// The outcome's kind ("Delivered", "Retry", "Reject") and its content.
fn outcome_kind(outcome: &Value) -> (String, Value) {
    let (kind, content) = outcome
        .as_object()
        .and_then(|o| o.iter().next())
        .unwrap_or_else(|| panic!("not a variant: {outcome}"));
    (kind.to_ascii_lowercase(), content.clone())
}

fn python_hmac(secret: &str, body: &[u8]) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac,hashlib,sys;print(hmac.new(sys.argv[1].encode(),sys.stdin.buffer.read(),hashlib.sha256).hexdigest())",
            secret,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(body)?;
            child.wait_with_output()
        })
        .expect("python3 runs");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2xx_is_delivered_with_the_exact_body_and_every_header() {
    let component = load();
    let (url, mut seen) = receiver(Some(OK)).await;
    let delivery = request(&url, Some("s3cret"), json!([["X-Tenant", "acme"]]), 2000);
    let (kind, status) = outcome_kind(&deliver(&component, &delivery).await);
    assert_eq!((kind.as_str(), status), ("delivered", json!(200)));

    let seen = seen.recv().await.unwrap();
    assert!(seen.head.starts_with("POST /hook "), "{}", seen.head);
    assert_eq!(seen.body, delivery["body"].as_str().unwrap().as_bytes());
    assert_eq!(
        seen.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(seen.header("x-webhook-delivery").as_deref(), Some("d-1"));
    assert_eq!(seen.header("x-webhook-event").as_deref(), Some("message"));
    assert_eq!(
        seen.header("x-webhook-timestamp").as_deref(),
        Some("1700000000")
    );
    assert_eq!(seen.header("x-webhook-attempt").as_deref(), Some("2"));
    assert_eq!(seen.header("x-tenant").as_deref(), Some("acme"));
    assert!(
        seen.header("user-agent")
            .is_some_and(|ua| ua.starts_with("wa-gateway/")),
        "{}",
        seen.head
    );
    let expected = format!("sha256={}", python_hmac("s3cret", &seen.body));
    assert_eq!(seen.header("x-hub-signature-256"), Some(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_nothing_is_signed() {
    let component = load();
    let (url, mut seen) = receiver(Some(OK)).await;
    let (kind, _) = outcome_kind(&deliver(&component, &request(&url, None, json!([]), 2000)).await);
    assert_eq!(kind, "delivered");
    let seen = seen.recv().await.unwrap();
    assert_eq!(seen.header("x-hub-signature-256"), None, "{}", seen.head);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_and_retry_after_is_reported() {
    let component = load();
    let (url, _seen) = receiver(Some(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\nconnection: close\r\n\r\nboom",
    ))
    .await;
    let (kind, failure) =
        outcome_kind(&deliver(&component, &request(&url, None, json!([]), 2000)).await);
    assert_eq!(kind, "retry", "{failure}");
    assert_eq!(failure["status"], json!(500));

    let (url, _seen) = receiver(Some(
        "HTTP/1.1 503 Service Unavailable\r\nretry-after: 120\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    ))
    .await;
    let (kind, failure) =
        outcome_kind(&deliver(&component, &request(&url, None, json!([]), 2000)).await);
    assert_eq!(kind, "retry", "{failure}");
    assert_eq!(failure["status"], json!(503));
    assert_eq!(failure["retry_after_secs"], json!(120));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_is_rejected() {
    let component = load();
    let (url, _seen) = receiver(Some(
        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    ))
    .await;
    let (kind, failure) =
        outcome_kind(&deliver(&component, &request(&url, None, json!([]), 2000)).await);
    assert_eq!(kind, "reject", "{failure}");
    assert_eq!(failure["status"], json!(404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_is_a_retry_near_the_timeout() {
    let component = load();
    let (url, _seen) = receiver(None).await;
    let started = Instant::now();
    let http_request = http::Request::post("http://webhook-fanout.internal/deliver")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(&request(&url, None, json!([]), 1000)).unwrap(),
        )))
        .unwrap();
    // The component's own timeout answers a retry; the host's deadline (3 s)
    // is the safety net the connector turns into a retry too.
    let outcome = component.handle(http_request).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    if let Ok(response) = outcome {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let (kind, failure) = outcome_kind(&serde_json::from_slice(&body).unwrap());
        assert_eq!(kind, "retry", "{failure}");
        assert_eq!(failure["status"], Value::Null);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_a_retry_and_a_bad_url_a_reject() {
    let component = load();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let (kind, failure) =
        outcome_kind(&deliver(&component, &request(&url, None, json!([]), 2000)).await);
    assert_eq!(kind, "retry", "{failure}");

    let (kind, failure) = outcome_kind(
        &deliver(
            &component,
            &request("ftp://example/x", None, json!([]), 2000),
        )
        .await,
    );
    assert_eq!(kind, "reject", "{failure}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_that_would_override_the_signature_is_refused() {
    let component = load();
    let (url, _seen) = receiver(Some(OK)).await;
    let delivery = request(
        &url,
        Some("k"),
        json!([["X-Hub-Signature-256", "forged"]]),
        2000,
    );
    let (kind, failure) = outcome_kind(&deliver(&component, &delivery).await);
    assert_eq!(kind, "reject", "{failure}");
}
