//! Property tests for the ratchet: any delivery order within the skip bound decrypts
//! every message exactly once, replays are rejected as duplicates, tampered or random
//! bytes are typed errors (never panics) and leave the session usable.

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_proto::creds::SignedPreKey;
use wa_proto::keys::KeyPair;
use wa_proto::prekeys::PreKey;
use wa_proto::signal::cipher::{self, CiphertextMessage};
use wa_proto::signal::error::DecryptError;
use wa_proto::signal::keys::LocalIdentity;
use wa_proto::signal::store::{self, MemoryStore, StoreOpError, TrustPolicy};
use wa_proto::signal::{PreKeyBundle, ProtocolAddress, PublicKey, SessionRecord};

struct Pair {
    alice: MemoryStore,
    bob: MemoryStore,
    rng: ChaCha20Rng,
}

fn pair(seed: u64) -> Pair {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let alice = MemoryStore::new(LocalIdentity {
        key_pair: KeyPair::generate(&mut rng),
        registration_id: 1,
    });
    let bob_id = KeyPair::generate(&mut rng);
    let mut bob = MemoryStore::new(LocalIdentity {
        key_pair: bob_id.clone(),
        registration_id: 2,
    });
    let spk = SignedPreKey::generate(&bob_id, 1, &mut rng);
    let opk = PreKey {
        id: 9,
        key: KeyPair::generate(&mut rng),
    };
    let bundle = PreKeyBundle {
        registration_id: 2,
        identity_key: PublicKey::from(&bob_id),
        signed_pre_key_id: 1,
        signed_pre_key: PublicKey::from(&spk.key),
        signed_pre_key_signature: spk.signature,
        pre_key: Some((9, PublicKey::from(&opk.key))),
    };
    bob.signed_pre_keys.insert(1, spk);
    bob.pre_keys.insert(9, opk);
    let mut p = Pair { alice, bob, rng };
    store::process_bundle(
        &mut p.alice,
        &b(),
        &bundle,
        TrustPolicy::RejectChanges,
        &mut p.rng,
    )
    .unwrap();
    p
}

fn a() -> ProtocolAddress {
    ProtocolAddress::new("alice", 1)
}
fn b() -> ProtocolAddress {
    ProtocolAddress::new("bob", 2)
}

fn send(st: &mut MemoryStore, to: &ProtocolAddress, text: &[u8]) -> CiphertextMessage {
    store::encrypt(st, to, text, TrustPolicy::RejectChanges).unwrap()
}

fn recv(p: &mut Pair, to_bob: bool, m: &CiphertextMessage) -> Result<Vec<u8>, DecryptError> {
    let (st, from) = if to_bob {
        (&mut p.bob, a())
    } else {
        (&mut p.alice, b())
    };
    let pk = matches!(m, CiphertextMessage::PreKey(_));
    store::decrypt(
        st,
        &from,
        pk,
        m.bytes(),
        TrustPolicy::RejectChanges,
        &mut p.rng,
    )
    .map(|d| d.plaintext)
    .map_err(|e| match e {
        StoreOpError::Protocol(e) => e,
        StoreOpError::Store(never) => match never {},
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_order_decrypts_exactly_once(seed in any::<u64>(), order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle(), replies in 1usize..4) {
        let mut p = pair(seed);
        // First establish the session both ways, then a burst delivered in any order.
        let hello = send(&mut p.alice, &b(), b"hello");
        prop_assert_eq!(recv(&mut p, true, &hello).unwrap(), b"hello".to_vec());
        for r in 0..replies {
            let m = send(&mut p.bob, &a(), format!("reply {r}").as_bytes());
            prop_assert!(recv(&mut p, false, &m).is_ok());
        }
        let msgs: Vec<_> = (0..40).map(|i| send(&mut p.alice, &b(), format!("m{i}").as_bytes())).collect();
        for &i in &order {
            prop_assert_eq!(recv(&mut p, true, &msgs[i]).unwrap(), format!("m{i}").into_bytes());
        }
        for &i in order.iter().take(5) {
            let dup = matches!(recv(&mut p, true, &msgs[i]), Err(DecryptError::Duplicate { .. }));
            prop_assert!(dup);
        }
        // Still works both ways afterwards.
        let m = send(&mut p.bob, &a(), b"after");
        prop_assert_eq!(recv(&mut p, false, &m).unwrap(), b"after".to_vec());
    }

    #[test]
    fn tampering_is_a_typed_error_and_harmless(seed in any::<u64>(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut p = pair(seed);
        let hello = send(&mut p.alice, &b(), b"hello");
        recv(&mut p, true, &hello).unwrap();
        let m = send(&mut p.bob, &a(), b"secret");
        let mut bytes = m.bytes().to_vec();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let before = p.alice.sessions[&b()].serialize();
        prop_assert!(recv(&mut p, false, &CiphertextMessage::Whisper(bytes)).is_err());
        prop_assert_eq!(p.alice.sessions[&b()].serialize(), before);
        prop_assert_eq!(recv(&mut p, false, &m).unwrap(), b"secret".to_vec());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut rec = SessionRecord::new();
        let _ = cipher::decrypt_message(&mut rec, &bytes, &mut rng);
        let _ = cipher::PreKeySignalMessage::parse(&bytes);
        let _ = wa_proto::signal::sender_key::SenderKeyDistributionMessage::parse(&bytes);
        let mut sk = wa_proto::signal::sender_key::SenderKeyRecord::new();
        let _ = wa_proto::signal::group_cipher::group_decrypt(&mut sk, &bytes);
        let _ = wa_proto::media::decrypt(&[0; 32], wa_proto::media::MediaType::Image, &bytes, &Default::default());
        let _ = SessionRecord::deserialize(&bytes);
    }
}

#[test]
fn skip_bound_and_wrong_version_are_typed() {
    let mut p = pair(7);
    let hello = send(&mut p.alice, &b(), b"hello");
    recv(&mut p, true, &hello).unwrap();
    let m = send(&mut p.bob, &a(), b"x");
    recv(&mut p, false, &m).unwrap();
    let mut last = None;
    for _ in 0..2002 {
        last = Some(send(&mut p.alice, &b(), b"far"));
    }
    assert!(matches!(
        recv(&mut p, true, last.as_ref().unwrap()),
        Err(DecryptError::TooFarAhead { .. })
    ));
    let mut bytes = m.bytes().to_vec();
    bytes[0] = 0x22;
    assert_eq!(
        recv(&mut p, false, &CiphertextMessage::Whisper(bytes)),
        Err(DecryptError::BadVersion(0x22))
    );
}

#[test]
fn identity_change_is_reported_or_rejected() {
    let mut p = pair(3);
    let hello = send(&mut p.alice, &b(), b"hello");
    let d = store::decrypt(
        &mut p.bob,
        &a(),
        true,
        hello.bytes(),
        TrustPolicy::RejectChanges,
        &mut p.rng,
    )
    .unwrap();
    assert_eq!(d.identity, store::IdentityChange::New);
    assert_eq!(d.consumed_pre_key, Some(9));
    // Bob has someone else's key on record for alice now.
    let other = PublicKey::from(&KeyPair::generate(&mut p.rng));
    p.bob.identities.insert(a(), other);
    let m = send(&mut p.alice, &b(), b"again");
    let mut strict = p.bob.clone();
    assert!(matches!(
        store::decrypt(
            &mut strict,
            &a(),
            true,
            m.bytes(),
            TrustPolicy::RejectChanges,
            &mut p.rng
        ),
        Err(StoreOpError::Protocol(
            DecryptError::UntrustedIdentity { .. }
        ))
    ));
    let d = store::decrypt(
        &mut p.bob,
        &a(),
        true,
        m.bytes(),
        TrustPolicy::AcceptAndReport,
        &mut p.rng,
    )
    .unwrap();
    assert_eq!(
        d.identity,
        store::IdentityChange::Changed { previous: other }
    );
}
