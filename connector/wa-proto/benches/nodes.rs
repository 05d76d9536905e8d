//! Node encode+decode throughput on the realistic stanza corpus (the same corpus the
//! oracle's bench runs: `tests/oracle/run.sh bench` prints the ratio).

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use wa_proto::binary::{Node, marshal, unmarshal};

fn corpus() -> Vec<Node> {
    let path = format!("{}/tests/vectors/nodes.json", env!("CARGO_MANIFEST_DIR"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    v["corpus"]
        .as_array()
        .expect("corpus")
        .iter()
        .map(|c| {
            unmarshal(&hex::decode(c["hex"].as_str().expect("hex")).expect("hex")).expect("decodes")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let nodes = corpus();
    let bytes: usize = nodes
        .iter()
        .map(|n| marshal(n).expect("encodes").len())
        .sum();
    let mut g = c.benchmark_group("nodes_corpus");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("encode_decode", |b| {
        b.iter(|| {
            for n in &nodes {
                let enc = marshal(black_box(n)).expect("encodes");
                black_box(unmarshal(&enc).expect("decodes"));
            }
        })
    });
    g.bench_function("decode", |b| {
        let encoded: Vec<Vec<u8>> = nodes.iter().map(|n| marshal(n).expect("encodes")).collect();
        b.iter(|| {
            for e in &encoded {
                black_box(unmarshal(black_box(e)).expect("decodes"));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
