//! Components' outgoing requests (here the webhook fan-out component,
//! `WA_WEBHOOK_COMPONENT`) go through the host's pooled client: a loopback
//! receiver counts the TCP connections it accepts while several deliveries are
//! made one after the other, under each connection-reuse setting.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wa_host::{HostConfig, HostEngine, HttpComponent, OutboundHttp};
use wa_testkit::required_file;

fn load(outbound: OutboundHttp) -> HttpComponent {
    let path = required_file("WA_WEBHOOK_COMPONENT");
    let config = HostConfig {
        request_timeout: Duration::from_secs(15),
        outbound,
        ..HostConfig::default()
    };
    let engine = HostEngine::new(&config).expect("engine");
    HttpComponent::load(&engine, &path, &config).expect("the fan-out component loads")
}

/// A keep-alive receiver answering 200 to every request (or never, when
/// `answer` is false); the count of connections it accepted.
async fn receiver(answer: bool) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(stream, answer));
        }
    });
    (url, accepted)
}

/// Answers each request on the connection in turn until the client closes it.
async fn serve(mut stream: TcpStream, answer: bool) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buffer.len() < end + 4 + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..end + 4 + length);
        if !answer {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        if stream.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Delivers one webhook to `url` through the component; the outcome's kind.
async fn deliver(component: &HttpComponent, url: &str, timeout_ms: u32) -> String {
    let delivery = json!({
        "id": "d-1",
        "url": url,
        "body": r#"{"event":"message"}"#,
        "event": "message",
        "secret": null,
        "headers": [],
        "timestamp": 1_700_000_000u64,
        "timeout_ms": timeout_ms,
        "attempt": 1,
    });
    let request = http::Request::post("http://webhook-fanout.internal/deliver")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(&delivery).unwrap(),
        )))
        .unwrap();
    let response = component
        .handle(request)
        .await
        .expect("the component answers");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let outcome: Value = serde_json::from_slice(&body).expect("an outcome in JSON");
    let (kind, _) = outcome
        .as_object()
        .and_then(|o| o.iter().next())
        .unwrap_or_else(|| panic!("not a variant: {outcome}"));
    kind.to_ascii_lowercase()
}

/// Connections accepted for three deliveries made `gap` apart.
async fn connections_for_three(outbound: OutboundHttp, gap: Duration) -> usize {
    let component = load(outbound);
    let (url, accepted) = receiver(true).await;
    for n in 0..3 {
        if n > 0 {
            tokio::time::sleep(gap).await;
        }
        assert_eq!(deliver(&component, &url, 5000).await, "delivered");
    }
    accepted.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_idle_connections_kept_means_one_connection_per_delivery() {
    let outbound = OutboundHttp {
        max_idle_per_host: 0,
        ..OutboundHttp::default()
    };
    let connections = connections_for_three(outbound, Duration::from_millis(50)).await;
    assert_eq!(connections, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_idle_connection_carries_every_delivery() {
    let outbound = OutboundHttp {
        max_idle_per_host: 1,
        ..OutboundHttp::default()
    };
    let connections = connections_for_three(outbound, Duration::from_millis(50)).await;
    assert_eq!(connections, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_older_than_the_idle_timeout_is_not_reused() {
    let outbound = OutboundHttp {
        max_idle_per_host: 1,
        idle_timeout: Duration::from_millis(100),
        ..OutboundHttp::default()
    };
    let connections = connections_for_three(outbound, Duration::from_millis(600)).await;
    assert_eq!(connections, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overall_timeout_caps_a_longer_guest_timeout() {
    let component = load(OutboundHttp {
        timeout: Duration::from_millis(300),
        ..OutboundHttp::default()
    });
    let (url, _) = receiver(false).await;
    let started = Instant::now();
    let kind = deliver(&component, &url, 10_000).await;
    let elapsed = started.elapsed();
    assert_eq!(kind, "retry");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}
