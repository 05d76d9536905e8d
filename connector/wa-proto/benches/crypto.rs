//! Signal and media crypto benchmarks (`tests/oracle/run.sh bench-crypto` runs them
//! beside the oracle's figures and `openssl speed`, and prints the ratios).
//!
//! * `signal/round_trip`: Alice encrypts a 120-byte message, Bob decrypts it, Bob
//!   replies, Alice decrypts: two DH ratchet steps per iteration, through the store API.
//! * `media/encrypt`, `media/decrypt`: 16 MiB in 64 KiB pushes, one thread.
//! * `media/encrypt_2core`: 16 MiB in 1 MiB pushes with `Parallelism::Two` (ciphertext
//!   hashes on a second thread).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::time::Duration;
use wa_proto::creds::SignedPreKey;
use wa_proto::keys::KeyPair;
use wa_proto::media::{MediaDecryptor, MediaEncryptor, MediaType, Parallelism};
use wa_proto::signal::keys::LocalIdentity;
use wa_proto::signal::store::{self, MemoryStore, TrustPolicy};
use wa_proto::signal::{CiphertextMessage, PreKeyBundle, ProtocolAddress, PublicKey};

fn signal(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut alice = MemoryStore::new(LocalIdentity {
        key_pair: KeyPair::generate(&mut rng),
        registration_id: 1,
    });
    let bob_id = KeyPair::generate(&mut rng);
    let mut bob = MemoryStore::new(LocalIdentity {
        key_pair: bob_id.clone(),
        registration_id: 2,
    });
    let spk = SignedPreKey::generate(&bob_id, 1, &mut rng);
    let bundle = PreKeyBundle {
        registration_id: 2,
        identity_key: PublicKey::from(&bob_id),
        signed_pre_key_id: 1,
        signed_pre_key: PublicKey::from(&spk.key),
        signed_pre_key_signature: spk.signature,
        pre_key: None,
    };
    bob.signed_pre_keys.insert(1, spk);
    let (a, b) = (
        ProtocolAddress::new("alice", 1),
        ProtocolAddress::new("bob", 2),
    );
    store::process_bundle(
        &mut alice,
        &b,
        &bundle,
        TrustPolicy::AcceptAndReport,
        &mut rng,
    )
    .unwrap();
    let msg = vec![0x42u8; 120];
    let mut g = c.benchmark_group("signal");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("round_trip", |bench| {
        bench.iter(|| {
            let m = store::encrypt(&mut alice, &b, &msg, TrustPolicy::AcceptAndReport).unwrap();
            let pk = matches!(m, CiphertextMessage::PreKey(_));
            store::decrypt(
                &mut bob,
                &a,
                pk,
                m.bytes(),
                TrustPolicy::AcceptAndReport,
                &mut rng,
            )
            .unwrap();
            let r = store::encrypt(&mut bob, &a, &msg, TrustPolicy::AcceptAndReport).unwrap();
            store::decrypt(
                &mut alice,
                &b,
                false,
                r.bytes(),
                TrustPolicy::AcceptAndReport,
                &mut rng,
            )
            .unwrap();
        })
    });
    g.finish();
}

const SIZE: usize = 16 << 20;
const CHUNK: usize = 64 << 10;
const BIG_CHUNK: usize = 1 << 20;

fn media(c: &mut Criterion) {
    let key = [7u8; 32];
    let plain: Vec<u8> = (0..SIZE).map(|i| (i * 31 + i / 7) as u8).collect();
    let mut body = Vec::with_capacity(SIZE + 64);
    {
        let mut e = MediaEncryptor::new(&key, MediaType::Video);
        e.update(&plain, &mut body);
        e.finish(&mut body);
    }
    let mut g = c.benchmark_group("media");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(6));
    let mut out = Vec::with_capacity(CHUNK + 64);
    g.bench_function("encrypt", |bench| {
        bench.iter(|| {
            let mut e = MediaEncryptor::new(&key, MediaType::Video);
            for c in plain.chunks(CHUNK) {
                out.clear();
                e.update(c, &mut out);
            }
            out.clear();
            e.finish(&mut out)
        })
    });
    let mut big = Vec::with_capacity(BIG_CHUNK + 64);
    g.bench_function("encrypt_2core", |bench| {
        bench.iter(|| {
            let mut e = MediaEncryptor::new(&key, MediaType::Video);
            for c in plain.chunks(BIG_CHUNK) {
                big.clear();
                e.update_with(c, &mut big, Parallelism::Two);
            }
            big.clear();
            e.finish(&mut big)
        })
    });
    g.bench_function("decrypt", |bench| {
        bench.iter(|| {
            let mut d = MediaDecryptor::new(&key, MediaType::Video);
            for c in body.chunks(CHUNK) {
                out.clear();
                d.update(c, &mut out);
            }
            out.clear();
            d.finish(&mut out, &Default::default()).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, signal, media);
criterion_main!(benches);
