//! The host's per-request limits, tested against a real misbehaving guest
//! (`functions/test-guest`): a request that spins is stopped at its deadline,
//! one that grows past the memory cap is stopped, and neither harms the next.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use wa_host::{HostConfig, HostEngine, HostError, HttpComponent};
use wa_testkit::required_file;

fn load(config: &HostConfig) -> HttpComponent {
    let path = required_file("WA_TEST_GUEST_COMPONENT");
    let engine = HostEngine::new(config).expect("engine");
    HttpComponent::load(&engine, &path, config).expect("the test guest loads")
}

fn config() -> HostConfig {
    HostConfig {
        request_timeout: Duration::from_millis(1500),
        max_memory_bytes: 32 * 1024 * 1024,
        max_concurrent_requests: 4,
        ..HostConfig::default()
    }
}

async fn get(component: &HttpComponent, path: &str) -> Result<(u16, String), HostError> {
    let request = http::Request::get(format!("http://localhost{path}"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = component.handle(request).await?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|error| HostError::Request(wasmtime::Error::msg(format!("{error:?}"))))?;
    Ok((
        status,
        String::from_utf8_lossy(&body.to_bytes()).into_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_request_is_stopped_at_its_deadline() {
    let config = config();
    let component = load(&config);
    assert_eq!(get(&component, "/ok").await.unwrap().0, 200);

    let started = Instant::now();
    let outcome = get(&component, "/spin").await;
    let elapsed = started.elapsed();
    assert!(outcome.is_err(), "an endless loop answered: {outcome:?}");
    // Stopped by the deadline, not by some far larger safety net.
    assert!(elapsed < config.request_timeout * 4, "took {elapsed:?}");

    // The next request gets a fresh instance and is unaffected.
    assert_eq!(get(&component, "/ok").await.unwrap().0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_past_the_memory_cap_fails_only_that_request() {
    let component = load(&config());
    let (status, body) = get(&component, "/grow?mib=4").await.unwrap();
    assert_eq!(status, 200, "{body}");

    let outcome = get(&component, "/grow?mib=64").await;
    assert!(
        matches!(outcome, Err(HostError::Request(_))),
        "64 MiB under a 32 MiB cap gave {outcome:?}"
    );

    assert_eq!(get(&component, "/grow?mib=4").await.unwrap().0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_their_own_instance() {
    let component = std::sync::Arc::new(load(&config()));
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let component = component.clone();
        tasks.push(tokio::spawn(
            async move { get(&component, "/grow?mib=8").await },
        ));
    }
    for task in tasks {
        // 12 × 8 MiB in flight would break a shared 32 MiB instance; separate
        // stores each stay under the cap.
        assert_eq!(task.await.unwrap().unwrap().0, 200);
    }
}

#[test]
fn a_file_that_is_not_a_component_is_a_load_error() {
    let dir = std::env::temp_dir().join(format!("wa-host-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("garbage.wasm");
    std::fs::write(&path, b"\0asm garbage").unwrap();
    let config = HostConfig::default();
    let engine = HostEngine::new(&config).unwrap();
    let error = HttpComponent::load(&engine, &path, &config).unwrap_err();
    assert!(matches!(error, HostError::Load { .. }), "{error:?}");
    let missing = HttpComponent::load(&engine, &dir.join("missing.wasm"), &config).unwrap_err();
    assert!(matches!(missing, HostError::Read { .. }), "{missing:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
