//! [`StagedStore`]: the Signal store traits over an in-memory cache, for a caller whose
//! database is asynchronous.
//!
//! The store traits are synchronous, so an async connector cannot read its database
//! from inside them. Instead it preloads every record an operation will read (a
//! recipient's session and identity, the one-time pre-key a `pkmsg` names, a group's
//! sender key), runs the synchronous helper against this cache, then takes the changes
//! ([`StagedStore::take_changes`]) and commits them in the same transaction as the
//! message they belong to. If that commit fails, [`StagedStore::discard_changes`] drops
//! the changed entries so the next operation reloads them from the database: the cache
//! never runs ahead of what was committed.
//!
//! Reading a record that was never preloaded is [`StagedError::NotLoaded`], a caller
//! bug surfaced loudly rather than mistaken for "no session yet". A record preloaded as
//! absent reads as `Ok(None)`.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use super::ProtocolAddress;
use super::keys::{LocalIdentity, PublicKey};
use super::sender_key::{SenderKeyName, SenderKeyRecord};
use super::session::SessionRecord;
use super::store::{
    IdentityStore, PreKeyStore, SenderKeyStore, SessionStore, SignedPreKeyStore, StoreBase,
};
use crate::creds::SignedPreKey;
use crate::prekeys::PreKey;

/// Why a [`StagedStore`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StagedError {
    /// The record was read without being preloaded first (names the record).
    #[error("signal record not preloaded: {0}")]
    NotLoaded(String),
}

/// Writes made since the last [`StagedStore::take_changes`], in a stable order, for the
/// caller to commit.
#[derive(Debug, Clone, Default)]
pub struct StagedChanges {
    /// Session records to write.
    pub sessions: Vec<(ProtocolAddress, SessionRecord)>,
    /// Peer identities to write.
    pub identities: Vec<(ProtocolAddress, PublicKey)>,
    /// One-time pre-keys consumed (delete them).
    pub removed_pre_keys: Vec<u32>,
    /// Sender-key records to write.
    pub sender_keys: Vec<(SenderKeyName, SenderKeyRecord)>,
}

impl StagedChanges {
    /// True when there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
            && self.identities.is_empty()
            && self.removed_pre_keys.is_empty()
            && self.sender_keys.is_empty()
    }
}

/// One kind of record: the loaded values (`None` = loaded as absent) and the keys
/// written since the last take.
#[derive(Debug, Clone)]
struct Table<K, V> {
    what: &'static str,
    cache: HashMap<K, Option<V>>,
    dirty: BTreeSet<K>,
}

impl<K: Clone + Eq + Hash + Ord + std::fmt::Display, V: Clone> Table<K, V> {
    fn new(what: &'static str) -> Self {
        Self {
            what,
            cache: HashMap::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// Installs what the database holds, unless a pending write is newer.
    fn preload(&mut self, key: K, value: Option<V>) {
        if !self.dirty.contains(&key) {
            self.cache.insert(key, value);
        }
    }

    fn is_loaded(&self, key: &K) -> bool {
        self.cache.contains_key(key)
    }

    fn get(&self, key: &K) -> Result<Option<V>, StagedError> {
        self.cache
            .get(key)
            .cloned()
            .ok_or_else(|| StagedError::NotLoaded(format!("{} {key}", self.what)))
    }

    /// A write needs no prior load: it replaces whatever the database holds.
    fn put(&mut self, key: K, value: Option<V>) {
        self.dirty.insert(key.clone());
        self.cache.insert(key, value);
    }

    fn take(&mut self) -> Vec<(K, Option<V>)> {
        std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|k| {
                let v = self.cache.get(&k).cloned().flatten();
                (k, v)
            })
            .collect()
    }

    fn discard(&mut self) {
        for k in std::mem::take(&mut self.dirty) {
            self.cache.remove(&k);
        }
    }

    fn evict_clean(&mut self) {
        let dirty = &self.dirty;
        self.cache.retain(|k, _| dirty.contains(k));
    }

    fn len(&self) -> usize {
        self.cache.len()
    }
}

/// Signal store traits over a cache of preloaded records plus a dirty set; see the
/// module docs for the load → operate → take → commit cycle.
#[derive(Debug, Clone)]
pub struct StagedStore {
    local: LocalIdentity,
    signed_pre_key: SignedPreKey,
    sessions: Table<ProtocolAddress, SessionRecord>,
    identities: Table<ProtocolAddress, PublicKey>,
    pre_keys: Table<u32, PreKey>,
    sender_keys: Table<SenderKeyName, SenderKeyRecord>,
}

impl StagedStore {
    /// An empty cache serving our identity and current signed pre-key (both come from
    /// the credentials, so they are never loaded).
    pub fn new(local: LocalIdentity, signed_pre_key: SignedPreKey) -> Self {
        Self {
            local,
            signed_pre_key,
            sessions: Table::new("session"),
            identities: Table::new("identity"),
            pre_keys: Table::new("pre-key"),
            sender_keys: Table::new("sender key"),
        }
    }

    /// Installs the database's session for `addr` (`None`: there is none). A pending
    /// uncommitted write for `addr` wins over the loaded value.
    pub fn preload_session(&mut self, addr: ProtocolAddress, rec: Option<SessionRecord>) {
        self.sessions.preload(addr, rec);
    }

    /// Installs the database's accepted identity for `addr` (`None`: first contact).
    pub fn preload_identity(&mut self, addr: ProtocolAddress, key: Option<PublicKey>) {
        self.identities.preload(addr, key);
    }

    /// Installs one-time pre-key `id` (`None`: already consumed or never issued).
    pub fn preload_pre_key(&mut self, id: u32, key: Option<PreKey>) {
        self.pre_keys.preload(id, key);
    }

    /// Installs the sender-key record for `name` (`None`: no distribution yet).
    pub fn preload_sender_key(&mut self, name: SenderKeyName, rec: Option<SenderKeyRecord>) {
        self.sender_keys.preload(name, rec);
    }

    /// True if the session for `addr` is cached (present or known absent).
    pub fn is_session_loaded(&self, addr: &ProtocolAddress) -> bool {
        self.sessions.is_loaded(addr)
    }

    /// True if the identity for `addr` is cached (present or known absent).
    pub fn is_identity_loaded(&self, addr: &ProtocolAddress) -> bool {
        self.identities.is_loaded(addr)
    }

    /// True if pre-key `id` is cached (present or known absent).
    pub fn is_pre_key_loaded(&self, id: u32) -> bool {
        self.pre_keys.is_loaded(&id)
    }

    /// True if the sender key for `name` is cached (present or known absent).
    pub fn is_sender_key_loaded(&self, name: &SenderKeyName) -> bool {
        self.sender_keys.is_loaded(name)
    }

    /// Returns the writes since the last call and forgets that they were pending; the
    /// cache keeps the new values, which are what the caller is about to commit.
    pub fn take_changes(&mut self) -> StagedChanges {
        fn present<K, V>(rows: Vec<(K, Option<V>)>) -> Vec<(K, V)> {
            rows.into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect()
        }
        StagedChanges {
            sessions: present(self.sessions.take()),
            identities: present(self.identities.take()),
            removed_pre_keys: self.pre_keys.take().into_iter().map(|(id, _)| id).collect(),
            sender_keys: present(self.sender_keys.take()),
        }
    }

    /// Forgets the pending writes after a failed commit: their entries leave the cache,
    /// so the next operation reloads what the database really holds.
    pub fn discard_changes(&mut self) {
        self.sessions.discard();
        self.identities.discard();
        self.pre_keys.discard();
        self.sender_keys.discard();
    }

    /// Empties the cache to bound memory. Entries with pending writes stay until
    /// [`take_changes`](Self::take_changes) or [`discard_changes`](Self::discard_changes),
    /// so evicting never loses a change.
    pub fn evict_all(&mut self) {
        self.sessions.evict_clean();
        self.identities.evict_clean();
        self.pre_keys.evict_clean();
        self.sender_keys.evict_clean();
    }

    /// Cached records of all kinds (for the caller's eviction policy).
    pub fn cached_records(&self) -> usize {
        self.sessions.len() + self.identities.len() + self.pre_keys.len() + self.sender_keys.len()
    }
}

// The connector keeps one per account behind an async mutex.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<StagedStore>();
};

impl StoreBase for StagedStore {
    type Error = StagedError;
}

impl IdentityStore for StagedStore {
    fn local_identity(&self) -> Result<LocalIdentity, StagedError> {
        Ok(self.local.clone())
    }
    fn load_identity(&self, address: &ProtocolAddress) -> Result<Option<PublicKey>, StagedError> {
        self.identities.get(address)
    }
    fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        key: PublicKey,
    ) -> Result<(), StagedError> {
        self.identities.put(address.clone(), Some(key));
        Ok(())
    }
}

impl SessionStore for StagedStore {
    fn load_session(
        &self,
        address: &ProtocolAddress,
    ) -> Result<Option<SessionRecord>, StagedError> {
        self.sessions.get(address)
    }
    fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: &SessionRecord,
    ) -> Result<(), StagedError> {
        self.sessions.put(address.clone(), Some(record.clone()));
        Ok(())
    }
}

impl PreKeyStore for StagedStore {
    fn load_pre_key(&self, id: u32) -> Result<Option<PreKey>, StagedError> {
        self.pre_keys.get(&id)
    }
    fn remove_pre_key(&mut self, id: u32) -> Result<(), StagedError> {
        self.pre_keys.put(id, None);
        Ok(())
    }
}

impl SignedPreKeyStore for StagedStore {
    /// Only the current signed pre-key is held; any other id is unknown.
    fn load_signed_pre_key(&self, id: u32) -> Result<Option<SignedPreKey>, StagedError> {
        Ok((id == self.signed_pre_key.id).then(|| self.signed_pre_key.clone()))
    }
}

impl SenderKeyStore for StagedStore {
    fn load_sender_key(
        &self,
        name: &SenderKeyName,
    ) -> Result<Option<SenderKeyRecord>, StagedError> {
        self.sender_keys.get(name)
    }
    fn store_sender_key(
        &mut self,
        name: &SenderKeyName,
        record: &SenderKeyRecord,
    ) -> Result<(), StagedError> {
        self.sender_keys.put(name.clone(), Some(record.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::keys::KeyPair;
    use crate::prekeys;
    use crate::signal::CiphertextMessage;
    use crate::signal::keys::PreKeyBundle;
    use crate::signal::store::{
        self, IdentityChange, MemoryStore, SignalStore, StoreOpError, TrustPolicy,
    };

    const POLICY: TrustPolicy = TrustPolicy::AcceptAndReport;

    /// One device's key material, shared by the memory and staged runs.
    struct Device {
        local: LocalIdentity,
        spk: SignedPreKey,
        pre_keys: Vec<PreKey>,
    }

    fn device(seed: u64, registration_id: u32, first_pre_key: u32) -> Device {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let key_pair = KeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&key_pair, 9, &mut rng);
        Device {
            local: LocalIdentity {
                key_pair,
                registration_id,
            },
            spk,
            pre_keys: prekeys::generate(&mut rng, first_pre_key, 2),
        }
    }

    fn bundle(d: &Device) -> PreKeyBundle {
        PreKeyBundle {
            registration_id: d.local.registration_id,
            identity_key: PublicKey::from(&d.local.key_pair),
            signed_pre_key_id: d.spk.id,
            signed_pre_key: PublicKey::from(&d.spk.key),
            signed_pre_key_signature: d.spk.signature,
            pre_key: Some((d.pre_keys[0].id, PublicKey::from(&d.pre_keys[0].key))),
        }
    }

    fn memory(d: &Device) -> MemoryStore {
        let mut s = MemoryStore::new(d.local.clone());
        s.pre_keys = d.pre_keys.iter().map(|k| (k.id, k.clone())).collect();
        s.signed_pre_keys.insert(d.spk.id, d.spk.clone());
        s
    }

    fn staged(d: &Device) -> StagedStore {
        StagedStore::new(d.local.clone(), d.spk.clone())
    }

    fn alice_addr() -> ProtocolAddress {
        ProtocolAddress::new("15550001", 3)
    }
    fn bob_addr() -> ProtocolAddress {
        ProtocolAddress::new("15550002", 7)
    }
    fn group_name() -> SenderKeyName {
        SenderKeyName {
            group_id: "120363000000000042@g.us".into(),
            sender: alice_addr(),
        }
    }

    /// Everything observable from a conversation: ciphertexts, plaintexts, identity
    /// results and consumed pre-keys, in order.
    #[derive(Debug, PartialEq, Eq)]
    struct Transcript(Vec<Vec<u8>>);

    /// Alice starts a session from Bob's bundle, they talk both ways, then Alice sends
    /// to a group Bob is in. Deterministic given the seed.
    fn converse<S: SignalStore>(
        alice: &mut S,
        bob: &mut S,
        bob_dev: &Device,
        seed: u64,
    ) -> Transcript {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut out = Vec::new();
        let change = store::process_bundle(alice, &bob_addr(), &bundle(bob_dev), POLICY, &mut rng)
            .expect("process_bundle");
        assert_eq!(change, IdentityChange::New);
        for i in 0..3u8 {
            let m = store::encrypt(alice, &bob_addr(), &[i, 1, 2], POLICY).expect("encrypt");
            let pk = matches!(m, CiphertextMessage::PreKey(_));
            let d = store::decrypt(bob, &alice_addr(), pk, m.bytes(), POLICY, &mut rng)
                .expect("decrypt");
            out.push(m.bytes().to_vec());
            out.push(d.plaintext);
            out.push(vec![u8::from(pk), u8::from(d.consumed_pre_key.is_some())]);
        }
        let m = store::encrypt(bob, &alice_addr(), b"reply", POLICY).expect("bob encrypt");
        let d = store::decrypt(alice, &bob_addr(), false, m.bytes(), POLICY, &mut rng)
            .expect("alice decrypt");
        out.push(m.bytes().to_vec());
        out.push(d.plaintext);
        let dist = store::create_distribution(alice, &group_name(), &mut rng).expect("dist");
        store::process_distribution(bob, &group_name(), &dist).expect("process dist");
        for i in 0..2u8 {
            let ct = store::group_encrypt(alice, &group_name(), &[i; 5], &mut rng).expect("ge");
            let pt = store::group_decrypt(bob, &group_name(), &ct).expect("gd");
            out.push(ct);
            out.push(pt);
        }
        Transcript(out)
    }

    /// Preloads exactly what [`converse`] reads, as an empty database would hold it.
    fn preload_fresh(alice: &mut StagedStore, bob: &mut StagedStore, bob_dev: &Device) {
        alice.preload_session(bob_addr(), None);
        alice.preload_identity(bob_addr(), None);
        alice.preload_sender_key(group_name(), None);
        bob.preload_session(alice_addr(), None);
        bob.preload_identity(alice_addr(), None);
        bob.preload_pre_key(bob_dev.pre_keys[0].id, Some(bob_dev.pre_keys[0].clone()));
        bob.preload_sender_key(group_name(), None);
    }

    #[test]
    fn conversation_matches_memory_store() {
        let (a, b) = (device(1, 11, 1), device(2, 22, 100));
        let (mut ma, mut mb) = (memory(&a), memory(&b));
        let expected = converse(&mut ma, &mut mb, &b, 77);

        let (mut sa, mut sb) = (staged(&a), staged(&b));
        preload_fresh(&mut sa, &mut sb, &b);
        let got = converse(&mut sa, &mut sb, &b, 77);
        assert_eq!(got, expected);
        assert_eq!(got.0.len(), 3 * 3 + 2 + 2 * 2);
        // The first message was a pkmsg that consumed Bob's pre-key; later ones were not.
        assert_eq!(got.0[2], vec![1, 1]);
        assert_eq!(got.0[8], vec![1, 0]);

        // What Bob has to commit is exactly what the memory store holds now.
        let changes = sb.take_changes();
        assert_eq!(changes.removed_pre_keys, vec![b.pre_keys[0].id]);
        assert!(!mb.pre_keys.contains_key(&b.pre_keys[0].id));
        assert_eq!(changes.sessions.len(), 1);
        assert_eq!(changes.sessions[0].0, alice_addr());
        assert_eq!(
            changes.sessions[0].1.serialize(),
            mb.sessions[&alice_addr()].serialize()
        );
        assert_eq!(
            changes.identities,
            vec![(alice_addr(), PublicKey::from(&a.local.key_pair))]
        );
        assert_eq!(changes.sender_keys.len(), 1);
        assert_eq!(
            changes.sender_keys[0].1.serialize(),
            mb.sender_keys[&group_name()].serialize()
        );
        assert!(sb.take_changes().is_empty(), "take clears the dirty set");

        let changes = sa.take_changes();
        assert!(changes.removed_pre_keys.is_empty());
        assert_eq!(
            changes.identities,
            vec![(bob_addr(), PublicKey::from(&b.local.key_pair))]
        );
        assert_eq!(
            changes.sessions[0].1.serialize(),
            ma.sessions[&bob_addr()].serialize()
        );
        assert_eq!(
            changes.sender_keys[0].1.serialize(),
            ma.sender_keys[&group_name()].serialize()
        );
    }

    #[test]
    fn committed_changes_reload_into_a_fresh_cache() {
        let (a, b) = (device(1, 11, 1), device(2, 22, 100));
        let (mut sa, mut sb) = (staged(&a), staged(&b));
        preload_fresh(&mut sa, &mut sb, &b);
        converse(&mut sa, &mut sb, &b, 5);
        // "Commit" Bob's changes as bytes, then start a new cache from them.
        let changes = sb.take_changes();
        let mut fresh = staged(&b);
        let (addr, rec) = &changes.sessions[0];
        let rec = SessionRecord::deserialize(&rec.serialize()).expect("record");
        fresh.preload_session(addr.clone(), Some(rec));
        fresh.preload_identity(addr.clone(), Some(changes.identities[0].1));
        let m = store::encrypt(&mut sa, &bob_addr(), b"later", POLICY).expect("encrypt");
        assert!(matches!(m, CiphertextMessage::Whisper(_)));
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let d = store::decrypt(
            &mut fresh,
            &alice_addr(),
            false,
            m.bytes(),
            POLICY,
            &mut rng,
        )
        .expect("decrypt after reload");
        assert_eq!(d.plaintext, b"later");
        assert_eq!(d.identity, IdentityChange::Unchanged);
    }

    #[test]
    fn reading_unloaded_records_is_an_error() {
        let a = device(1, 11, 1);
        let mut s = staged(&a);
        assert_eq!(
            s.load_session(&bob_addr()).unwrap_err(),
            StagedError::NotLoaded("session 15550002.7".into())
        );
        assert_eq!(
            s.load_identity(&bob_addr()).unwrap_err(),
            StagedError::NotLoaded("identity 15550002.7".into())
        );
        assert_eq!(
            s.load_pre_key(5).unwrap_err(),
            StagedError::NotLoaded("pre-key 5".into())
        );
        assert_eq!(
            s.load_sender_key(&group_name()).unwrap_err(),
            StagedError::NotLoaded("sender key 120363000000000042@g.us/15550001.3".into())
        );
        // Loaded as absent is a plain None.
        s.preload_session(bob_addr(), None);
        s.preload_pre_key(5, None);
        assert!(s.is_session_loaded(&bob_addr()));
        assert!(!s.is_identity_loaded(&bob_addr()));
        assert!(s.load_session(&bob_addr()).unwrap().is_none());
        assert!(s.load_pre_key(5).unwrap().is_none());
        // Our own material needs no preload.
        assert_eq!(s.local_identity().unwrap().registration_id, 11);
        assert_eq!(s.load_signed_pre_key(9).unwrap().unwrap().id, 9);
        assert!(s.load_signed_pre_key(10).unwrap().is_none());
        // Helpers surface the caller bug as a store error, writing nothing.
        let err = store::encrypt(&mut s, &alice_addr(), b"x", POLICY).unwrap_err();
        assert!(matches!(
            err,
            StoreOpError::Store(StagedError::NotLoaded(_))
        ));
        assert!(s.take_changes().is_empty());
    }

    #[test]
    fn discard_drops_dirty_entries_for_reload() {
        let (a, b) = (device(1, 11, 1), device(2, 22, 100));
        let mut s = staged(&a);
        let other = ProtocolAddress::new("15550003", 1);
        s.preload_session(other.clone(), None);
        s.preload_identity(bob_addr(), None);
        s.preload_session(bob_addr(), None);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        store::process_bundle(&mut s, &bob_addr(), &bundle(&b), POLICY, &mut rng).unwrap();
        s.remove_pre_key(44).unwrap();
        s.discard_changes();
        assert!(!s.is_session_loaded(&bob_addr()));
        assert!(!s.is_identity_loaded(&bob_addr()));
        assert!(!s.is_pre_key_loaded(44));
        assert!(s.is_session_loaded(&other), "clean entries stay cached");
        assert!(s.take_changes().is_empty());
        // Reloading after the failed commit sees the database's state again.
        s.preload_session(bob_addr(), None);
        assert!(s.load_session(&bob_addr()).unwrap().is_none());
    }

    #[test]
    fn pending_writes_survive_preload_and_eviction() {
        let a = device(1, 11, 1);
        let mut s = staged(&a);
        let key = PublicKey::from(&KeyPair::generate(&mut ChaCha20Rng::seed_from_u64(9)));
        s.save_identity(&bob_addr(), key).unwrap();
        s.preload_identity(bob_addr(), None);
        s.preload_session(alice_addr(), None);
        assert_eq!(s.load_identity(&bob_addr()).unwrap(), Some(key));
        assert_eq!(s.cached_records(), 2);
        s.evict_all();
        assert_eq!(s.cached_records(), 1);
        assert!(!s.is_session_loaded(&alice_addr()));
        let changes = s.take_changes();
        assert_eq!(changes.identities, vec![(bob_addr(), key)]);
        s.evict_all();
        assert_eq!(s.cached_records(), 0);
    }
}
