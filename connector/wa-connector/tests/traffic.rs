//! Traffic limits of a real `wa-connector serve` process on loopback, in
//! front of the WhatsApp simulator: the per-client API rate limit
//! (`RATE_LIMIT_*`) and the per-account send pace
//! (`WHATSAPP_RATE_LIMIT_*`).

mod support;

use std::time::{Duration, Instant};

use support::gateway::{Gateway, PASSWORD, USER, WAIT};

const OTHER_KEY: &str = "another-client-key-0123";

/// A client's burst passes, the next request gets 429 in the envelope with
/// `Retry-After`, another client and the monitoring endpoints are unaffected,
/// and after waiting the client passes again.
#[tokio::test(flavor = "multi_thread")]
async fn api_clients_are_limited_one_by_one() {
    let gw = Gateway::start(
        "rate-limit",
        &[
            ("RATE_LIMIT_REQUESTS_PER_MINUTE", "60"),
            ("RATE_LIMIT_BURST", "3"),
            ("APP_API_KEYS", &format!("other:{OTHER_KEY}")),
        ],
    )
    .await;
    let url = format!("{}/app/devices", gw.base);
    let basic = || gw.http.get(&url).basic_auth(USER, Some(PASSWORD));
    for n in 0..3 {
        let reply = gw.request(gw.http.get(&url)).await;
        assert_eq!(reply.status, 200, "request {n} of the burst");
    }
    let refused = gw.request(gw.http.get(&url)).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.code(), "TOO_MANY_REQUESTS");
    assert!(refused.json()["results"].is_null());
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        retry_after, 1,
        "60 a minute: the next token within a second"
    );

    // The API key is another client with its own bucket.
    let other = gw
        .http
        .get(&url)
        .header("X-Api-Key", OTHER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    // Monitoring stays reachable with the limited client's credentials.
    let metrics = gw
        .request(gw.http.get(format!("{}/metrics", gw.base)))
        .await;
    assert_eq!(metrics.status, 200);
    let health = gw
        .http
        .get(format!("{}/health", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(
        basic().send().await.unwrap().status(),
        200,
        "a token after Retry-After"
    );
}

/// Links ann and bob, sends five texts from ann to bob through the API (each
/// answered at once with its id) and returns when bob's device acknowledged
/// each one, in the order they arrived.
async fn send_five(gw: &Gateway) -> Vec<(String, Instant)> {
    gw.link("ann", "15550009001").await;
    gw.link("bob", "15550009002").await;
    let bob = gw.sim.devices("15550009002").pop().expect("bob's device");
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            gw.send_text("ann", "15550009002", &format!("paced {n}"))
                .await,
        );
    }
    let mut arrived: Vec<(String, Instant)> = Vec::new();
    let deadline = Instant::now() + WAIT;
    while arrived.len() < ids.len() {
        let now = Instant::now();
        for id in gw.sim.acked_messages(&bob) {
            if ids.contains(&id) && !arrived.iter().any(|(seen, _)| *seen == id) {
                arrived.push((id, now));
            }
        }
        assert!(
            Instant::now() < deadline,
            "only {arrived:?} of {ids:?} arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let order: Vec<&String> = arrived.iter().map(|(id, _)| id).collect();
    assert_eq!(order, ids.iter().collect::<Vec<_>>(), "sent in queue order");
    arrived
}

/// At 60 a minute with a burst of 2, the first two go out at once and the
/// rest a second apart; none fails.
#[tokio::test(flavor = "multi_thread")]
async fn an_accounts_sends_drain_at_its_pace() {
    let gw = Gateway::start(
        "send-pace",
        &[
            ("WHATSAPP_RATE_LIMIT_MESSAGES_PER_MINUTE", "60"),
            ("WHATSAPP_RATE_LIMIT_BURST", "2"),
        ],
    )
    .await;
    let arrived = send_five(&gw).await;
    let at = |i: usize| arrived[i].1;
    // Lower bounds only: a busy machine may be slower, never faster. Each
    // later send waits a full second for its token; the slack covers the
    // previous send's own time on the wire and the 10 ms polling.
    for i in 2..5 {
        let gap = at(i) - at(i - 1);
        assert!(
            gap >= Duration::from_millis(700),
            "send {i} came {gap:?} after the previous one"
        );
    }
    let span = at(4) - at(0);
    assert!(
        span >= Duration::from_millis(2700),
        "five sends took {span:?}"
    );
    // Every send ended as sent, none failed.
    let history = gw
        .get(
            Some("ann"),
            "/chat/15550009002@s.whatsapp.net/messages?limit=100",
        )
        .await
        .ok();
    assert_eq!(
        history["data"].as_array().map(Vec::len),
        Some(5),
        "{history}"
    );
}

/// The control: with a pace far above the test's five sends they all go out
/// without waiting for tokens (the bucket starts with the whole burst).
#[tokio::test(flavor = "multi_thread")]
async fn a_high_pace_sends_at_once() {
    let gw = Gateway::start(
        "send-unpaced",
        &[
            ("WHATSAPP_RATE_LIMIT_MESSAGES_PER_MINUTE", "6000"),
            ("WHATSAPP_RATE_LIMIT_BURST", "100"),
        ],
    )
    .await;
    let arrived = send_five(&gw).await;
    let span = arrived[4].1 - arrived[0].1;
    println!("five unpaced sends arrived within {span:?}");
}
