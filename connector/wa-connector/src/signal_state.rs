//! Signal state between the async store and wa-proto's synchronous Signal helpers.
//!
//! Each account keeps one [`SignalCache`] behind a mutex: a [`StagedStore`] holding the
//! records used recently and the changes not yet committed. An operation locks it,
//! loads what it will read ([`SignalCache::load`]), runs the wa-proto helper, and
//! commits [`SignalCache::take_writes`] in the same store transaction as the message
//! it belongs to, still holding the lock. If that commit fails the caller calls
//! [`SignalCache::discard`], so the cache never runs ahead of the database.
//!
//! The lock is never held while waiting for the server: receiving and sending take
//! turns on the same session records, and a sender waiting for an answer that the
//! receiver must read first would deadlock.

use std::collections::HashMap;

use wa_proto::Credentials;
use wa_proto::keys::KeyPair;
use wa_proto::prekeys::PreKey;
use wa_proto::signal::ProtocolAddress;
use wa_proto::signal::keys::{LocalIdentity, PublicKey};
use wa_proto::signal::sender_key::{SenderKeyName, SenderKeyRecord};
use wa_proto::signal::session::SessionRecord;
use wa_proto::signal::staged::{StagedChanges, StagedStore};
use wa_store::{AccountId, DynStore, SenderKeyId, SignalWrites, StoreError};

/// Cached records beyond which the cache is emptied before loading more (bounds the
/// memory of an account that talks to many peers; idle accounts hold almost nothing).
pub const MAX_CACHED_RECORDS: usize = 1024;

/// What an operation is about to read.
#[derive(Debug, Default, Clone)]
pub struct Needs {
    /// Peer devices whose session and identity are read.
    pub devices: Vec<ProtocolAddress>,
    /// One-time pre-keys a `pkmsg` names.
    pub pre_keys: Vec<u32>,
    /// Sender keys (group, sender device).
    pub sender_keys: Vec<SenderKeyName>,
}

/// One account's Signal records in memory, see the module docs.
#[derive(Default)]
pub struct SignalCache {
    staged: Option<StagedStore>,
    /// The identity the staged store was built for: new credentials (a re-link) start
    /// an empty cache.
    identity: Option<[u8; 32]>,
}

impl std::fmt::Debug for SignalCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalCache")
            .field("ready", &self.staged.is_some())
            .field(
                "cached_records",
                &self.staged.as_ref().map_or(0, StagedStore::cached_records),
            )
            .finish()
    }
}

impl SignalCache {
    /// Makes the cache serve `creds` (our identity and signed pre-key), emptying it if
    /// they changed.
    pub fn bind(&mut self, creds: &Credentials) {
        let identity = creds.identity_key.public;
        if self.identity == Some(identity) && self.staged.is_some() {
            return;
        }
        let local = LocalIdentity {
            key_pair: KeyPair::from_private(creds.identity_key.private_bytes()),
            registration_id: creds.registration_id,
        };
        self.staged = Some(StagedStore::new(local, creds.signed_pre_key.clone()));
        self.identity = Some(identity);
    }

    /// The staged store, once [`bind`](Self::bind) was called.
    pub fn staged(&mut self) -> Option<&mut StagedStore> {
        self.staged.as_mut()
    }

    /// Loads from the store every record in `needs` the cache does not hold yet.
    pub async fn load(
        &mut self,
        store: &DynStore,
        account: &AccountId,
        needs: &Needs,
    ) -> Result<(), StoreError> {
        let Some(staged) = self.staged.as_mut() else {
            return Ok(());
        };
        if staged.cached_records() + 2 * needs.devices.len() > MAX_CACHED_RECORDS {
            staged.evict_all();
        }
        let missing: Vec<&ProtocolAddress> = needs
            .devices
            .iter()
            .filter(|a| !staged.is_session_loaded(a) || !staged.is_identity_loaded(a))
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|a| a.to_string()).collect();
            let mut sessions: HashMap<String, Vec<u8>> = store
                .load_sessions(account, &names)
                .await?
                .into_iter()
                .collect();
            let mut identities: HashMap<String, Vec<u8>> = store
                .load_identities(account, &names)
                .await?
                .into_iter()
                .collect();
            for (addr, name) in missing.into_iter().zip(names) {
                let session = sessions
                    .remove(&name)
                    .map(|b| {
                        SessionRecord::deserialize(&b)
                            .map_err(|e| StoreError::Corrupt(format!("session {name}: {e}")))
                    })
                    .transpose()?;
                let identity = identities
                    .remove(&name)
                    .map(|b| {
                        PublicKey::deserialize(&b)
                            .ok_or_else(|| StoreError::Corrupt(format!("identity key {name}")))
                    })
                    .transpose()?;
                staged.preload_session(addr.clone(), session);
                staged.preload_identity(addr.clone(), identity);
            }
        }
        for &id in &needs.pre_keys {
            if staged.is_pre_key_loaded(id) {
                continue;
            }
            let key = store.get_prekey(account, id).await?.map(|k| PreKey {
                id: k.id,
                key: KeyPair::from_private(k.private),
            });
            staged.preload_pre_key(id, key);
        }
        for name in &needs.sender_keys {
            if staged.is_sender_key_loaded(name) {
                continue;
            }
            let record = store
                .load_sender_key(account, &sender_key_id(name))
                .await?
                .map(|b| {
                    SenderKeyRecord::deserialize(&b)
                        .map_err(|e| StoreError::Corrupt(format!("sender key {name:?}: {e}")))
                })
                .transpose()?;
            staged.preload_sender_key(name.clone(), record);
        }
        Ok(())
    }

    /// The changes made since the last call, as the store writes them.
    pub fn take_writes(&mut self) -> SignalWrites {
        match self.staged.as_mut() {
            Some(s) => to_writes(s.take_changes()),
            None => SignalWrites::default(),
        }
    }

    /// Forgets uncommitted changes (their records are reloaded next time).
    pub fn discard(&mut self) {
        if let Some(s) = self.staged.as_mut() {
            s.discard_changes();
        }
    }
}

/// The store's name for a sender key.
pub fn sender_key_id(name: &SenderKeyName) -> SenderKeyId {
    SenderKeyId {
        group: name.group_id.clone(),
        sender: name.sender.to_string(),
    }
}

/// Serializes staged changes for [`wa_store::ChangeStore::commit`].
pub fn to_writes(changes: StagedChanges) -> SignalWrites {
    SignalWrites {
        sessions: changes
            .sessions
            .into_iter()
            .map(|(a, r)| (a.to_string(), r.serialize()))
            .collect(),
        identities: changes
            .identities
            .into_iter()
            .map(|(a, k)| (a.to_string(), k.serialize().to_vec()))
            .collect(),
        sender_keys: changes
            .sender_keys
            .into_iter()
            .map(|(n, r)| (sender_key_id(&n), r.serialize()))
            .collect(),
        consumed_prekeys: changes.removed_pre_keys,
        ..SignalWrites::default()
    }
}
