//! What the fan-out's tests run against: loopback HTTP servers playing the
//! receivers, the secrets extension and the connector, and payloads in the
//! shapes AWS and the connector send.
#![allow(dead_code)]

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

/// One request a [`Server`] received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An answer: status, headers, body.
pub type Reply = (u16, Vec<(&'static str, String)>, String);

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// An HTTP/1.1 server on a free loopback port that records every request and
/// answers what its handler says.
pub struct Server {
    address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl Server {
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let (seen, handler) = (Arc::clone(&seen), Arc::clone(&handler));
                    tokio::spawn(async move {
                        let service = service_fn(move |request| {
                            answer(Arc::clone(&seen), Arc::clone(&handler), request)
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Self {
            address,
            seen,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The requests to `path` (without query).
    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|seen| seen.target.split('?').next() == Some(path))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    seen: Arc<Mutex<Vec<Seen>>>,
    handler: Arc<Handler>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().to_string();
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let request = Seen {
        method,
        target,
        headers,
        body,
    };
    let (status, headers, body) = handler(&request);
    seen.lock().unwrap().push(request);
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    Ok(response.body(Full::new(Bytes::from(body))).unwrap())
}

/// What Python's standard library computes: the independent check of a
/// signature (`hmac.new(key, body, sha256).hexdigest()`) or of `md5OfBody`.
pub fn python(program: &str, arg: &str, input: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", program, arg])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `sha256=<hex>` as Python's `hmac` computes it.
pub fn python_signature(secret: &str, body: &[u8]) -> String {
    let hex = python(
        "import hmac,hashlib,sys;print(hmac.new(sys.argv[1].encode(),sys.stdin.buffer.read(),hashlib.sha256).hexdigest())",
        secret,
        body,
    );
    format!("sha256={hex}")
}

/// A `delivery-request` as the connector queues it (WIT record, snake case).
pub fn delivery(id: &str, url: &str, secret: Option<&str>, attempt: u32) -> Value {
    let body = json!({
        "event": "message",
        "device_id": "6281234567890@s.whatsapp.net",
        "session_id": "main",
        "payload": {"id": id, "body": "héllo \"quoted\" ✓", "from": "6289876543210@s.whatsapp.net"},
    })
    .to_string();
    json!({
        "id": id,
        "url": url,
        "body": body,
        "event": "message",
        "secret": secret,
        "headers": [["X-Api-Key", "k-123"]],
        "timestamp": 1_795_902_063u64,
        "timeout_ms": 5_000,
        "attempt": attempt,
    })
}

/// One message of an SQS event, in the shape of AWS's documented example.
pub fn message(message_id: &str, body: &str, receive_count: u32) -> Value {
    let md5 = python(
        "import hashlib,sys;print(hashlib.md5(sys.stdin.buffer.read()).hexdigest())",
        "",
        body.as_bytes(),
    );
    json!({
        "messageId": message_id,
        "receiptHandle": format!("AQEB{message_id}Hx1bB3NlbnQ="),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": receive_count.to_string(),
            "SentTimestamp": "1795902063183",
            "SenderId": "AROAEXAMPLE:wa-connector",
            "ApproximateFirstReceiveTimestamp": "1795902063185"
        },
        "messageAttributes": {},
        "md5OfBody": md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:wa-gateway-events",
        "awsRegion": "eu-west-1"
    })
}

/// An SQS event of `messages`.
pub fn sqs_event(messages: Vec<Value>) -> Value {
    json!({ "Records": messages })
}

/// The message ids a batch answer names in `batchItemFailures`.
pub fn failures(answer: &Value) -> Vec<String> {
    let mut ids: Vec<String> = answer["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {answer}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}
