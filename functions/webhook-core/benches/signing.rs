//! The cost of signing a webhook attempt: `signed_headers` with a secret
//! against the same headers unsigned (the baseline), for a typical text
//! message event (1 KiB) and a large one (64 KiB, e.g. a long message with a
//! quoted reply and media fields).
//!
//!     cargo bench -p webhook-core --bench signing

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use webhook_core::{Attempt, signed_headers};

fn attempt(body_len: usize, secret: Option<&str>) -> Attempt {
    let text = "x".repeat(body_len.saturating_sub(120));
    Attempt {
        id: "01JD8Z3Q4V7N2M5K8P1R6T9W0X".into(),
        url: "https://hooks.example.com/wa".into(),
        body: format!(
            r#"{{"event":"message","device_id":"ann","payload":{{"id":"3EB0C767D26A8E9F","body":"{text}"}}}}"#
        ),
        event: "message".into(),
        secret: secret.map(str::to_owned),
        headers: vec![("X-Tenant".into(), "acme".into())],
        timestamp: 1_764_400_000,
        attempt: 1,
    }
}

fn signing(c: &mut Criterion) {
    let mut group = c.benchmark_group("webhook_signing");
    for size in [1024, 64 * 1024] {
        group.throughput(Throughput::Bytes(size as u64));
        let unsigned = attempt(size, None);
        let signed = attempt(size, Some("a-webhook-secret-of-32-characters"));
        group.bench_function(BenchmarkId::new("unsigned headers (baseline)", size), |b| {
            b.iter(|| signed_headers(std::hint::black_box(&unsigned)).unwrap())
        });
        group.bench_function(BenchmarkId::new("signed (HMAC-SHA256)", size), |b| {
            b.iter(|| signed_headers(std::hint::black_box(&signed)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
