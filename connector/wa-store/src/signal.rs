//! Signal protocol state per account (sessions, peer identities, sender keys, and
//! which devices already hold our sender key for a group), as opaque records.
//!
//! The store never interprets these bytes: the connector serializes wa-proto's records
//! and names peers by their protocol address (`user.device`). Reads happen before a
//! stanza is handled; every write goes through [`Changes`](crate::Changes), in the
//! same transaction as the message the state change belongs to.

use std::collections::BTreeSet;

use async_trait::async_trait;

use crate::account::{AccountId, MAX_TEXT_LEN};
use crate::error::Result;
use crate::validate;

/// A sender-key record's name: the group and the sending device's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SenderKeyId {
    /// The group JID (`…@g.us`).
    pub group: String,
    /// The sender's protocol address (`user.device`).
    pub sender: String,
}

/// Signal state an operation changed, committed with the stanza it belongs to.
///
/// Addresses are wa-proto protocol addresses as text (`user.device`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalWrites {
    /// Session records to insert or replace, by peer address.
    pub sessions: Vec<(String, Vec<u8>)>,
    /// Accepted peer identity keys to insert or replace, by peer address.
    pub identities: Vec<(String, Vec<u8>)>,
    /// Sender-key records to insert or replace.
    pub sender_keys: Vec<(SenderKeyId, Vec<u8>)>,
    /// One-time pre-keys consumed by an incoming `pkmsg` (deleted).
    pub consumed_prekeys: Vec<u32>,
    /// Devices that now hold our current sender key for a group: `(group, address)`.
    pub sender_key_shared: Vec<(String, String)>,
    /// Groups whose "who holds our sender key" list is reset (we rotated our key).
    pub sender_key_reset: Vec<String>,
}

impl SignalWrites {
    /// Whether nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
            && self.identities.is_empty()
            && self.sender_keys.is_empty()
            && self.consumed_prekeys.is_empty()
            && self.sender_key_shared.is_empty()
            && self.sender_key_reset.is_empty()
    }
}

/// Reads of Signal state; writes go through [`ChangeStore::commit`](crate::ChangeStore::commit).
///
/// Logging out ([`DeviceStore::delete_device`](crate::DeviceStore::delete_device)) deletes
/// all of it, together with the credentials.
#[async_trait]
pub trait SignalStateStore: Send + Sync {
    /// Session records for those of `addresses` that have one (any order).
    async fn load_sessions(
        &self,
        account: &AccountId,
        addresses: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>>;

    /// Accepted identity keys for those of `addresses` that have one (any order).
    async fn load_identities(
        &self,
        account: &AccountId,
        addresses: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>>;

    /// One sender-key record.
    async fn load_sender_key(
        &self,
        account: &AccountId,
        id: &SenderKeyId,
    ) -> Result<Option<Vec<u8>>>;

    /// The addresses that hold our current sender key for `group` (sorted).
    async fn sender_key_holders(&self, account: &AccountId, group: &str) -> Result<Vec<String>>;

    /// Forgets the session with one peer device (a session reset): our next message to
    /// it starts over from its pre-key bundle, and what it sends on the old session
    /// can no longer be decrypted (the client asks it to retry). Returns whether a
    /// session existed. The connector's in-memory Signal cache must not hold the
    /// address (reset while the account is stopped).
    async fn delete_session(&self, account: &AccountId, address: &str) -> Result<bool>;
}

/// Largest accepted Signal record, in bytes (a session with its archived states and
/// skipped message keys stays well below).
pub const MAX_SIGNAL_RECORD_LEN: usize = 1024 * 1024;

/// The tables logout empties for an account (the device's Signal state).
pub(crate) const SIGNAL_TABLES: [&str; 4] = [
    "signal_sessions",
    "signal_identities",
    "sender_keys",
    "sender_key_holders",
];

fn validate_address(address: &str) -> Result<()> {
    validate::required("protocol address", address, MAX_TEXT_LEN)
}

impl SenderKeyId {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::jid("sender-key group", &self.group)?;
        validate_address(&self.sender)
    }
}

impl SignalWrites {
    pub(crate) fn validate(&self) -> Result<()> {
        for (address, record) in &self.sessions {
            validate_address(address)?;
            validate::blob("session record", record, MAX_SIGNAL_RECORD_LEN)?;
        }
        for (address, key) in &self.identities {
            validate_address(address)?;
            validate::blob("identity key", key, MAX_SIGNAL_RECORD_LEN)?;
        }
        for (id, record) in &self.sender_keys {
            id.validate()?;
            validate::blob("sender-key record", record, MAX_SIGNAL_RECORD_LEN)?;
        }
        for &id in &self.consumed_prekeys {
            crate::device::validate_prekey_id(id)?;
        }
        for (group, address) in &self.sender_key_shared {
            validate::jid("sender-key group", group)?;
            validate_address(address)?;
        }
        for group in &self.sender_key_reset {
            validate::jid("sender-key group", group)?;
        }
        Ok(())
    }
}

/// Addresses to look up, without repeats (a repeated key would return twice).
pub(crate) fn unique_addresses(addresses: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = addresses.iter().collect();
    set.into_iter().cloned().collect()
}
