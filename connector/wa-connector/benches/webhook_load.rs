//! Webhook deliveries per second, durability on: the release `wa-connector
//! serve` process, the simulator, and a receiver on loopback answering 200.
//!
//! One account sends messages to another as fast as the API takes them; the
//! receiving account's `message` events go through the durable pipeline
//! (event log → planned delivery → leased claim → the hosted fan-out
//! component's signed attempt → recorded outcome). Two phases in the same run
//! give the baseline:
//!
//! 1. without a webhook: how fast the receiving account stores incoming
//!    messages (the rate events are produced at);
//! 2. with the receiving account's webhook set: how fast those events reach
//!    the receiver.
//!
//! A ratio near 1 means the fan-out keeps up with incoming traffic.
//!
//!     cargo bench -p wa-connector --bench webhook_load -- [messages] [concurrent deliveries]

#[path = "../tests/support/gateway.rs"]
#[allow(dead_code)]
mod gateway;
#[path = "../tests/support/receiver.rs"]
#[allow(dead_code)]
mod receiver;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gateway::Gateway;
use receiver::Receiver;
use serde_json::json;

const ANN: &str = "15550310001";
const BOB: &str = "15550310002";
/// Sends in flight at once.
const SENDERS: usize = 16;
const PHASE_LIMIT: Duration = Duration::from_secs(600);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let messages: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(500);
    let concurrency: String = args.get(1).cloned().unwrap_or_else(|| "8".into());

    let receiver = Receiver::start().await;
    let gw = Gateway::start(
        "webhook-bench",
        &[
            ("WHATSAPP_WEBHOOK_SECRET", "bench-secret"),
            ("WEBHOOK_CONCURRENT_DELIVERIES", &concurrency),
        ],
    )
    .await;
    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;

    // Phase 1: no webhook; until Bob has stored every message.
    let stored = count_message_events(&gw).await;
    let started = Instant::now();
    send_many(&gw, messages, "baseline").await;
    wait_until("bob stores the messages", || async {
        count_message_events(&gw).await >= stored + messages
    })
    .await;
    let inbound = started.elapsed();

    // Phase 2: Bob's `message` events to the receiver.
    gw.request(
        gw.http
            .patch(format!("{}/devices/bob/webhook", gw.base))
            .json(&json!({"urls": [receiver.url()], "events": ["message"]})),
    )
    .await
    .ok();
    let started = Instant::now();
    send_many(&gw, messages, "hooked").await;
    wait_until("the receiver gets every delivery", || async {
        receiver.delivered() >= messages
    })
    .await;
    let hooked = started.elapsed();

    let rate = |d: Duration| messages as f64 / d.as_secs_f64();
    println!("\n| phase | messages | seconds | per second | vs phase 1 |");
    println!("|---|---|---|---|---|");
    println!(
        "| 1. received and stored (no webhook) | {messages} | {:.2} | {:.0} | 1.00x |",
        inbound.as_secs_f64(),
        rate(inbound)
    );
    println!(
        "| 2. received, stored and delivered to the webhook | {messages} | {:.2} | {:.0} | {:.2}x |",
        hooked.as_secs_f64(),
        rate(hooked),
        rate(hooked) / rate(inbound)
    );
    let attempts = receiver.received().len();
    println!(
        "\n{SENDERS} concurrent sends, WEBHOOK_CONCURRENT_DELIVERIES={concurrency}; \
         {attempts} attempts for {} deliveries (every one signed, durably recorded).",
        receiver.delivered()
    );
}

/// Ann sends `n` texts to Bob, `SENDERS` at a time.
async fn send_many(gw: &Gateway, n: usize, label: &str) {
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            gw.post(
                Some("ann"),
                "/send/message",
                json!({"phone": BOB, "message": format!("{label} {i}")}),
            )
            .await
            .ok();
        })
        .buffer_unordered(SENDERS)
        .collect::<()>()
        .await;
}

/// Bob's `message` events in the log.
async fn count_message_events(gw: &Gateway) -> usize {
    let mut after = 0u64;
    let mut count = 0;
    loop {
        let page = gw
            .get(
                None,
                &format!("/events?device_id=bob&after={after}&limit=1000"),
            )
            .await
            .ok();
        let events = page.as_array().unwrap();
        count += events.iter().filter(|e| e["name"] == "message").count();
        match events.last() {
            Some(last) if events.len() == 1000 => after = last["seq"].as_u64().unwrap(),
            _ => return count,
        }
    }
}

async fn wait_until<F, Fut>(what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PHASE_LIMIT;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
