//! Contract tests for [`SignalStore`] implementations, so every backend (the connector's
//! SQLite/Postgres stores as well as [`MemoryStore`](super::store::MemoryStore)) is held
//! to the same behaviour the protocol helpers rely on. Enabled by the `testing` feature.
//!
//! A backend provides a factory `FnMut(StoreSetup) -> S` that opens a fresh, empty store
//! holding the given identity and keys, then expands
//! [`signal_store_integration_tests!`](crate::signal_store_integration_tests) with it
//! inside a test module. Every contract function is also public, so a backend can call
//! one from its own harness (e.g. inside an async runtime) instead of using the macro.
//! Randomness is a seeded ChaCha RNG: the tests are deterministic.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::keys::{LocalIdentity, PreKeyBundle, PublicKey};
use super::sender_key::{SenderKeyName, SenderKeyRecord};
use super::session::SessionRecord;
use super::store::{self, IdentityChange, SignalStore, StoreOpError, TrustPolicy};
use super::{CiphertextMessage, EncryptError, ProtocolAddress, SetupError};
use crate::creds::SignedPreKey;
use crate::keys::KeyPair;
use crate::prekeys::{self, PreKey};

/// What a factory must put into the fresh store it opens: our identity and the pre-keys
/// the store traits only read (a backend stores them through its own API).
#[derive(Debug, Clone)]
pub struct StoreSetup {
    /// Our identity (returned by `local_identity`).
    pub local: LocalIdentity,
    /// Unused one-time pre-keys.
    pub pre_keys: Vec<PreKey>,
    /// Signed pre-keys.
    pub signed_pre_keys: Vec<SignedPreKey>,
}

/// One party of a contract test: its setup (for building bundles) and its store.
struct Party<S> {
    setup: StoreSetup,
    store: S,
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn setup(rng: &mut ChaCha20Rng, registration_id: u32, first_pre_key: u32) -> StoreSetup {
    let key_pair = KeyPair::generate(rng);
    let spk = SignedPreKey::generate(&key_pair, 7, rng);
    StoreSetup {
        local: LocalIdentity {
            key_pair,
            registration_id,
        },
        pre_keys: prekeys::generate(rng, first_pre_key, 3),
        signed_pre_keys: vec![spk],
    }
}

fn party<S, F: FnMut(StoreSetup) -> S>(make: &mut F, setup: StoreSetup) -> Party<S> {
    Party {
        store: make(setup.clone()),
        setup,
    }
}

fn bundle(setup: &StoreSetup, with_pre_key: bool) -> PreKeyBundle {
    let spk = &setup.signed_pre_keys[0];
    PreKeyBundle {
        registration_id: setup.local.registration_id,
        identity_key: PublicKey::from(&setup.local.key_pair),
        signed_pre_key_id: spk.id,
        signed_pre_key: PublicKey::from(&spk.key),
        signed_pre_key_signature: spk.signature,
        pre_key: with_pre_key.then(|| {
            let k = &setup.pre_keys[0];
            (k.id, PublicKey::from(&k.key))
        }),
    }
}

fn is_prekey(m: &CiphertextMessage) -> bool {
    matches!(m, CiphertextMessage::PreKey(_))
}

/// `local_identity` returns the identity the store was opened with.
pub fn local_identity_round_trips<S: SignalStore, F: FnMut(StoreSetup) -> S>(mut make: F) {
    let s = setup(&mut rng(1), 4242, 1);
    let store = make(s.clone());
    let got = store.local_identity().expect("local_identity");
    assert_eq!(got.registration_id, s.local.registration_id);
    assert_eq!(got.key_pair.public, s.local.key_pair.public);
    assert_eq!(
        got.key_pair.private_bytes(),
        s.local.key_pair.private_bytes()
    );
}

/// Peer identities: absent until saved, replaced on save, kept apart per device.
pub fn identities_are_per_address<S: SignalStore, F: FnMut(StoreSetup) -> S>(mut make: F) {
    let mut r = rng(2);
    let mut store = make(setup(&mut r, 1, 1));
    let a1 = ProtocolAddress::new("15550001111", 1);
    let a2 = ProtocolAddress::new("15550001111", 2);
    let k1 = PublicKey::from(&KeyPair::generate(&mut r));
    let k2 = PublicKey::from(&KeyPair::generate(&mut r));
    assert_eq!(store.load_identity(&a1).expect("load"), None);
    store.save_identity(&a1, k1).expect("save");
    assert_eq!(store.load_identity(&a1).expect("load"), Some(k1));
    assert_eq!(store.load_identity(&a2).expect("load"), None);
    store.save_identity(&a1, k2).expect("save again");
    assert_eq!(store.load_identity(&a1).expect("load"), Some(k2));
}

/// Session records come back byte-identical, are replaced on store, and are per address.
pub fn sessions_round_trip<S: SignalStore, F: FnMut(StoreSetup) -> S>(mut make: F) {
    let mut r = rng(3);
    let mut alice = party(&mut make, setup(&mut r, 1, 1));
    let bob = setup(&mut r, 2, 100);
    let addr = ProtocolAddress::new("bob", 3);
    let other = ProtocolAddress::new("bob", 4);
    assert!(alice.store.load_session(&addr).expect("load").is_none());
    store::process_bundle(
        &mut alice.store,
        &addr,
        &bundle(&bob, true),
        TrustPolicy::AcceptAndReport,
        &mut r,
    )
    .expect("process_bundle");
    let first = alice
        .store
        .load_session(&addr)
        .expect("load")
        .expect("stored");
    assert!(first.has_session());
    let mut archived = first.clone();
    archived.archive_current();
    alice.store.store_session(&addr, &archived).expect("store");
    let back = alice
        .store
        .load_session(&addr)
        .expect("load")
        .expect("stored");
    assert_eq!(back.serialize(), archived.serialize());
    assert!(!back.has_session());
    assert!(alice.store.load_session(&other).expect("load").is_none());
    alice
        .store
        .store_session(&other, &SessionRecord::new())
        .expect("store empty");
    let empty = alice
        .store
        .load_session(&other)
        .expect("load")
        .expect("stored");
    assert_eq!(empty.serialize(), SessionRecord::new().serialize());
    let _ = &alice.setup;
}

/// One-time pre-keys load until removed; removing an absent id is not an error.
pub fn pre_keys_are_consumed<S: SignalStore, F: FnMut(StoreSetup) -> S>(mut make: F) {
    let s = setup(&mut rng(4), 1, 50);
    let mut store = make(s.clone());
    for k in &s.pre_keys {
        let got = store.load_pre_key(k.id).expect("load").expect("present");
        assert_eq!((got.id, got.key.public), (k.id, k.key.public));
        assert_eq!(got.key.private_bytes(), k.key.private_bytes());
    }
    store.remove_pre_key(s.pre_keys[0].id).expect("remove");
    assert!(
        store
            .load_pre_key(s.pre_keys[0].id)
            .expect("load")
            .is_none()
    );
    assert!(
        store
            .load_pre_key(s.pre_keys[1].id)
            .expect("load")
            .is_some()
    );
    store
        .remove_pre_key(s.pre_keys[0].id)
        .expect("remove twice");
    store.remove_pre_key(999_999).expect("remove unknown");
}

/// Signed pre-keys load with their signature; unknown ids are `None`.
pub fn signed_pre_keys_load<S: SignalStore, F: FnMut(StoreSetup) -> S>(mut make: F) {
    let s = setup(&mut rng(5), 1, 1);
    let store = make(s.clone());
    let spk = &s.signed_pre_keys[0];
    let got = store
        .load_signed_pre_key(spk.id)
        .expect("load")
        .expect("present");
    assert_eq!((got.id, got.key.public), (spk.id, spk.key.public));
    assert_eq!(got.key.private_bytes(), spk.key.private_bytes());
    assert_eq!(got.signature, spk.signature);
    assert!(
        store
            .load_signed_pre_key(spk.id + 1)
            .expect("load")
            .is_none()
    );
}

/// Sender-key records come back byte-identical and are per (group, sender device).
pub fn sender_keys_round_trip<S: SignalStore, F: FnMut(StoreSetup) -> S>(mut make: F) {
    let mut r = rng(6);
    let mut store = make(setup(&mut r, 1, 1));
    let name = SenderKeyName {
        group_id: "120363000000000001@g.us".into(),
        sender: ProtocolAddress::new("alice", 0),
    };
    let other = SenderKeyName {
        group_id: "120363000000000002@g.us".into(),
        sender: ProtocolAddress::new("alice", 0),
    };
    assert!(store.load_sender_key(&name).expect("load").is_none());
    let mut rec = SenderKeyRecord::new();
    rec.create_distribution(&mut r);
    store.store_sender_key(&name, &rec).expect("store");
    let got = store.load_sender_key(&name).expect("load").expect("stored");
    assert_eq!(got.serialize(), rec.serialize());
    assert!(store.load_sender_key(&other).expect("load").is_none());
    rec.create_distribution(&mut r);
    store.store_sender_key(&name, &rec).expect("replace");
    let got = store.load_sender_key(&name).expect("load").expect("stored");
    assert_eq!(got.serialize(), rec.serialize());
}

/// A whole conversation through the helpers: `pkmsg` consumes the pre-key in the
/// store, both sides ratchet across many turns, identities are `New` then `Unchanged`.
pub fn conversation_through_store<S: SignalStore, F: FnMut(StoreSetup) -> S>(mut make: F) {
    let mut r = rng(7);
    let mut alice = party(&mut make, setup(&mut r, 11, 1));
    let mut bob = party(&mut make, setup(&mut r, 22, 200));
    let (a, b) = (
        ProtocolAddress::new("alice", 1),
        ProtocolAddress::new("bob", 2),
    );
    let pol = TrustPolicy::AcceptAndReport;
    let change =
        store::process_bundle(&mut alice.store, &b, &bundle(&bob.setup, true), pol, &mut r)
            .expect("process_bundle");
    assert_eq!(change, IdentityChange::New);
    let consumed = bob.setup.pre_keys[0].id;
    for turn in 0..6u8 {
        for i in 0..3u8 {
            let text = [turn, i, 0xa1];
            let m = store::encrypt(&mut alice.store, &b, &text, pol).expect("alice encrypt");
            let d = store::decrypt(&mut bob.store, &a, is_prekey(&m), m.bytes(), pol, &mut r)
                .expect("bob decrypt");
            assert_eq!(d.plaintext, text);
            let expect = if turn == 0 && i == 0 {
                IdentityChange::New
            } else {
                IdentityChange::Unchanged
            };
            assert_eq!(d.identity, expect);
            if turn == 0 && i == 0 {
                assert_eq!(d.consumed_pre_key, Some(consumed));
            }
        }
        assert!(bob.store.load_pre_key(consumed).expect("load").is_none());
        let text = [turn, 0xb0];
        let m = store::encrypt(&mut bob.store, &a, &text, pol).expect("bob encrypt");
        assert!(!is_prekey(&m));
        let d = store::decrypt(&mut alice.store, &b, false, m.bytes(), pol, &mut r)
            .expect("alice decrypt");
        assert_eq!(d.plaintext, text);
        assert_eq!(d.identity, IdentityChange::Unchanged);
    }
    let alice_key = PublicKey::from(&alice.setup.local.key_pair);
    assert_eq!(bob.store.load_identity(&a).expect("load"), Some(alice_key));
}

/// Under `RejectChanges` a changed identity fails with `UntrustedIdentity` and leaves
/// the stored session and identity exactly as they were.
pub fn rejected_identity_change_writes_nothing<S: SignalStore, F: FnMut(StoreSetup) -> S>(
    mut make: F,
) {
    let mut r = rng(8);
    let mut alice = party(&mut make, setup(&mut r, 11, 1));
    let bob = setup(&mut r, 22, 300);
    let b = ProtocolAddress::new("bob", 2);
    store::process_bundle(
        &mut alice.store,
        &b,
        &bundle(&bob, false),
        TrustPolicy::RejectChanges,
        &mut r,
    )
    .expect("first contact");
    let before = alice.store.load_session(&b).expect("load").expect("stored");
    let impostor = setup(&mut r, 22, 400);
    let err = store::process_bundle(
        &mut alice.store,
        &b,
        &bundle(&impostor, true),
        TrustPolicy::RejectChanges,
        &mut r,
    )
    .expect_err("identity changed");
    assert!(matches!(
        err,
        StoreOpError::Protocol(SetupError::UntrustedIdentity { .. })
    ));
    let after = alice.store.load_session(&b).expect("load").expect("stored");
    assert_eq!(after.serialize(), before.serialize());
    assert_eq!(
        alice.store.load_identity(&b).expect("load"),
        Some(PublicKey::from(&bob.local.key_pair))
    );
    let m = store::encrypt(&mut alice.store, &b, b"x", TrustPolicy::RejectChanges)
        .expect("old session still usable");
    assert!(is_prekey(&m));
    let unknown = ProtocolAddress::new("carol", 1);
    assert!(matches!(
        store::encrypt(&mut alice.store, &unknown, b"x", TrustPolicy::RejectChanges),
        Err(StoreOpError::Protocol(EncryptError::NoSession))
    ));
    let _ = &alice.setup;
}

/// Group messages through the store: our sender key is created once and advances;
/// a member's distribution lets it decrypt in order.
pub fn group_messages_through_store<S: SignalStore, F: FnMut(StoreSetup) -> S>(mut make: F) {
    let mut r = rng(9);
    let mut alice = make(setup(&mut r, 11, 1));
    let mut bob = make(setup(&mut r, 22, 1));
    let name = SenderKeyName {
        group_id: "120363000000000009@g.us".into(),
        sender: ProtocolAddress::new("alice", 0),
    };
    let dist = store::create_distribution(&mut alice, &name, &mut r).expect("distribution");
    store::process_distribution(&mut bob, &name, &dist).expect("process distribution");
    for i in 0..5u8 {
        let ct = store::group_encrypt(&mut alice, &name, &[i; 9], &mut r).expect("encrypt");
        let pt = store::group_decrypt(&mut bob, &name, &ct).expect("decrypt");
        assert_eq!(pt, [i; 9]);
    }
    let rec = alice.load_sender_key(&name).expect("load").expect("stored");
    assert!(rec.current().is_some_and(|st| st.iteration() == 5));
}

/// Expands to one `#[test]` per contract function in [`crate::signal::testing`], each
/// opening fresh stores through `$make: FnMut(StoreSetup) -> S` (a function path or a
/// closure). Invoke it inside a test module:
///
/// ```ignore
/// mod sql_signal_store {
///     fn open(setup: wa_proto::signal::testing::StoreSetup) -> MySqlStore { /* … */ }
///     wa_proto::signal_store_integration_tests!(open);
/// }
/// ```
#[macro_export]
macro_rules! signal_store_integration_tests {
    ($make:expr) => {
        $crate::signal_store_integration_tests!(@each $make;
            local_identity_round_trips,
            identities_are_per_address,
            sessions_round_trip,
            pre_keys_are_consumed,
            signed_pre_keys_load,
            sender_keys_round_trip,
            conversation_through_store,
            rejected_identity_change_writes_nothing,
            group_messages_through_store,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::signal::testing::$name($make);
            }
        )*
    };
}
