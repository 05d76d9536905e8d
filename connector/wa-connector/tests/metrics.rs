//! `/metrics` and `/ready` end to end: the real `wa-connector serve` process
//! in front of the simulator, two linked accounts exchanging messages, a
//! webhook receiver that fails twice, a forced reconnect and a stopped
//! server. Every scrape is parsed strictly as the Prometheus text format
//! (0.0.4) and checked against what the test did.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;
use support::gateway::{Gateway, Reply as GatewayReply};
use support::receiver::{Receiver, Reply};
use wa_simulator::{Simulator, SimulatorConfig};

const ANN: &str = "15550500001";
const BOB: &str = "15550500002";
const CAROL: &str = "15550500003";
const LONG: Duration = Duration::from_secs(30);

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone)]
struct MetricSample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A series' labels other than `le`, in order.
type Labels = Vec<(String, String)>;

/// A parsed scrape.
#[derive(Debug)]
struct Scrape {
    samples: Vec<MetricSample>,
    /// Family name → type, from the `# TYPE` lines.
    types: HashMap<String, String>,
}

impl Scrape {
    /// Parses `text`, panicking at the first line that is not a comment, a
    /// blank line or a well-formed sample of a declared family.
    fn parse(text: &str) -> Scrape {
        let mut samples = Vec::new();
        let mut types: HashMap<String, String> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let fail = |why: &str| -> ! { panic!("line {}: {why}: `{line}`\n{text}", n + 1) };
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let mut words = comment.trim_start().splitn(3, ' ');
                match words.next() {
                    Some("TYPE") => {
                        let name = words.next().unwrap_or_else(|| fail("TYPE without a name"));
                        let kind = words.next().unwrap_or_else(|| fail("TYPE without a type"));
                        if !valid_name(name) {
                            fail("bad metric name");
                        }
                        if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind)
                        {
                            fail("unknown type");
                        }
                        if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                            fail("family typed twice");
                        }
                    }
                    Some("HELP") => {
                        let name = words.next().unwrap_or_else(|| fail("HELP without a name"));
                        if !valid_name(name) {
                            fail("bad metric name");
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let sample = parse_sample(line).unwrap_or_else(|why| fail(&why));
            if family_of(&sample.name, &types).is_none() {
                fail("sample of a family with no TYPE line before it");
            }
            samples.push(sample);
        }
        assert!(!samples.is_empty(), "an empty scrape");
        Scrape { samples, types }
    }

    /// Samples named `name` whose labels include every pair of `labels`.
    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a MetricSample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The one sample with exactly these labels.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<_> = self
            .matching(name, labels)
            .filter(|s| s.labels.len() == labels.len())
            .collect();
        assert!(found.len() <= 1, "{name}{labels:?} is ambiguous: {found:?}");
        found.first().map(|s| s.value)
    }

    /// The sum over samples with these labels (0 when there are none).
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }

    /// Checks every histogram: buckets sorted by `le` are cumulative, end in
    /// `+Inf` equal to `_count`, and `_sum` is there. Returns how many series.
    fn check_histograms(&self) -> usize {
        let mut series = 0;
        for (family, kind) in &self.types {
            if kind != "histogram" {
                continue;
            }
            let bucket_name = format!("{family}_bucket");
            let mut by_series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
            for s in self.samples.iter().filter(|s| s.name == bucket_name) {
                let le = s.labels.get("le").expect("a bucket without le");
                let le: f64 = parse_value(le).expect("le is a number");
                let key: Vec<_> = s
                    .labels
                    .iter()
                    .filter(|(k, _)| *k != "le")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                by_series.entry(key).or_default().push((le, s.value));
            }
            for (key, mut buckets) in by_series {
                series += 1;
                let labels: Vec<(&str, &str)> =
                    key.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let count = self
                    .get(&format!("{family}_count"), &labels)
                    .unwrap_or_else(|| panic!("{family}{labels:?} has no _count"));
                assert!(
                    self.get(&format!("{family}_sum"), &labels).is_some(),
                    "{family}{labels:?} has no _sum"
                );
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                for pair in buckets.windows(2) {
                    assert!(
                        pair[0].1 <= pair[1].1,
                        "{family}{labels:?}: buckets are not cumulative: {buckets:?}"
                    );
                }
                let last = buckets.last().unwrap();
                assert_eq!(last.0, f64::INFINITY, "{family}{labels:?}: no +Inf bucket");
                assert_eq!(
                    last.1, count,
                    "{family}{labels:?}: +Inf bucket is not _count"
                );
            }
        }
        series
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The `# TYPE` family a sample belongs to (histograms' series by suffix).
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        name.strip_suffix(suffix)
            .filter(|family| types.get(*family).is_some_and(|t| t == "histogram"))
    })
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// `name{k="v",…} value` (no timestamp: the connector writes none).
fn parse_sample(line: &str) -> Result<MetricSample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err("bad metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let end = loop {
            // A label name, `=`, a quoted value, then `,` or `}`.
            let (start, first) = chars.next().ok_or("unterminated labels")?;
            if first == '}' {
                break start;
            }
            let mut key_end = start;
            let mut c = first;
            while c != '=' {
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!("bad label name character `{c}`"));
                }
                let (i, next) = chars.next().ok_or("unterminated label name")?;
                key_end = i;
                c = next;
            }
            let key = &after[start..key_end];
            if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
                return Err("bad label name".into());
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err("label value not quoted".into());
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("unterminated label value")?.1 {
                    '"' => break,
                    '\\' => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => return Err(format!("bad escape `\\{other}`")),
                    },
                    '\n' => return Err("newline in a label value".into()),
                    c => value.push(c),
                }
            }
            if labels.insert(key.to_owned(), value).is_some() {
                return Err(format!("label `{key}` twice"));
            }
            match chars.next().ok_or("unterminated labels")? {
                (_, ',') => {}
                (i, '}') => break i,
                (_, c) => return Err(format!("`{c}` after a label value")),
            }
        };
        rest = &after[end + 1..];
    }
    let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
    if value.contains(' ') {
        return Err("more than a value after the labels".into());
    }
    let value = parse_value(value).ok_or("the value is not a number")?;
    Ok(MetricSample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `GET path` without credentials.
async fn anonymous(gw: &Gateway, path: &str) -> GatewayReply {
    let response = gw
        .http
        .get(format!("{}{path}", gw.base))
        .send()
        .await
        .expect("the gateway answers");
    GatewayReply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        bytes: response.bytes().await.unwrap().to_vec(),
    }
}

/// Scrapes `/metrics` with the API's credentials and parses it.
async fn scrape(gw: &Gateway) -> Scrape {
    let reply = gw.get(None, "/metrics").await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.bytes)
    );
    assert_eq!(
        reply.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    Scrape::parse(std::str::from_utf8(&reply.bytes).expect("the scrape is UTF-8"))
}

/// Scrapes until `check` accepts a scrape (it returns why not), up to [`LONG`].
async fn scrape_until(
    gw: &Gateway,
    what: &str,
    check: impl Fn(&Scrape) -> Result<(), String>,
) -> Scrape {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let scrape = scrape(gw).await;
        match check(&scrape) {
            Ok(()) => return scrape,
            Err(why) => assert!(tokio::time::Instant::now() < deadline, "{what}: {why}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `expected` or why not.
fn expect(
    scrape: &Scrape,
    name: &str,
    labels: &[(&str, &str)],
    expected: f64,
) -> Result<(), String> {
    match scrape.get(name, labels) {
        Some(v) if v == expected => Ok(()),
        other => Err(format!(
            "{name}{labels:?} is {other:?}, expected {expected}"
        )),
    }
}

/// `/ready` (no credentials): its status and body.
async fn ready(gw: &Gateway) -> (u16, Value) {
    let reply = anonymous(gw, "/ready").await;
    (reply.status, reply.json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_readiness_follow_what_happens() {
    let receiver = Receiver::start().await;
    // The first attempt is retried, the second dead-lettered, the rest delivered.
    receiver.script(&[Reply::Status(500), Reply::Status(404)]);
    let mut gw = Gateway::start("metrics", &[("WHATSAPP_WEBHOOK", &receiver.url())]).await;

    // Nothing started: ready; probes need no credentials, /metrics does.
    let (status, body) = ready(&gw).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], "SUCCESS");
    assert_eq!(body["results"]["ready"], true);
    assert_eq!(body["results"]["store"]["ok"], true);
    assert_eq!(anonymous(&gw, "/health").await.status, 200);
    let refused = anonymous(&gw, "/metrics").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.code(), "AUTHENTICATION_ERROR");
    let first = scrape(&gw).await;
    assert!(first.get("process_resident_memory_bytes", &[]).unwrap() > 1e6);
    assert!(first.get("process_cpu_seconds_total", &[]).unwrap() > 0.0);
    assert_eq!(first.types["process_cpu_seconds_total"], "counter");
    assert_eq!(first.get("whatsapp_store_up", &[]), Some(1.0));

    gw.link("ann", ANN).await;
    gw.link("bob", BOB).await;
    for n in 0..3 {
        gw.send_and_receive(("ann", BOB), ("bob", ANN), &format!("ann says {n}"))
            .await;
    }
    for n in 0..2 {
        gw.send_and_receive(("bob", ANN), ("ann", BOB), &format!("bob says {n}"))
            .await;
    }
    let (status, body) = ready(&gw).await;
    assert_eq!(status, 200, "{body}");

    // Messages: counted once acknowledged (sent) and stored (received).
    let s = scrape_until(&gw, "message counters", |s| {
        expect(
            s,
            "whatsapp_messages_sent_total",
            &[("account", "ann")],
            3.0,
        )?;
        expect(
            s,
            "whatsapp_messages_sent_total",
            &[("account", "bob")],
            2.0,
        )?;
        expect(
            s,
            "whatsapp_messages_received_total",
            &[("account", "bob")],
            3.0,
        )?;
        expect(
            s,
            "whatsapp_messages_received_total",
            &[("account", "ann")],
            2.0,
        )?;
        expect(s, "whatsapp_outbox_pending", &[("account", "ann")], 0.0)?;
        expect(s, "whatsapp_outbox_pending", &[("account", "bob")], 0.0)
    })
    .await;
    for account in ["ann", "bob"] {
        assert_eq!(
            s.get("whatsapp_messages_failed_total", &[("account", account)]),
            Some(0.0)
        );
        assert_eq!(
            s.get("whatsapp_connection_status", &[("account", account)]),
            Some(1.0)
        );
        assert_eq!(
            s.get("whatsapp_reconnects_total", &[("account", account)]),
            Some(0.0)
        );
    }

    // Requests: by route pattern (never the raw path), method and status.
    let requests = |route: &str, method: &str, status: &str| {
        s.get(
            "whatsapp_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(requests("/send/message", "POST", "200"), 5.0);
    assert_eq!(requests("/metrics", "GET", "401"), 1.0);
    assert_eq!(requests("/ready", "GET", "200"), 2.0);
    assert_eq!(requests("/app/login", "GET", "200"), 2.0);
    assert!(requests("/metrics", "GET", "200") >= 1.0);
    assert!(requests("/devices/{id}/status", "GET", "200") >= 2.0);
    assert!(requests("/chat/{jid}/messages", "GET", "200") >= 5.0);
    for sample in s.matching("whatsapp_http_requests_total", &[]) {
        let route = &sample.labels["route"];
        assert!(
            !route.contains("ann") && !route.contains(ANN) && !route.contains("@"),
            "a raw path as a route label: {route}"
        );
    }
    // Histograms are well formed, and one observation per counted request.
    assert!(s.check_histograms() >= 5);
    for route in ["/send/message", "/chat/{jid}/messages", "/metrics"] {
        assert_eq!(
            s.get(
                "whatsapp_http_request_duration_seconds_count",
                &[("route", route)]
            ),
            Some(s.sum("whatsapp_http_requests_total", &[("route", route)])),
            "{route}"
        );
    }

    // A send to a number that is not on WhatsApp fails for good: counted.
    gw.send_text("ann", "15550509999", "to nobody").await;
    scrape_until(&gw, "the failed send", |s| {
        expect(
            s,
            "whatsapp_messages_failed_total",
            &[("account", "ann")],
            1.0,
        )?;
        expect(
            s,
            "whatsapp_messages_sent_total",
            &[("account", "ann")],
            3.0,
        )
    })
    .await;

    // A dropped connection: ann logs in again, counted as a reconnect.
    let ann_device = gw.sim.devices(ANN)[0].clone();
    gw.sim.disconnect(&ann_device).unwrap();
    scrape_until(&gw, "ann's reconnect", |s| {
        expect(s, "whatsapp_reconnects_total", &[("account", "ann")], 1.0)?;
        expect(s, "whatsapp_connection_status", &[("account", "ann")], 1.0)?;
        expect(s, "whatsapp_reconnects_total", &[("account", "bob")], 0.0)
    })
    .await;

    // Webhooks: every attempt the receiver answered is counted by outcome,
    // with its duration; the dead letter shows in the gauge.
    let s = scrape_until(&gw, "webhook counters", |s| {
        let answered = |status: u16| {
            receiver
                .received()
                .iter()
                .filter(|r| r.answered == Some(status))
                .count() as f64
        };
        expect(s, "whatsapp_webhook_deliveries_pending", &[], 0.0)?;
        expect(
            s,
            "whatsapp_webhook_deliveries_total",
            &[("outcome", "retry")],
            1.0,
        )?;
        expect(
            s,
            "whatsapp_webhook_deliveries_total",
            &[("outcome", "dead")],
            1.0,
        )?;
        expect(s, "whatsapp_webhook_dead_letters", &[], 1.0)?;
        expect(
            s,
            "whatsapp_webhook_deliveries_total",
            &[("outcome", "delivered")],
            answered(200),
        )?;
        (answered(500) == 1.0 && answered(404) == 1.0)
            .then_some(())
            .ok_or_else(|| "the receiver's log".to_owned())
    })
    .await;
    let attempts = s.sum("whatsapp_webhook_deliveries_total", &[]);
    assert!(attempts >= 10.0, "{attempts} attempts");
    assert_eq!(
        s.get("whatsapp_webhook_delivery_duration_seconds_count", &[]),
        Some(attempts)
    );
    s.check_histograms();

    // A started account that is not linked yet: not ready, and it says so.
    let login = gw.get(Some("carol"), "/app/login").await.ok();
    let (status, body) = ready(&gw).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "NOT_READY");
    assert_eq!(body["results"]["ready"], false);
    assert_eq!(body["results"]["store"]["ok"], true);
    let not_ready = body["results"]["not_ready"].as_array().unwrap();
    assert_eq!(not_ready.len(), 1, "{body}");
    assert!(not_ready[0].as_str().unwrap().contains("`carol`"), "{body}");
    let carol = body["results"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "carol")
        .unwrap()
        .clone();
    assert_eq!(carol["connected"], false);
    assert_eq!(carol["state"], "waiting_for_pairing");
    let s = scrape(&gw).await;
    assert_eq!(
        s.get("whatsapp_connection_status", &[("account", "carol")]),
        Some(0.0)
    );
    // Linked: ready again.
    gw.sim
        .scan_qr(login["qr_code"].as_str().unwrap(), CAROL)
        .unwrap();
    gw.wait_connected("carol").await;
    let (status, body) = ready(&gw).await;
    assert_eq!(status, 200, "{body}");

    // The WhatsApp server goes away: every account is down, and not ready.
    let gone = std::mem::replace(
        &mut gw.sim,
        Simulator::start(SimulatorConfig::default()).await.unwrap(),
    );
    gone.shutdown().await;
    let deadline = tokio::time::Instant::now() + LONG;
    let body = loop {
        let (status, body) = ready(&gw).await;
        if status == 503 && body["results"]["not_ready"].as_array().unwrap().len() == 3 {
            break body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(body["results"]["store"]["ok"], true);
    let s = scrape(&gw).await;
    for account in ["ann", "bob", "carol"] {
        assert_eq!(
            s.get("whatsapp_connection_status", &[("account", account)]),
            Some(0.0)
        );
    }
    assert!(
        s.get(
            "whatsapp_http_requests_total",
            &[("route", "/ready"), ("method", "GET"), ("status", "503")]
        )
        .unwrap()
            >= 2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_public_opens_metrics_only() {
    let gw = Gateway::start("metrics-public", &[("METRICS_PUBLIC", "true")]).await;
    let open = anonymous(&gw, "/metrics").await;
    assert_eq!(open.status, 200);
    let s = Scrape::parse(std::str::from_utf8(&open.bytes).unwrap());
    assert!(s.get("process_resident_memory_bytes", &[]).is_some());
    // The API itself still needs credentials, and /ready never does.
    assert_eq!(anonymous(&gw, "/app/info").await.status, 401);
    assert_eq!(anonymous(&gw, "/ready").await.status, 200);
    // Only GET (and HEAD) on the connector's own endpoints.
    let post = gw
        .request(gw.http.post(format!("{}/metrics", gw.base)))
        .await;
    assert_eq!(post.status, 405);
    let s = Scrape::parse(std::str::from_utf8(&anonymous(&gw, "/metrics").await.bytes).unwrap());
    assert_eq!(
        s.get(
            "whatsapp_http_requests_total",
            &[("route", "/app/info"), ("method", "GET"), ("status", "401")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.get(
            "whatsapp_http_requests_total",
            &[("route", "/metrics"), ("method", "POST"), ("status", "405")]
        ),
        Some(1.0)
    );
}

#[test]
fn the_parser_is_strict() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\"} 2\n\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.7\nh_count 2\n";
    let s = Scrape::parse(good);
    assert_eq!(s.get("a_total", &[("x", "1"), ("y", "q\"")]), Some(2.0));
    assert_eq!(s.check_histograms(), 1);
    for bad in [
        "# TYPE a gauge\na 1 2 3\n",
        "# TYPE a gauge\na{x=1} 1\n",
        "# TYPE a gauge\na{x=\"1\"}1\n",
        "b 1\n",
        "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",
        "# TYPE a gauge\na one\n",
        "# TYPE 1a gauge\n1a 1\n",
    ] {
        let bad = bad.to_owned();
        assert!(
            std::panic::catch_unwind(|| Scrape::parse(&bad)).is_err(),
            "accepted: {bad}"
        );
    }
}
