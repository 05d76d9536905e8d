//! Store traits for Signal state, split by concern under [`SignalStore`], the
//! in-memory [`MemoryStore`], and store-driven helpers ([`process_bundle`], [`encrypt`],
//! [`decrypt`], [`group_encrypt`], …).
//!
//! The traits are synchronous and take `&mut self`: the connector implements them over
//! an open database transaction, calls a helper, writes the message it belongs to and
//! commits, so Signal state changes commit atomically with their message. Each helper
//! computes everything in memory first and writes only after the protocol step
//! succeeded; on error nothing is written.
//!
//! Identity changes are never accepted silently: helpers return an [`IdentityChange`]
//! for the caller to surface as an event, and [`TrustPolicy::RejectChanges`] turns a
//! change into an `UntrustedIdentity` error instead.

use std::collections::HashMap;
use std::convert::Infallible;

use rand_core::{CryptoRng, RngCore};

use super::ProtocolAddress;
use super::cipher::{self, CiphertextMessage, PreKeySignalMessage};
use super::error::{DecryptError, EncryptError, GroupError, SetupError};
use super::group_cipher;
use super::keys::{LocalIdentity, PreKeyBundle, PublicKey};
use super::sender_key::{SenderKeyDistributionMessage, SenderKeyName, SenderKeyRecord};
use super::session::{SessionRecord, SessionState};
use crate::creds::SignedPreKey;
use crate::prekeys::PreKey;

/// The error type shared by all store traits of one backend.
pub trait StoreBase {
    /// The backend's error (`Infallible` for memory).
    type Error: std::error::Error + Send + Sync + 'static;
}

/// Our identity and the identities we have seen for peers.
pub trait IdentityStore: StoreBase {
    /// Our identity key pair and registration id.
    fn local_identity(&self) -> Result<LocalIdentity, Self::Error>;
    /// The identity key last accepted for `address`.
    fn load_identity(&self, address: &ProtocolAddress) -> Result<Option<PublicKey>, Self::Error>;
    /// Records `key` as the accepted identity for `address`.
    fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        key: PublicKey,
    ) -> Result<(), Self::Error>;
}

/// Session records per peer device.
pub trait SessionStore: StoreBase {
    /// The record for `address`, if any.
    fn load_session(&self, address: &ProtocolAddress)
    -> Result<Option<SessionRecord>, Self::Error>;
    /// Replaces the record for `address`.
    fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: &SessionRecord,
    ) -> Result<(), Self::Error>;
}

/// One-time pre-keys (each consumed by one incoming `pkmsg`).
pub trait PreKeyStore: StoreBase {
    /// The pre-key with `id`, if still unused.
    fn load_pre_key(&self, id: u32) -> Result<Option<PreKey>, Self::Error>;
    /// Deletes a consumed pre-key.
    fn remove_pre_key(&mut self, id: u32) -> Result<(), Self::Error>;
}

/// Signed pre-keys (long-lived, rotated).
pub trait SignedPreKeyStore: StoreBase {
    /// The signed pre-key with `id`.
    fn load_signed_pre_key(&self, id: u32) -> Result<Option<SignedPreKey>, Self::Error>;
}

/// Sender-key records per (group, sender device).
pub trait SenderKeyStore: StoreBase {
    /// The record for `name`, if any.
    fn load_sender_key(&self, name: &SenderKeyName)
    -> Result<Option<SenderKeyRecord>, Self::Error>;
    /// Replaces the record for `name`.
    fn store_sender_key(
        &mut self,
        name: &SenderKeyName,
        record: &SenderKeyRecord,
    ) -> Result<(), Self::Error>;
}

/// Everything the Signal layer stores; implemented automatically for any type that
/// implements the five concern traits.
pub trait SignalStore:
    IdentityStore + SessionStore + PreKeyStore + SignedPreKeyStore + SenderKeyStore
{
}
impl<T> SignalStore for T where
    T: IdentityStore + SessionStore + PreKeyStore + SignedPreKeyStore + SenderKeyStore
{
}

/// A protocol error or a store error from a store-driven helper.
#[derive(Debug, thiserror::Error)]
pub enum StoreOpError<P: std::error::Error + 'static, E: std::error::Error + 'static> {
    /// The protocol step failed; nothing was written.
    #[error(transparent)]
    Protocol(P),
    /// The store failed (roll the transaction back).
    #[error("signal store: {0}")]
    Store(#[source] E),
}

/// What to do when a peer's identity key differs from the one on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustPolicy {
    /// Accept and save the new key, and report [`IdentityChange::Changed`] (WhatsApp's
    /// behaviour: show "security code changed").
    #[default]
    AcceptAndReport,
    /// Refuse: the operation fails with `UntrustedIdentity` and nothing is written.
    RejectChanges,
}

/// How a peer's identity compares with the one on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityChange {
    /// First contact: the key was saved.
    New,
    /// Same key as before.
    Unchanged,
    /// The key differs from the recorded one (surface this to the user).
    Changed {
        /// The key on record before.
        previous: PublicKey,
    },
}

fn check_identity<S: IdentityStore + ?Sized>(
    store: &S,
    address: &ProtocolAddress,
    key: PublicKey,
    policy: TrustPolicy,
) -> Result<Result<IdentityChange, String>, S::Error> {
    Ok(match store.load_identity(address)? {
        None => Ok(IdentityChange::New),
        Some(k) if k == key => Ok(IdentityChange::Unchanged),
        Some(previous) => match policy {
            TrustPolicy::AcceptAndReport => Ok(IdentityChange::Changed { previous }),
            TrustPolicy::RejectChanges => Err(address.to_string()),
        },
    })
}

/// Starts a session with `address` from its pre-key bundle (verifying the signed
/// pre-key); the old session, if any, is archived. Our next message is a `pkmsg`.
pub fn process_bundle<S: SignalStore + ?Sized, R: RngCore + CryptoRng>(
    store: &mut S,
    address: &ProtocolAddress,
    bundle: &PreKeyBundle,
    policy: TrustPolicy,
    rng: &mut R,
) -> Result<IdentityChange, StoreOpError<SetupError, S::Error>> {
    bundle.verify_signature().map_err(StoreOpError::Protocol)?;
    let change = check_identity(store, address, bundle.identity_key, policy)
        .map_err(StoreOpError::Store)?
        .map_err(|address| StoreOpError::Protocol(SetupError::UntrustedIdentity { address }))?;
    let local = store.local_identity().map_err(StoreOpError::Store)?;
    let mut record = store
        .load_session(address)
        .map_err(StoreOpError::Store)?
        .unwrap_or_default();
    record.promote(SessionState::initiate(&local, bundle, rng));
    if change != IdentityChange::Unchanged {
        store
            .save_identity(address, bundle.identity_key)
            .map_err(StoreOpError::Store)?;
    }
    store
        .store_session(address, &record)
        .map_err(StoreOpError::Store)?;
    Ok(change)
}

/// Encrypts `plaintext` (already padded, see [`super::pad_message`]) for `address`.
pub fn encrypt<S: SignalStore + ?Sized>(
    store: &mut S,
    address: &ProtocolAddress,
    plaintext: &[u8],
    policy: TrustPolicy,
) -> Result<CiphertextMessage, StoreOpError<EncryptError, S::Error>> {
    let mut record = store
        .load_session(address)
        .map_err(StoreOpError::Store)?
        .ok_or(StoreOpError::Protocol(EncryptError::NoSession))?;
    let remote = record
        .current()
        .ok_or(StoreOpError::Protocol(EncryptError::NoSession))?
        .remote_identity();
    check_identity(store, address, remote, policy)
        .map_err(StoreOpError::Store)?
        .map_err(|address| StoreOpError::Protocol(EncryptError::UntrustedIdentity { address }))?;
    let msg = cipher::encrypt(&mut record, plaintext).map_err(StoreOpError::Protocol)?;
    store
        .store_session(address, &record)
        .map_err(StoreOpError::Store)?;
    Ok(msg)
}

/// A decrypted one-to-one message.
#[derive(Debug, Clone)]
pub struct Decrypted {
    /// The plaintext, still padded (see [`super::unpad_message`]).
    pub plaintext: Vec<u8>,
    /// How the sender's identity compares with the one on record (report `Changed`).
    pub identity: IdentityChange,
    /// The one-time pre-key this `pkmsg` consumed (already removed from the store).
    pub consumed_pre_key: Option<u32>,
}

/// Decrypts a `pkmsg` (`prekey = true`) or `msg` from `address`, then writes the
/// identity, the session record and the consumed pre-key removal.
pub fn decrypt<S: SignalStore + ?Sized, R: RngCore + CryptoRng>(
    store: &mut S,
    address: &ProtocolAddress,
    prekey: bool,
    bytes: &[u8],
    policy: TrustPolicy,
    rng: &mut R,
) -> Result<Decrypted, StoreOpError<DecryptError, S::Error>> {
    use StoreOpError::{Protocol, Store};
    let mut record = store
        .load_session(address)
        .map_err(Store)?
        .unwrap_or_default();
    let (plaintext, identity, consumed) = if prekey {
        let msg = PreKeySignalMessage::parse(bytes).map_err(Protocol)?;
        let local = store.local_identity().map_err(Store)?;
        let spk = store
            .load_signed_pre_key(msg.signed_pre_key_id)
            .map_err(Store)?;
        let otk = match msg.pre_key_id {
            Some(id) => store.load_pre_key(id).map_err(Store)?,
            None => None,
        };
        let out = cipher::decrypt_prekey_message(
            &mut record,
            &local,
            &msg,
            spk.as_ref().map(|s| &s.key),
            otk.as_ref().map(|k| &k.key),
            rng,
        )
        .map_err(Protocol)?;
        (out.plaintext, out.identity, out.consumed_pre_key)
    } else {
        if !record.has_session() && record.previous_count() == 0 {
            return Err(Protocol(DecryptError::NoSession));
        }
        let (p, id) = cipher::decrypt_message(&mut record, bytes, rng).map_err(Protocol)?;
        (p, id, None)
    };
    let change = check_identity(store, address, identity, policy)
        .map_err(Store)?
        .map_err(|address| Protocol(DecryptError::UntrustedIdentity { address }))?;
    if change != IdentityChange::Unchanged {
        store.save_identity(address, identity).map_err(Store)?;
    }
    store.store_session(address, &record).map_err(Store)?;
    if let Some(id) = consumed {
        store.remove_pre_key(id).map_err(Store)?;
    }
    Ok(Decrypted {
        plaintext,
        identity: change,
        consumed_pre_key: consumed,
    })
}

/// Our distribution message for `name` (creating our sender key on first use).
pub fn create_distribution<S: SenderKeyStore + ?Sized, R: RngCore + CryptoRng>(
    store: &mut S,
    name: &SenderKeyName,
    rng: &mut R,
) -> Result<SenderKeyDistributionMessage, S::Error> {
    let mut record = store.load_sender_key(name)?.unwrap_or_default();
    let msg = record.create_distribution(rng);
    store.store_sender_key(name, &record)?;
    Ok(msg)
}

/// Installs a member's distribution message for `name`.
pub fn process_distribution<S: SenderKeyStore + ?Sized>(
    store: &mut S,
    name: &SenderKeyName,
    msg: &SenderKeyDistributionMessage,
) -> Result<(), S::Error> {
    let mut record = store.load_sender_key(name)?.unwrap_or_default();
    record.process_distribution(msg);
    store.store_sender_key(name, &record)
}

/// Encrypts a group message with our sender key for `name`.
pub fn group_encrypt<S: SenderKeyStore + ?Sized, R: RngCore + CryptoRng>(
    store: &mut S,
    name: &SenderKeyName,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, StoreOpError<GroupError, S::Error>> {
    let mut record = store
        .load_sender_key(name)
        .map_err(StoreOpError::Store)?
        .ok_or(StoreOpError::Protocol(GroupError::NoOwnSenderKey))?;
    let out =
        group_cipher::group_encrypt(&mut record, plaintext, rng).map_err(StoreOpError::Protocol)?;
    store
        .store_sender_key(name, &record)
        .map_err(StoreOpError::Store)?;
    Ok(out)
}

/// Decrypts an `skmsg` from `name.sender` in `name.group_id`.
pub fn group_decrypt<S: SenderKeyStore + ?Sized>(
    store: &mut S,
    name: &SenderKeyName,
    bytes: &[u8],
) -> Result<Vec<u8>, StoreOpError<GroupError, S::Error>> {
    let mut record = store
        .load_sender_key(name)
        .map_err(StoreOpError::Store)?
        .ok_or(StoreOpError::Protocol(GroupError::NoSenderKey(0)))?;
    let out = group_cipher::group_decrypt(&mut record, bytes).map_err(StoreOpError::Protocol)?;
    store
        .store_sender_key(name, &record)
        .map_err(StoreOpError::Store)?;
    Ok(out)
}

/// An in-memory [`SignalStore`] for tests and tools.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    /// Our identity.
    pub local: LocalIdentity,
    /// Accepted peer identities.
    pub identities: HashMap<ProtocolAddress, PublicKey>,
    /// Session records.
    pub sessions: HashMap<ProtocolAddress, SessionRecord>,
    /// Unused one-time pre-keys.
    pub pre_keys: HashMap<u32, PreKey>,
    /// Signed pre-keys.
    pub signed_pre_keys: HashMap<u32, SignedPreKey>,
    /// Sender-key records.
    pub sender_keys: HashMap<SenderKeyName, SenderKeyRecord>,
}

impl MemoryStore {
    /// A store holding only our identity.
    pub fn new(local: LocalIdentity) -> Self {
        Self {
            local,
            identities: HashMap::new(),
            sessions: HashMap::new(),
            pre_keys: HashMap::new(),
            signed_pre_keys: HashMap::new(),
            sender_keys: HashMap::new(),
        }
    }
}

impl StoreBase for MemoryStore {
    type Error = Infallible;
}

impl IdentityStore for MemoryStore {
    fn local_identity(&self) -> Result<LocalIdentity, Infallible> {
        Ok(self.local.clone())
    }
    fn load_identity(&self, address: &ProtocolAddress) -> Result<Option<PublicKey>, Infallible> {
        Ok(self.identities.get(address).copied())
    }
    fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        key: PublicKey,
    ) -> Result<(), Infallible> {
        self.identities.insert(address.clone(), key);
        Ok(())
    }
}

impl SessionStore for MemoryStore {
    fn load_session(&self, address: &ProtocolAddress) -> Result<Option<SessionRecord>, Infallible> {
        Ok(self.sessions.get(address).cloned())
    }
    fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: &SessionRecord,
    ) -> Result<(), Infallible> {
        self.sessions.insert(address.clone(), record.clone());
        Ok(())
    }
}

impl PreKeyStore for MemoryStore {
    fn load_pre_key(&self, id: u32) -> Result<Option<PreKey>, Infallible> {
        Ok(self.pre_keys.get(&id).cloned())
    }
    fn remove_pre_key(&mut self, id: u32) -> Result<(), Infallible> {
        self.pre_keys.remove(&id);
        Ok(())
    }
}

impl SignedPreKeyStore for MemoryStore {
    fn load_signed_pre_key(&self, id: u32) -> Result<Option<SignedPreKey>, Infallible> {
        Ok(self.signed_pre_keys.get(&id).cloned())
    }
}

impl SenderKeyStore for MemoryStore {
    fn load_sender_key(&self, name: &SenderKeyName) -> Result<Option<SenderKeyRecord>, Infallible> {
        Ok(self.sender_keys.get(name).cloned())
    }
    fn store_sender_key(
        &mut self,
        name: &SenderKeyName,
        record: &SenderKeyRecord,
    ) -> Result<(), Infallible> {
        self.sender_keys.insert(name.clone(), record.clone());
        Ok(())
    }
}

const _: fn() = || {
    fn assert_store<S: SignalStore>() {}
    assert_store::<MemoryStore>();
};
