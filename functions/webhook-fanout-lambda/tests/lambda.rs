//! The built fan-out binary as a child process against a Lambda Runtime API
//! emulator on loopback, with loopback servers playing the receivers, the
//! Parameters and Secrets extension and the connector. Signatures are checked
//! by Python's `hmac`, not by our own code.

mod support;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{Value, json};
use support::{Reply, Seen, Server, delivery, failures, message, python_signature, sqs_event};
use wa_testkit::lambda_runtime_api::{FunctionProcess, RuntimeApi};

const EXE: &str = env!("CARGO_BIN_EXE_webhook-fanout-lambda");
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);
const SECRET_ARN: &str =
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wa-gateway/webhook-secret-a1b2c3-XyZ123";
const TOKEN_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wa-gateway/internal-api-token-a1b2c3-QrS456";

/// How the fan-out asks the extension for `arn` (form-encoded `secretId`).
fn extension_target(arn: &str) -> String {
    format!(
        "/secretsmanager/get?secretId={}",
        arn.replace(':', "%3A").replace('/', "%2F")
    )
}

/// The Parameters and Secrets extension on loopback, holding `secrets`
/// (ARN, value) for callers presenting `session_token`; other secrets answer
/// 400 as the extension relays Secrets Manager's ResourceNotFoundException.
async fn extension(
    secrets: &'static [(&'static str, &'static str)],
    session_token: &'static str,
) -> Server {
    Server::start(move |seen: &Seen| -> Reply {
        if seen.header("x-aws-parameters-secrets-token") != Some(session_token) {
            return (401, vec![], "invalid or missing token".into());
        }
        let Some((arn, value)) = secrets
            .iter()
            .find(|(arn, _)| seen.target == extension_target(arn))
        else {
            return (
                400,
                vec![],
                "ResourceNotFoundException: Secrets Manager can't find the specified secret."
                    .into(),
            );
        };
        let answer = json!({
            "ARN": arn,
            "Name": arn.rsplit(':').next(),
            "VersionId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
            "SecretString": value,
            "VersionStages": ["AWSCURRENT"],
            "CreatedDate": "2026-11-29T00:13:56.000Z"
        });
        (
            200,
            vec![("content-type", "application/json".into())],
            answer.to_string(),
        )
    })
    .await
}

/// Receivers: `/ok` takes everything, `/busy` answers 503 with Retry-After
/// until `recovered` is set, anything else is 404.
async fn receivers(recovered: Arc<AtomicBool>) -> Server {
    Server::start(move |seen: &Seen| -> Reply {
        match seen.target.as_str() {
            "/ok" => (200, vec![], "thanks".into()),
            "/busy" if !recovered.load(Ordering::SeqCst) => {
                (503, vec![("retry-after", "5".into())], "busy".into())
            }
            "/busy" => (204, vec![], String::new()),
            _ => (404, vec![], "no such hook".into()),
        }
    })
    .await
}

fn body_of(request: &Value) -> &[u8] {
    request["body"].as_str().unwrap().as_bytes()
}

/// The one request `receiver` got at `path`, checked against `request` as
/// attempt `attempt`, signed with `key` (or unsigned).
fn assert_received(
    receiver: &Server,
    path: &str,
    request: &Value,
    attempt: u32,
    key: Option<&str>,
) {
    let seen = receiver.seen_at(path);
    let seen = seen
        .last()
        .unwrap_or_else(|| panic!("nothing reached {path}"));
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body, body_of(request), "{path}: the exact body");
    assert_eq!(
        seen.header("content-length"),
        Some(body_of(request).len().to_string().as_str())
    );
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.header("x-webhook-delivery"), request["id"].as_str());
    assert_eq!(seen.header("x-webhook-event"), Some("message"));
    assert_eq!(
        seen.header("x-webhook-attempt"),
        Some(attempt.to_string().as_str())
    );
    assert_eq!(seen.header("x-api-key"), Some("k-123"));
    match key {
        Some(key) => assert_eq!(
            seen.header("x-hub-signature-256"),
            Some(python_signature(key, &seen.body).as_str()),
            "{path}: signed with {key}"
        ),
        None => assert_eq!(seen.header("x-hub-signature-256"), None, "{path}: unsigned"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_retries_exactly_the_failed_receiver_and_a_redelivery_completes_it() {
    let recovered = Arc::new(AtomicBool::new(false));
    let receiver = receivers(Arc::clone(&recovered)).await;
    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(
        EXE,
        &api,
        "wa-gateway-webhook-fanout",
        &[("WHATSAPP_WEBHOOK_SECRET", "gateway-key")],
    );

    let ok = delivery("000000000001-aaaa", &receiver.url("/ok"), None, 1);
    let busy = delivery(
        "000000000002-bbbb",
        &receiver.url("/busy"),
        Some("receiver-key"),
        1,
    );
    let gone = delivery("000000000003-cccc", &receiver.url("/gone"), None, 1);
    let event = sqs_event(vec![
        message("m-ok", &ok.to_string(), 1),
        message("m-busy", &busy.to_string(), 1),
        message("m-gone", &gone.to_string(), 1),
    ]);
    let answer = api.invoke(&event, INVOCATION_TIMEOUT).await.response_json();
    assert_eq!(
        failures(&answer),
        ["m-busy"],
        "{answer}\n{}",
        function.logs()
    );
    assert_received(&receiver, "/ok", &ok, 1, Some("gateway-key"));
    assert_received(&receiver, "/busy", &busy, 1, Some("receiver-key"));
    assert_received(&receiver, "/gone", &gone, 1, Some("gateway-key"));
    let first = &receiver.seen_at("/ok")[0];
    assert_eq!(first.header("x-webhook-timestamp"), Some("1795902063"));

    // SQS hands the same message back after the visibility timeout; the
    // receiver is up again: the same delivery id, the next attempt number.
    recovered.store(true, Ordering::SeqCst);
    let before = unix_now();
    let answer = api
        .invoke(
            &sqs_event(vec![message("m-busy", &busy.to_string(), 2)]),
            INVOCATION_TIMEOUT,
        )
        .await
        .response_json();
    assert_eq!(failures(&answer), Vec::<String>::new(), "{answer}");
    assert_eq!(receiver.seen_at("/busy").len(), 2);
    assert_received(&receiver, "/busy", &busy, 2, Some("receiver-key"));
    let stamp: u64 = receiver.seen_at("/busy")[1]
        .header("x-webhook-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (before..=unix_now()).contains(&stamp),
        "a redelivery is stamped when made"
    );
    assert_eq!(receiver.seen().len(), 4, "nothing else was sent again");
    assert_eq!(api.init_errors(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_is_not_a_delivery_is_dropped_and_logged() {
    let receiver = receivers(Arc::new(AtomicBool::new(true))).await;
    let api = RuntimeApi::start().await;
    let mut function = FunctionProcess::spawn(EXE, &api, "wa-gateway-webhook-fanout", &[]);

    let ok = delivery("000000000004-dddd", &receiver.url("/ok"), None, 1);
    let event = sqs_event(vec![
        message("m-garbage", "definitely not JSON", 1),
        message(
            "m-half",
            r#"{"id":"000000000005-eeee","url":"http://x"}"#,
            1,
        ),
        message("m-ok", &ok.to_string(), 1),
    ]);
    let answer = api.invoke(&event, INVOCATION_TIMEOUT).await.response_json();
    assert_eq!(failures(&answer), Vec::<String>::new(), "{answer}");
    assert_received(&receiver, "/ok", &ok, 1, None);
    assert_eq!(receiver.seen().len(), 1);
    let logs = function.logs();
    for id in ["m-garbage", "m-half"] {
        assert!(
            logs.lines().any(|line| line.contains("ERROR")
                && line.contains(id)
                && line.contains("not a delivery-request")),
            "no error line names {id}:\n{logs}"
        );
    }
    assert!(function.is_running(), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_key_comes_from_the_secrets_extension_once_or_from_the_environment() {
    let receiver = receivers(Arc::new(AtomicBool::new(true))).await;
    let extension = extension(
        &[(SECRET_ARN, "key-from-secrets-manager")],
        "session-token-1",
    )
    .await;
    let port = extension.port().to_string();
    let extension_env = |token: &'static str| {
        vec![
            ("WHATSAPP_WEBHOOK_SECRET_ARN", SECRET_ARN),
            ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.as_str()),
            ("AWS_SESSION_TOKEN", token),
            // Ignored: the ARN wins.
            ("WHATSAPP_WEBHOOK_SECRET", "env-key"),
        ]
    };

    // Deployed: the key is read through the extension, once.
    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(
        EXE,
        &api,
        "wa-gateway-webhook-fanout",
        &extension_env("session-token-1"),
    );
    for n in 1..=2 {
        let request = delivery(
            &format!("00000000001{n}-ffff"),
            &receiver.url("/ok"),
            None,
            1,
        );
        let answer = api
            .invoke(
                &sqs_event(vec![message(&format!("m-{n}"), &request.to_string(), 1)]),
                INVOCATION_TIMEOUT,
            )
            .await
            .response_json();
        assert_eq!(
            failures(&answer),
            Vec::<String>::new(),
            "{answer}\n{}",
            function.logs()
        );
        assert_received(
            &receiver,
            "/ok",
            &request,
            1,
            Some("key-from-secrets-manager"),
        );
    }
    let asked = extension.seen();
    assert_eq!(asked.len(), 1, "read once per execution environment");
    assert_eq!(asked[0].method, "GET");
    assert_eq!(asked[0].target, extension_target(SECRET_ARN));

    // The extension refuses (here: a wrong session token): deliveries that
    // need the key are not sent unsigned but come back; those with their own
    // key go out.
    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(
        EXE,
        &api,
        "wa-gateway-webhook-fanout",
        &extension_env("stale-token"),
    );
    let needs_key = delivery("000000000021-gggg", &receiver.url("/ok"), None, 1);
    let own_key = delivery("000000000022-hhhh", &receiver.url("/ok"), Some("own"), 1);
    let sent_before = receiver.seen().len();
    let answer = api
        .invoke(
            &sqs_event(vec![
                message("m-needs-key", &needs_key.to_string(), 1),
                message("m-own-key", &own_key.to_string(), 1),
            ]),
            INVOCATION_TIMEOUT,
        )
        .await
        .response_json();
    assert_eq!(failures(&answer), ["m-needs-key"], "{answer}");
    assert_eq!(receiver.seen().len(), sent_before + 1);
    assert_received(&receiver, "/ok", &own_key, 1, Some("own"));
    assert!(function.logs().contains("401"), "{}", function.logs());

    // Local runs: the key from the environment, or none at all.
    for (env, key) in [
        (
            vec![("WHATSAPP_WEBHOOK_SECRET", "env-key")],
            Some("env-key"),
        ),
        (vec![], None),
    ] {
        let api = RuntimeApi::start().await;
        let _function = FunctionProcess::spawn(EXE, &api, "wa-gateway-webhook-fanout", &env);
        let request = delivery("000000000031-iiii", &receiver.url("/ok"), None, 1);
        let answer = api
            .invoke(
                &sqs_event(vec![message("m-local", &request.to_string(), 1)]),
                INVOCATION_TIMEOUT,
            )
            .await
            .response_json();
        assert_eq!(failures(&answer), Vec::<String>::new());
        assert_received(&receiver, "/ok", &request, 1, key);
    }
}

/// A connector's `webhooks/report-outcome`, as `docs/internal-api.md`
/// describes it: bearer token, an attempt recorded only when it is the
/// delivery's next one, the delivery answered as it now stands.
struct Connector {
    server: Server,
    /// Delivery id -> (attempts recorded, state).
    deliveries: Arc<Mutex<HashMap<String, (u32, &'static str)>>>,
}

impl Connector {
    /// `known`: deliveries with attempts the connector made itself.
    async fn start(fail_next_report_of: &'static str, known: &[(&str, u32)]) -> Self {
        let deliveries: Arc<Mutex<HashMap<String, (u32, &'static str)>>> = Arc::new(Mutex::new(
            known
                .iter()
                .map(|(id, attempts)| (id.to_string(), (*attempts, "Pending")))
                .collect(),
        ));
        let fail_once = Arc::new(AtomicBool::new(true));
        let server = Server::start({
            let deliveries = Arc::clone(&deliveries);
            move |seen: &Seen| -> Reply {
                if seen.target != "/internal/v1/webhooks/report-outcome" {
                    return (404, vec![], r#"{"error":"unknown function"}"#.into());
                }
                if seen.header("authorization") != Some("Bearer internal-token") {
                    return (401, vec![], r#"{"error":"missing or wrong token"}"#.into());
                }
                let (id, attempt, outcome): (String, u32, Value) =
                    serde_json::from_slice(&seen.body).expect("[id, attempt, outcome]");
                if id == fail_next_report_of && fail_once.swap(false, Ordering::SeqCst) {
                    return (503, vec![], r#"{"error":"database unavailable"}"#.into());
                }
                if id.ends_with("-gone") {
                    let err = json!({"Err": {"NotFound": format!("delivery `{id}` not found")}});
                    return (200, vec![], err.to_string());
                }
                let mut deliveries = deliveries.lock().unwrap();
                let entry = deliveries.entry(id.clone()).or_insert((0, "Pending"));
                if entry.1 == "Pending" && attempt == entry.0 + 1 {
                    let state = match outcome.as_object().and_then(|o| o.keys().next()) {
                        Some(k) if k == "Delivered" => "Delivered",
                        Some(k) if k == "Reject" => "Dead",
                        _ => "Pending",
                    };
                    *entry = (attempt, state);
                }
                let delivery = json!({"Ok": {
                    "id": id, "event_seq": 7, "event_name": "message", "account": "main",
                    "url": "http://receiver", "state": entry.1, "attempts": entry.0,
                    "last_status": null, "last_error": null, "next_attempt_at": null,
                    "created_at": 1795902063215u64, "updated_at": 1795902063215u64,
                }});
                (
                    200,
                    vec![("content-type", "application/json".into())],
                    delivery.to_string(),
                )
            }
        })
        .await;
        Self { server, deliveries }
    }

    /// The report bodies received, in order.
    fn reports(&self) -> Vec<Value> {
        self.server.seen().iter().map(Seen::json).collect()
    }

    fn state(&self, id: &str) -> Option<(u32, &'static str)> {
        self.deliveries.lock().unwrap().get(id).copied()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_are_reported_to_the_connector_which_keeps_the_schedule_and_a_failed_report_brings_the_message_back()
 {
    let recovered = Arc::new(AtomicBool::new(false));
    let receiver = receivers(Arc::clone(&recovered)).await;
    // The busy delivery's attempts 1 and 2 were the connector's own.
    let connector = Connector::start("000000000044-flaky", &[("000000000042-busy", 2)]).await;
    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(
        EXE,
        &api,
        "wa-gateway-webhook-fanout",
        &[
            ("CONNECTOR_URL", connector.server.url("/").as_str()),
            ("CONNECTOR_TOKEN", "internal-token"),
            ("WEBHOOK_CONCURRENT_DELIVERIES", "2"),
        ],
    );

    let ok = delivery("000000000041-ok", &receiver.url("/ok"), None, 1);
    let busy = delivery("000000000042-busy", &receiver.url("/busy"), None, 3);
    let gone = delivery("000000000043-404", &receiver.url("/gone"), None, 1);
    let flaky = delivery("000000000044-flaky", &receiver.url("/ok"), None, 1);
    let answer = api
        .invoke(
            &sqs_event(vec![
                message("m-ok", &ok.to_string(), 1),
                message("m-busy", &busy.to_string(), 1),
                message("m-gone", &gone.to_string(), 1),
                message("m-flaky", &flaky.to_string(), 1),
            ]),
            INVOCATION_TIMEOUT,
        )
        .await
        .response_json();
    assert_eq!(
        failures(&answer),
        ["m-flaky"],
        "{answer}\n{}",
        function.logs()
    );
    let mut reports = connector.reports();
    reports.sort_by_key(|r| r[0].as_str().unwrap().to_owned());
    assert_eq!(
        reports,
        vec![
            json!(["000000000041-ok", 1, {"Delivered": 200}]),
            json!(["000000000042-busy", 3, {"Retry": {"status": 503,
                "reason": "the receiver answered 503: busy", "retry_after_secs": 5}}]),
            json!(["000000000043-404", 1, {"Reject": {"status": 404,
                "reason": "the receiver answered 404; not retried: no such hook",
                "retry_after_secs": null}}]),
            json!(["000000000044-flaky", 1, {"Delivered": 200}]),
        ]
    );
    for seen in connector.server.seen() {
        assert_eq!(seen.header("authorization"), Some("Bearer internal-token"));
        assert_eq!(seen.header("content-type"), Some("application/json"));
    }
    assert_eq!(connector.state("000000000041-ok"), Some((1, "Delivered")));
    assert_eq!(connector.state("000000000042-busy"), Some((3, "Pending")));
    assert_eq!(connector.state("000000000043-404"), Some((1, "Dead")));
    assert_eq!(
        connector.state("000000000044-flaky"),
        None,
        "its report failed"
    );

    // The retry was reported, so the connector queues attempt 4 itself; the
    // flaky message comes back and the same attempt is made and reported
    // again. A delivery the connector no longer has is not retried.
    recovered.store(true, Ordering::SeqCst);
    let busy = delivery("000000000042-busy", &receiver.url("/busy"), None, 4);
    let vanished = delivery("000000000045-gone", &receiver.url("/ok"), None, 1);
    let answer = api
        .invoke(
            &sqs_event(vec![
                message("m-busy-4", &busy.to_string(), 1),
                message("m-flaky", &flaky.to_string(), 2),
                message("m-vanished", &vanished.to_string(), 1),
            ]),
            INVOCATION_TIMEOUT,
        )
        .await
        .response_json();
    assert_eq!(
        failures(&answer),
        Vec::<String>::new(),
        "{answer}\n{}",
        function.logs()
    );
    assert_eq!(connector.state("000000000042-busy"), Some((4, "Delivered")));
    assert_eq!(
        connector.state("000000000044-flaky"),
        Some((1, "Delivered"))
    );
    let flaky_reports: Vec<Value> = connector
        .reports()
        .into_iter()
        .filter(|r| r[0] == "000000000044-flaky")
        .collect();
    assert_eq!(
        flaky_reports,
        vec![
            json!(["000000000044-flaky", 1, {"Delivered": 200}]),
            json!(["000000000044-flaky", 1, {"Delivered": 200}]),
        ]
    );
    assert_received(&receiver, "/busy", &busy, 4, None);
    let flaky_sent = receiver
        .seen_at("/ok")
        .into_iter()
        .filter(|s| s.header("x-webhook-delivery") == Some("000000000044-flaky"))
        .map(|s| s.header("x-webhook-attempt").unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(
        flaky_sent,
        ["1", "1"],
        "a redelivery re-makes the same attempt"
    );
    assert!(
        function.logs().contains("000000000045-gone"),
        "{}",
        function.logs()
    );

    // A connector that does not take the token: every outcome comes back.
    let api = RuntimeApi::start().await;
    let _function = FunctionProcess::spawn(
        EXE,
        &api,
        "wa-gateway-webhook-fanout",
        &[
            ("CONNECTOR_URL", connector.server.url("").as_str()),
            ("CONNECTOR_TOKEN", "wrong-token"),
        ],
    );
    let answer = api
        .invoke(
            &sqs_event(vec![message("m-ok-again", &ok.to_string(), 2)]),
            INVOCATION_TIMEOUT,
        )
        .await
        .response_json();
    assert_eq!(failures(&answer), ["m-ok-again"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_token_comes_from_the_secrets_extension_like_the_gateway_key() {
    let receiver = receivers(Arc::new(AtomicBool::new(true))).await;
    // The connector answers 401 to any token but `internal-token`.
    let connector = Connector::start("no-such-delivery", &[]).await;
    let extension = extension(
        &[
            (SECRET_ARN, "key-from-secrets-manager"),
            (TOKEN_ARN, "internal-token"),
        ],
        "session-token-1",
    )
    .await;
    let port = extension.port().to_string();
    let url = connector.server.url("/");
    let deployed = |token_arn: &'static str| {
        vec![
            ("WHATSAPP_WEBHOOK_SECRET_ARN", SECRET_ARN),
            ("CONNECTOR_TOKEN_ARN", token_arn),
            ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.as_str()),
            ("AWS_SESSION_TOKEN", "session-token-1"),
            ("CONNECTOR_URL", url.as_str()),
            // Ignored: the ARN wins, as for the gateway key.
            ("CONNECTOR_TOKEN", "env-token"),
        ]
    };

    // Deployed: both secrets through the extension, each read once; every
    // report carries the token from Secrets Manager.
    let api = RuntimeApi::start().await;
    let function =
        FunctionProcess::spawn(EXE, &api, "wa-gateway-webhook-fanout", &deployed(TOKEN_ARN));
    for n in 1..=2 {
        let id = format!("00000000005{n}-tok");
        let request = delivery(&id, &receiver.url("/ok"), None, 1);
        let answer = api
            .invoke(
                &sqs_event(vec![message(&format!("m-{n}"), &request.to_string(), 1)]),
                INVOCATION_TIMEOUT,
            )
            .await
            .response_json();
        assert_eq!(
            failures(&answer),
            Vec::<String>::new(),
            "{answer}\n{}",
            function.logs()
        );
        assert_received(
            &receiver,
            "/ok",
            &request,
            1,
            Some("key-from-secrets-manager"),
        );
        assert_eq!(connector.state(&id), Some((1, "Delivered")));
    }
    let reports = connector.server.seen();
    assert_eq!(reports.len(), 2);
    for report in &reports {
        assert_eq!(
            report.header("authorization"),
            Some("Bearer internal-token")
        );
    }
    let mut asked: Vec<String> = extension.seen().into_iter().map(|s| s.target).collect();
    asked.sort();
    let mut expected = vec![extension_target(SECRET_ARN), extension_target(TOKEN_ARN)];
    expected.sort();
    assert_eq!(
        asked, expected,
        "each secret read once per execution environment"
    );

    // A token the extension cannot give (here: no such secret, as with a
    // missing permission): no attempt is made, since its outcome could not
    // be reported; the message comes back. The gateway key is not the reason:
    // this delivery has its own.
    let api = RuntimeApi::start().await;
    let function = FunctionProcess::spawn(
        EXE,
        &api,
        "wa-gateway-webhook-fanout",
        &deployed("arn:aws:secretsmanager:eu-west-1:123456789012:secret:gone-000000"),
    );
    let sent_before = receiver.seen().len();
    let own_key = delivery("000000000061-tok", &receiver.url("/ok"), Some("own"), 1);
    let answer = api
        .invoke(
            &sqs_event(vec![message("m-no-token", &own_key.to_string(), 1)]),
            INVOCATION_TIMEOUT,
        )
        .await
        .response_json();
    assert_eq!(failures(&answer), ["m-no-token"], "{answer}");
    assert_eq!(receiver.seen().len(), sent_before, "nothing was sent");
    assert_eq!(connector.server.seen().len(), 2, "nothing was reported");
    let logs = function.logs();
    assert!(
        logs.contains("connector token cannot be read") && logs.contains("400"),
        "{logs}"
    );
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
