//! What hosting costs per request: every request gets a fresh instance of the
//! component (a new store, instantiated from the pre-instantiated component),
//! so instantiation is paid on each one.
//!
//! Measured: `GET /health` through the real `http_api.wasm` (instantiate, run,
//! answer, drop) and through the webhook fan-out component's smallest path
//! (`GET /` → 404), against a baseline of the same answer built natively in the
//! same process, plus the one-off cost of loading a component from the cache.
//!
//!     WA_HTTP_COMPONENT=... WA_WEBHOOK_COMPONENT=... cargo bench -p wa-host --bench instantiate

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Empty, Full};
use wa_host::{HostConfig, HostEngine, HttpComponent};

fn component(variable: &str) -> PathBuf {
    PathBuf::from(
        std::env::var(variable)
            .unwrap_or_else(|_| panic!("set {variable} (cargo xtask build-components --release)")),
    )
}

fn request(path: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(format!("http://localhost{path}"))
        .body(Empty::new())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cache = tempfile_dir();
    let config = HostConfig {
        cache_dir: Some(cache.clone()),
        ..HostConfig::default()
    };
    let engine = runtime.block_on(async { HostEngine::new(&config).unwrap() });
    let api = component("WA_HTTP_COMPONENT");
    let fanout = component("WA_WEBHOOK_COMPONENT");
    let (http_api, webhook_fanout) = runtime.block_on(async {
        (
            HttpComponent::load(&engine, &api, &config).unwrap(),
            HttpComponent::load(&engine, &fanout, &config).unwrap(),
        )
    });

    let mut group = c.benchmark_group("per_request");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("native baseline: the /health envelope", |b| {
        b.to_async(&runtime).iter(|| async {
            let body = serde_json::to_vec(&serde_json::json!({
                "code": "SUCCESS", "message": "ok", "results": {"status": "ok"}
            }))
            .unwrap();
            let response = http::Response::new(Full::new(Bytes::from(body)));
            response.into_body().collect().await.unwrap().to_bytes()
        })
    });
    group.bench_function("http_api.wasm: GET /health (fresh instance)", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = http_api.handle(request("/health")).await.unwrap();
            response.into_body().collect().await.unwrap().to_bytes()
        })
    });
    group.bench_function("webhook_fanout.wasm: GET / (fresh instance)", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = webhook_fanout.handle(request("/")).await.unwrap();
            response.into_body().collect().await.unwrap().to_bytes()
        })
    });
    group.finish();

    let mut load = c.benchmark_group("load");
    load.sample_size(10);
    load.bench_function("http_api.wasm from the compiled cache", |b| {
        b.iter(|| runtime.block_on(async { HttpComponent::load(&engine, &api, &config).unwrap() }))
    });
    load.finish();
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wa-host-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

criterion_group!(benches, bench);
criterion_main!(benches);
