//! Webhooks end to end: the real `wa-connector serve` process, its hosted
//! fan-out component, the simulator, and a real receiver on loopback that
//! fails, hangs and recovers. Signatures are checked with Python's `hmac`.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::gateway::Gateway;
use support::receiver::{Receiver, Reply, python_signature};

const ANN: &str = "15550400001";
const BOB: &str = "15550400002";
const SECRET: &str = "webhook-secret-for-tests";
const LONG: Duration = Duration::from_secs(30);

async fn deliveries(gw: &Gateway, query: &str) -> Vec<Value> {
    gw.get(None, &format!("/webhook/deliveries?{query}"))
        .await
        .ok()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_signed_and_failures_are_retried_until_delivered() {
    let receiver = Receiver::start().await;
    // The first two attempts fail (500, then 503 with Retry-After: 1), then 200s.
    receiver.script(&[Reply::Status(500), Reply::RetryAfter(1)]);
    let gw = Gateway::start(
        "webhooks",
        &[
            ("WHATSAPP_WEBHOOK", &receiver.url()),
            ("WHATSAPP_WEBHOOK_SECRET", SECRET),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    let id = gw.send_text("ann", BOB, "hook me").await;

    // Bob's `message` event, GOWA's body, signed.
    let got = receiver
        .wait_for(LONG, |r| {
            r.answered == Some(200)
                && r.json()["event"] == "message"
                && r.json()["payload"]["id"] == id.as_str()
        })
        .await;
    let body = got.json();
    assert_eq!(body["device_id"], format!("{BOB}@s.whatsapp.net"));
    assert_eq!(body["session_id"], "bob");
    assert_eq!(body["payload"]["body"], "hook me");
    assert_eq!(
        got.header("x-hub-signature-256"),
        Some(python_signature(SECRET, &got.body).as_str())
    );
    assert_eq!(got.header("content-type"), Some("application/json"));
    let length = got.body.len().to_string();
    assert_eq!(got.header("content-length"), Some(length.as_str()));
    assert_eq!(got.header("x-webhook-event"), Some("message"));
    let delivery = got.header("x-webhook-delivery").unwrap().to_owned();
    assert!(
        got.header("x-webhook-timestamp")
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );

    // Connection events are delivered too (GOWA has none).
    receiver
        .wait_for(LONG, |r| {
            r.json()["event"] == "connection.connected" && r.json()["session_id"] == "ann"
        })
        .await;
    // Ann gets the delivery receipt.
    receiver
        .wait_for(LONG, |r| {
            r.json()["event"] == "message.ack" && r.json()["session_id"] == "ann"
        })
        .await;

    // The failures were retried: some delivery took three attempts, and none
    // is left pending or dead.
    let answered: Vec<Option<u16>> = receiver.received().iter().map(|r| r.answered).collect();
    assert_eq!(&answered[..2], &[Some(500), Some(503)]);
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let all = deliveries(&gw, "limit=1000").await;
        let pending = all.iter().filter(|d| d["state"] != "Delivered").count();
        if pending == 0 {
            // Two failed attempts, each retried: two more attempts than deliveries.
            let attempts: u64 = all.iter().map(|d| d["attempts"].as_u64().unwrap()).sum();
            assert_eq!(attempts, all.len() as u64 + 2, "{all:?}");
            let again = all.iter().filter(|d| d["id"] == delivery.as_str()).count();
            assert_eq!(again, 1);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still pending: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every request the receiver accepted was signed correctly.
    for r in receiver.received() {
        assert_eq!(
            r.header("x-hub-signature-256"),
            Some(python_signature(SECRET, &r.body).as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_and_timed_out_deliveries_are_dead_lettered_and_replayed() {
    let receiver = Receiver::start().await;
    receiver.set_default(Reply::Status(404));
    let gw = Gateway::start(
        "webhooks-dead",
        &[
            ("WHATSAPP_WEBHOOK", &receiver.url()),
            ("WHATSAPP_WEBHOOK_SECRET", SECRET),
            ("WHATSAPP_WEBHOOK_EVENTS", "connection.*"),
            ("WEBHOOK_TIMEOUT", "1s"),
            ("WEBHOOK_RETRY_WINDOW", "4s"),
        ],
    )
    .await;
    gw.link("ann", ANN).await;

    // 404: dead at once, no retry.
    let deadline = tokio::time::Instant::now() + LONG;
    let dead = loop {
        let dead = deliveries(&gw, "state=dead").await;
        if let Some(d) = dead.first() {
            break d.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead["attempts"], 1);
    assert_eq!(dead["last_status"], 404);
    assert!(
        dead["event_name"]
            .as_str()
            .unwrap()
            .starts_with("connection."),
        "{dead}"
    );
    // The filter kept message events away: only connection events were planned.
    for d in deliveries(&gw, "limit=1000").await {
        assert!(
            d["event_name"].as_str().unwrap().starts_with("connection."),
            "{d}"
        );
    }

    // Replay after the receiver is fixed: delivered.
    receiver.set_default(Reply::Status(200));
    let id = dead["id"].as_str().unwrap();
    let replayed = gw
        .request(
            gw.http
                .post(format!("{}/webhook/deliveries/{id}/replay", gw.base)),
        )
        .await
        .ok();
    assert_eq!(replayed["state"], "Pending");
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let now = deliveries(&gw, "limit=1000").await;
        let this = now.iter().find(|d| d["id"] == id).unwrap();
        if this["state"] == "Delivered" {
            assert_eq!(this["attempts"], 2);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{this}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Replaying what is not dead is refused; unknown ids are 404.
    let refused = gw
        .request(
            gw.http
                .post(format!("{}/webhook/deliveries/{id}/replay", gw.base)),
        )
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.json());
    let unknown = gw
        .request(
            gw.http
                .post(format!("{}/webhook/deliveries/nope/replay", gw.base)),
        )
        .await;
    assert_eq!(unknown.status, 404);

    // A receiver that never answers: each attempt times out (1 s), is retried,
    // and after the 4 s window the delivery is dead.
    receiver.set_default(Reply::Hang);
    gw.request(gw.http.post(format!("{}/devices/ann/reconnect", gw.base)))
        .await
        .ok();
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let dead = deliveries(&gw, "state=dead").await;
        if let Some(d) = dead.iter().find(|d| {
            d["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("did not answer"))
        }) {
            assert!(d["attempts"].as_u64().unwrap() >= 2, "{d}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{dead:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_device_webhooks_with_headers_and_secrets_survive_a_crash() {
    let receiver = Receiver::start().await;
    let gw = Gateway::start("webhooks-device", &[]).await;
    let mut gw = gw;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    // Bob's own receiver, its own secret, a custom header, messages only.
    let config = gw
        .request(
            gw.http
                .patch(format!("{}/devices/bob/webhook", gw.base))
                .header("Content-Type", "application/json")
                .body(
                    json!({
                        "urls": [receiver.url()],
                        "events": ["message"],
                        "headers": {"X-Api-Key": "bob-key"},
                        "secret": "bob-secret"
                    })
                    .to_string(),
                ),
        )
        .await
        .ok();
    assert_eq!(config["has_secret"], true);
    assert!(
        config.get("secret").is_none(),
        "the secret is never read back"
    );
    let read = gw.get(None, "/devices/bob/webhook").await.ok();
    assert_eq!(read["urls"][0], receiver.url());
    let bad = gw
        .request(
            gw.http
                .patch(format!("{}/devices/bob/webhook", gw.base))
                .header("Content-Type", "application/json")
                .body(json!({"urls": ["ftp://nope"]}).to_string()),
        )
        .await;
    assert_eq!(bad.status, 400);

    // The receiver is down; a message for Bob waits as a pending delivery.
    receiver.set_default(Reply::Status(503));
    let first_id = gw.send_text("ann", BOB, "while down").await;
    let failed = receiver
        .wait_for(LONG, |r| r.json()["payload"]["id"] == first_id.as_str())
        .await;
    // The failed attempt is recorded (a kill before that would leave the
    // delivery leased for the attempt's whole lease, which is another test).
    let delivery = failed.header("x-webhook-delivery").unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let all = deliveries(&gw, "device_id=bob&limit=100").await;
        if all
            .iter()
            .any(|d| d["id"] == delivery.as_str() && d["attempts"] == 1)
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // SIGKILL, receiver back up, restart: the pending delivery is made.
    receiver.set_default(Reply::Status(200));
    gw.restart(&[]);
    let got = receiver
        .wait_for(LONG, |r| {
            r.answered == Some(200) && r.json()["payload"]["id"] == first_id.as_str()
        })
        .await;
    assert_eq!(got.header("x-api-key"), Some("bob-key"));
    assert_eq!(
        got.header("x-hub-signature-256"),
        Some(python_signature("bob-secret", &got.body).as_str())
    );
    // Only Bob's message events went to Bob's receiver.
    for r in receiver.received() {
        let body = r.json();
        assert_eq!(
            (body["session_id"].as_str(), body["event"].as_str()),
            (Some("bob"), Some("message"))
        );
    }
}

/// Calls the internal endpoint as a cloud-mode function would.
async fn internal(gw: &Gateway, token: &str, function: &str, args: Value) -> (u16, Value) {
    let response = gw
        .http
        .post(format!("{}/internal/v1/webhooks/{function}", gw.base))
        .bearer_auth(token)
        .json(&args)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_reported_from_outside_are_recorded_once() {
    const TOKEN: &str = "internal-token-for-tests";
    let receiver = Receiver::start().await;
    // The in-process sender's attempt fails and is not due again for an hour,
    // so the reports below are the only thing that moves the delivery.
    receiver.set_default(Reply::RetryAfter(3600));
    let gw = Gateway::start(
        "webhooks-report",
        &[
            ("WHATSAPP_WEBHOOK", &receiver.url()),
            ("WHATSAPP_WEBHOOK_EVENTS", "connection.connected"),
            ("INTERNAL_API_TOKEN", TOKEN),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    receiver.wait_for(LONG, |r| r.answered == Some(503)).await;
    let deadline = tokio::time::Instant::now() + LONG;
    let delivery = loop {
        let all = deliveries(&gw, "limit=10").await;
        if let Some(d) = all.iter().find(|d| d["attempts"] == 1) {
            break d.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let id = delivery["id"].as_str().unwrap();

    // Attempt 2 failed again: pending, its next attempt honouring Retry-After.
    let retry = json!({"Retry": {"status": 503, "reason": "busy", "retry_after_secs": 120}});
    let (status, answer) = internal(&gw, TOKEN, "report-outcome", json!([id, 2, retry])).await;
    assert_eq!(status, 200, "{answer}");
    let d = &answer["Ok"];
    assert_eq!(
        (d["state"].as_str(), d["attempts"].as_u64()),
        (Some("Pending"), Some(2)),
        "{answer}"
    );
    assert_eq!(d["last_error"], "busy");
    let next = d["next_attempt_at"].as_u64().unwrap();
    let updated = d["updated_at"].as_u64().unwrap();
    assert!(next >= updated + 119_000, "{answer}");

    // Attempt 3 delivered; the same report again (a redelivered queue message)
    // and one for an attempt out of turn change nothing.
    for attempt in [3, 3, 7] {
        let (status, answer) = internal(
            &gw,
            TOKEN,
            "report-outcome",
            json!([id, attempt, {"Delivered": 204}]),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        let d = &answer["Ok"];
        assert_eq!(
            (
                d["state"].as_str(),
                d["attempts"].as_u64(),
                d["last_status"].as_u64()
            ),
            (Some("Delivered"), Some(3), Some(204)),
            "{answer}"
        );
    }

    // Bad reports are refused, with the reason.
    let (_, answer) = internal(
        &gw,
        TOKEN,
        "report-outcome",
        json!(["no-such", 1, {"Delivered": 200}]),
    )
    .await;
    assert!(answer["Err"]["NotFound"].is_string(), "{answer}");
    let (_, answer) = internal(
        &gw,
        TOKEN,
        "report-outcome",
        json!([id, 0, {"Delivered": 200}]),
    )
    .await;
    assert!(answer["Err"]["InvalidInput"].is_string(), "{answer}");
    let (status, answer) =
        internal(&gw, TOKEN, "report-outcome", json!([id, 4, {"Maybe": 1}])).await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = internal(
        &gw,
        "wrong-token",
        "report-outcome",
        json!([id, 4, {"Delivered": 200}]),
    )
    .await;
    assert_eq!(status, 401);
}
