//! A webhook receiver on loopback whose behaviour a test scripts: answer with
//! a status, fail a number of times first, or hang (so the sender times out).
//! It records every request it read.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Answer this status.
    Status(u16),
    /// Answer 503 with `Retry-After: <secs>`.
    RetryAfter(u32),
    /// Never answer.
    Hang,
}

/// One request the receiver read.
#[derive(Debug, Clone)]
pub struct Received {
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The exact body.
    pub body: Vec<u8>,
    /// The status it was answered with (none when it hung).
    pub answered: Option<u16>,
}

impl Received {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("webhook bodies are JSON")
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    default: Option<Reply>,
    received: Vec<Received>,
}

/// The running receiver.
#[derive(Clone)]
pub struct Receiver {
    /// Where it listens.
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    /// Starts a receiver that answers 200 unless scripted otherwise.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: http::Request<hyper::body::Incoming>| {
                            let state = state.clone();
                            async move {
                                let headers = request
                                    .headers()
                                    .iter()
                                    .map(|(k, v)| {
                                        (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                                    })
                                    .collect();
                                let body = request.into_body().collect().await.unwrap().to_bytes();
                                let reply = {
                                    let mut s = state.lock().unwrap();
                                    let reply = s
                                        .script
                                        .pop_front()
                                        .or(s.default)
                                        .unwrap_or(Reply::Status(200));
                                    s.received.push(Received {
                                        headers,
                                        body: body.to_vec(),
                                        answered: match reply {
                                            Reply::Status(code) => Some(code),
                                            Reply::RetryAfter(_) => Some(503),
                                            Reply::Hang => None,
                                        },
                                    });
                                    reply
                                };
                                let mut response =
                                    http::Response::new(Full::new(Bytes::from_static(b"ok")));
                                match reply {
                                    Reply::Status(code) => {
                                        *response.status_mut() =
                                            http::StatusCode::from_u16(code).unwrap();
                                    }
                                    Reply::RetryAfter(secs) => {
                                        *response.status_mut() =
                                            http::StatusCode::SERVICE_UNAVAILABLE;
                                        response.headers_mut().insert(
                                            http::header::RETRY_AFTER,
                                            secs.to_string().parse().unwrap(),
                                        );
                                    }
                                    Reply::Hang => {
                                        tokio::time::sleep(Duration::from_secs(3600)).await
                                    }
                                }
                                Ok::<_, Infallible>(response)
                            }
                        });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { address, state }
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    /// The next requests get these answers, in order.
    pub fn script(&self, replies: &[Reply]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(replies.iter().copied());
    }

    /// Requests past the script get this answer.
    pub fn set_default(&self, reply: Reply) {
        self.state.lock().unwrap().default = Some(reply);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Distinct deliveries (by `X-Webhook-Delivery`) answered 200 so far.
    pub fn delivered(&self) -> usize {
        let mut ids: Vec<String> = self
            .received()
            .iter()
            .filter(|r| r.answered == Some(200))
            .filter_map(|r| r.header("x-webhook-delivery").map(str::to_owned))
            .collect();
        ids.sort();
        ids.dedup();
        ids.len()
    }

    /// Waits until a received request satisfies `pred`; returns it.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&Received) -> bool) -> Received {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.received().into_iter().find(|r| pred(r)) {
                return found;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no matching webhook within {timeout:?}; got: {:?}",
                self.received()
                    .iter()
                    .map(|r| String::from_utf8_lossy(&r.body).into_owned())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `sha256=<hex>` of `body` under `secret`, computed by Python's `hmac` module:
/// an implementation independent of the gateway's.
pub fn python_signature(secret: &str, body: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; \
             print('sha256=' + hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
            secret,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is installed");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}
