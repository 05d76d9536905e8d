//! A local AWS Lambda Runtime API, served on loopback by the test itself, and
//! a handle on a Lambda binary running against it as a real child process.
//!
//! It implements the documented interface a custom runtime (here
//! `lambda_runtime`) talks to: `GET /2018-06-01/runtime/invocation/next`
//! (long-polls until the test calls [`RuntimeApi::invoke`], then answers
//! with the event and the `Lambda-Runtime-*` headers), `POST
//! …/invocation/{id}/response`, `POST …/invocation/{id}/error` and `POST
//! /2018-06-01/runtime/init/error`. Payloads are arbitrary JSON, so queue
//! batches and S3 events go through the same [`RuntimeApi::invoke`].
//!
//! Behind the crate's `lambda` feature. Use:
//! ```ignore
//! use wa_testkit::lambda_runtime_api::{FunctionProcess, RuntimeApi};
//! let api = RuntimeApi::start().await;
//! let function = FunctionProcess::spawn(env!("CARGO_BIN_EXE_x"), &api, "x", &[]);
//! let outcome = api.invoke(&json!({...}), Duration::from_secs(30)).await;
//! let body = outcome.response_json(); // or outcome.error()
//! ```

use std::{
    collections::HashMap,
    convert::Infallible,
    fs::File,
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    Method, Request, Response, StatusCode, body::Incoming, server::conn::http1, service::service_fn,
};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

const PREFIX: &str = "/2018-06-01/runtime/";
/// Extra time, after an invocation's deadline, that [`RuntimeApi::invoke`]
/// waits for an answer before failing the test.
const ANSWER_GRACE: Duration = Duration::from_secs(10);

/// An error a function reported through `/error` or `/init/error`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorReport {
    /// The `Lambda-Runtime-Function-Error-Type` header, if sent.
    pub header_type: Option<String>,
    /// `errorType` from the JSON body.
    pub error_type: String,
    /// `errorMessage` from the JSON body.
    pub error_message: String,
    /// The whole body as sent.
    pub body: Value,
}

/// How the function answered one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Posted to `/invocation/{id}/response`; the raw body.
    Response(Bytes),
    /// Posted to `/invocation/{id}/error`.
    Error(ErrorReport),
}

impl Outcome {
    /// The response body as JSON; panics (failing the test) on an error.
    pub fn response_json(&self) -> Value {
        match self {
            Self::Response(body) => serde_json::from_slice(body).expect("response is JSON"),
            Self::Error(report) => panic!("expected a response, got an error: {report:?}"),
        }
    }

    /// The error report; panics (failing the test) on a response.
    pub fn error(&self) -> &ErrorReport {
        match self {
            Self::Error(report) => report,
            Self::Response(body) => panic!(
                "expected an error, got a response: {}",
                String::from_utf8_lossy(body)
            ),
        }
    }
}

/// One queued event, handed out by `/invocation/next`.
#[derive(Debug)]
struct Pending {
    request_id: String,
    deadline_ms: u128,
    payload: Bytes,
}

#[derive(Debug)]
struct State {
    function_arn: Mutex<String>,
    next_id: AtomicU64,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    answers: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_errors: Mutex<Vec<ErrorReport>>,
}

/// The emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RuntimeApi {
    address: SocketAddr,
    state: Arc<State>,
    queue_tx: mpsc::UnboundedSender<Pending>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Binds `127.0.0.1` on a free port and starts serving.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            function_arn: Mutex::new(function_arn("test-function")),
            next_id: AtomicU64::new(1),
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            answers: Mutex::new(HashMap::new()),
            init_errors: Mutex::new(Vec::new()),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&state)));
        Self {
            address,
            state,
            queue_tx,
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The environment Lambda gives a function named `function_name`
    /// (also sets the ARN that invocations report).
    pub fn lambda_env(&self, function_name: &str) -> Vec<(String, String)> {
        *self.state.function_arn.lock().unwrap() = function_arn(function_name);
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/01/[$LATEST]test".to_owned(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            ),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }

    /// Queues `payload` as an invocation with `timeout` until its deadline,
    /// and waits for the function's answer. Panics (failing the test) when no
    /// answer comes within the deadline plus a grace period.
    pub async fn invoke(&self, payload: &Value, timeout: Duration) -> Outcome {
        let n = self.state.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("00000000-0000-4000-8000-{n:012}");
        let (answer_tx, answer_rx) = oneshot::channel();
        self.state
            .answers
            .lock()
            .unwrap()
            .insert(request_id.clone(), answer_tx);
        let deadline = SystemTime::now() + timeout;
        self.queue_tx
            .send(Pending {
                request_id: request_id.clone(),
                deadline_ms: deadline.duration_since(UNIX_EPOCH).unwrap().as_millis(),
                payload: Bytes::from(serde_json::to_vec(payload).unwrap()),
            })
            .expect("emulator running");
        match tokio::time::timeout(timeout + ANSWER_GRACE, answer_rx).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!("no answer to invocation {request_id} within {timeout:?} + grace"),
        }
    }

    /// Errors reported to `/init/error` so far.
    pub fn init_errors(&self) -> Vec<ErrorReport> {
        self.state.init_errors.lock().unwrap().clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:000000000000:function:{name}")
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |request| route(Arc::clone(&state), request));
            // A function killed mid-poll drops its connection; that is fine.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Reply = Response<Full<Bytes>>;

async fn route(state: Arc<State>, request: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            json!({"errorMessage": "unknown path"}),
        ));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let reply = match (request.method().clone(), segments.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(&state).await,
        (Method::POST, ["invocation", id, "response"]) => {
            let body = body_of(request).await;
            answer(&state, id, Outcome::Response(body))
        }
        (Method::POST, ["invocation", id, "error"]) => {
            let report = error_report(request).await;
            answer(&state, id, Outcome::Error(report))
        }
        (Method::POST, ["init", "error"]) => {
            let report = error_report(request).await;
            state.init_errors.lock().unwrap().push(report);
            accepted()
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            json!({"errorMessage": "unknown path"}),
        ),
    };
    Ok(reply)
}

/// Long-polls for the next queued invocation, as the real API does.
async fn next(state: &State) -> Reply {
    let Some(pending) = state.queue_rx.lock().await.recv().await else {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"errorMessage": "stopped"}),
        );
    };
    let arn = state.function_arn.lock().unwrap().clone();
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("Lambda-Runtime-Aws-Request-Id", &pending.request_id)
        .header(
            "Lambda-Runtime-Deadline-Ms",
            pending.deadline_ms.to_string(),
        )
        .header("Lambda-Runtime-Invoked-Function-Arn", arn)
        .header(
            "Lambda-Runtime-Trace-Id",
            format!(
                "Root=1-00000000-{:024x};Parent=0000000000000001;Sampled=0",
                pending.deadline_ms
            ),
        )
        .body(Full::new(pending.payload))
        .unwrap()
}

fn answer(state: &State, id: &str, outcome: Outcome) -> Reply {
    match state.answers.lock().unwrap().remove(id) {
        Some(waiter) => {
            let _ = waiter.send(outcome);
            accepted()
        }
        None => reply(
            StatusCode::BAD_REQUEST,
            json!({"errorType": "InvalidRequestID", "errorMessage": format!("unknown or answered request id {id}")}),
        ),
    }
}

async fn error_report(request: Request<Incoming>) -> ErrorReport {
    let header_type = request
        .headers()
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body: Value = serde_json::from_slice(&body_of(request).await).unwrap_or(Value::Null);
    ErrorReport {
        header_type,
        error_type: body["errorType"].as_str().unwrap_or_default().to_owned(),
        error_message: body["errorMessage"].as_str().unwrap_or_default().to_owned(),
        body,
    }
}

async fn body_of(request: Request<Incoming>) -> Bytes {
    request
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default()
}

fn accepted() -> Reply {
    reply(StatusCode::ACCEPTED, json!({"status": "OK"}))
}

fn reply(status: StatusCode, body: Value) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// A Lambda binary running as a child process against a [`RuntimeApi`].
/// Its stdout and stderr go to a log file (see [`FunctionProcess::logs`]);
/// dropping it kills the process.
#[derive(Debug)]
pub struct FunctionProcess {
    child: Child,
    log_path: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl FunctionProcess {
    /// Starts `exe` with the Lambda environment for `function_name` plus `env`.
    pub fn spawn(exe: &str, api: &RuntimeApi, function_name: &str, env: &[(&str, &str)]) -> Self {
        let log_dir = tempfile::tempdir().unwrap();
        let log_path = log_dir.path().join("function.log");
        let log = File::create(&log_path).unwrap();
        let child = Command::new(exe)
            .envs(api.lambda_env(function_name))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {exe}: {error}"));
        Self {
            child,
            log_path,
            _log_dir: log_dir,
        }
    }

    /// Everything the function printed so far (for assertion messages).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
