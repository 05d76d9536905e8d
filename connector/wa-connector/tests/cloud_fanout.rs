//! The cloud mode's webhook path end to end: the real `wa-connector serve`
//! (with `WEBHOOK_QUEUE_URL`) queues attempts on an SQS-compatible server
//! (moto, `infra/sqs.sh`); the test plays Lambda's event source mapping —
//! receive a batch, invoke the real `webhook-fanout-lambda` binary through a
//! Runtime API emulator with the SQS event, delete what the function did not
//! report as failed — and the function posts to a real receiver and reports
//! each outcome to the connector's internal endpoint, which keeps the schedule
//! (retry with back-off, then delivered).

mod support;

use std::time::Duration;

use aws_sdk_sqs::Client;
use serde_json::{Value, json};
use support::gateway::Gateway;
use support::receiver::{Receiver, Reply, python_signature};
use wa_testkit::lambda_runtime_api::{FunctionProcess, RuntimeApi};
use wa_testkit::required_env;

const ANN: &str = "15550500001";
const BOB: &str = "15550500002";
const SECRET: &str = "cloud-webhook-secret";
const TOKEN: &str = "cloud-internal-token-0123456789";
const LONG: Duration = Duration::from_secs(60);

/// The fan-out Lambda binary (built with the workspace's tests).
fn lambda_binary() -> String {
    std::env::var("WA_FANOUT_LAMBDA").unwrap_or_else(|_| {
        let deps = std::env::current_exe().unwrap();
        let dir = deps.parent().unwrap().parent().unwrap();
        let exe = dir.join("webhook-fanout-lambda");
        assert!(
            exe.exists(),
            "{} is missing: cargo build -p webhook-fanout-lambda (or set WA_FANOUT_LAMBDA)",
            exe.display()
        );
        exe.display().to_string()
    })
}

async fn sqs(endpoint: &str, region: &str) -> Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    Client::new(&config)
}

/// One poll of Lambda's event source mapping: receive up to ten messages,
/// invoke the function with them as AWS shapes an SQS event, delete the ones
/// not named in `batchItemFailures`. Returns how many were handed over.
async fn pump(client: &Client, queue_url: &str, api: &RuntimeApi) -> usize {
    let received = client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return 0;
    }
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185"
                },
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:wa-events",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    let outcome = api
        .invoke(&json!({ "Records": records }), Duration::from_secs(60))
        .await;
    let answer = outcome.response_json();
    let failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|i| i["itemIdentifier"].as_str())
                .collect()
        })
        .unwrap_or_default();
    for m in &messages {
        if !failed.contains(&m.message_id().unwrap_or_default()) {
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    messages.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_attempts_reach_the_receiver_through_the_lambda_and_are_settled_by_reports() {
    let endpoint = required_env("WA_TEST_SQS_ENDPOINT");
    let region = required_env("WA_TEST_SQS_REGION");
    let client = sqs(&endpoint, &region).await;
    let queue_url = client
        .create_queue()
        .queue_name(format!("wa-events-{}", std::process::id()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();

    let receiver = Receiver::start().await;
    // The first attempt fails: the connector schedules the next one from the report.
    receiver.script(&[Reply::RetryAfter(1)]);
    let gw = Gateway::start(
        "cloud-fanout",
        &[
            ("WHATSAPP_WEBHOOK", &receiver.url()),
            ("WHATSAPP_WEBHOOK_SECRET", SECRET),
            ("WHATSAPP_WEBHOOK_EVENTS", "message"),
            ("INTERNAL_API_TOKEN", TOKEN),
            ("WEBHOOK_QUEUE_URL", &queue_url),
            ("AWS_ENDPOINT_URL_SQS", &endpoint),
            ("AWS_REGION", &region),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    let api = RuntimeApi::start().await;
    let lambda = FunctionProcess::spawn(
        &lambda_binary(),
        &api,
        "wa-webhook-fanout",
        &[("CONNECTOR_URL", &gw.base), ("CONNECTOR_TOKEN", TOKEN)],
    );

    let id = gw.send_text("ann", BOB, "through the queue").await;
    let deadline = tokio::time::Instant::now() + LONG;
    let delivered = loop {
        pump(&client, &queue_url, &api).await;
        if let Some(got) = receiver
            .received()
            .into_iter()
            .find(|r| r.answered == Some(200) && r.json()["payload"]["id"] == id.as_str())
        {
            break got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not delivered; receiver got {:?}\nlambda logs:\n{}",
            receiver
                .received()
                .iter()
                .map(|r| r.answered)
                .collect::<Vec<_>>(),
            lambda.logs()
        );
    };

    // GOWA's body, signed with the secret the connector put in the request.
    let body = delivered.json();
    assert_eq!(body["event"], "message");
    assert_eq!(body["session_id"], "bob");
    assert_eq!(
        delivered.header("x-hub-signature-256"),
        Some(python_signature(SECRET, &delivered.body).as_str())
    );
    assert_eq!(delivered.header("x-webhook-attempt"), Some("2"));

    // The connector recorded both attempts from the reports: retried, then delivered.
    let delivery_id = delivered.header("x-webhook-delivery").unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let all = gw.get(None, "/webhook/deliveries?limit=100").await.ok();
        let d = all
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == delivery_id.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        if d["state"] == "Delivered" {
            assert_eq!(d["attempts"], 2, "{d}");
            assert_eq!(d["last_status"], 200, "{d}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{all}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let first = &receiver.received()[0];
    assert_eq!(
        (first.answered, first.header("x-webhook-attempt")),
        (Some(503), Some("1"))
    );

    // Nothing is left on the queue.
    assert_eq!(pump(&client, &queue_url, &api).await, 0);
}
