//! The linked device: its credentials (an opaque, versioned blob the connector
//! encodes) and its one-time pre-keys.
//!
//! Credentials are written in the same transaction that records the account's JID
//! and marks it active, so a crash right after pairing leaves either a fully linked
//! account or an unlinked one, never a JID without keys. Logout deletes them (and the
//! pre-keys) in one transaction too.

use std::fmt;

use async_trait::async_trait;

use crate::account::AccountId;
use crate::error::{Result, StoreError};

/// Largest accepted credentials blob: real ones are well under 2 KiB; this only keeps
/// garbage out.
pub const MAX_CREDENTIALS_LEN: usize = 64 * 1024;
/// Largest pre-key id: ids travel as 24 bits on the wire.
pub const MAX_PREKEY_ID: u32 = 0x00ff_ffff;

/// A device's serialized credentials. The store keeps them as given; `format` lets
/// the encoder evolve (the connector refuses formats it does not know).
///
/// `Debug` never shows the bytes: they hold private keys.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCredentials {
    /// The encoder's format/version tag.
    pub format: u32,
    /// The encoded credentials (secret).
    pub data: Vec<u8>,
}

impl fmt::Debug for DeviceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCredentials")
            .field("format", &self.format)
            .field("len", &self.data.len())
            .finish_non_exhaustive()
    }
}

impl DeviceCredentials {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.data.is_empty() || self.data.len() > MAX_CREDENTIALS_LEN {
            return Err(StoreError::InvalidInput(format!(
                "credentials must be 1 to {MAX_CREDENTIALS_LEN} bytes, got {}",
                self.data.len()
            )));
        }
        if i32::try_from(self.format).is_err() {
            return Err(StoreError::InvalidInput(
                "credentials format out of range".into(),
            ));
        }
        Ok(())
    }
}

/// A one-time pre-key as stored: its id and private key; the public half is derived.
///
/// `Debug` never shows the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPreKey {
    /// Key id (1..=2^24-1).
    pub id: u32,
    /// The 32-byte private key (secret).
    pub private: [u8; 32],
    /// Whether the server confirmed the upload that carried it.
    pub uploaded: bool,
}

impl fmt::Debug for StoredPreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredPreKey")
            .field("id", &self.id)
            .field("uploaded", &self.uploaded)
            .finish_non_exhaustive()
    }
}

pub(crate) fn validate_prekey_id(id: u32) -> Result<()> {
    if id == 0 || id > MAX_PREKEY_ID {
        return Err(StoreError::InvalidInput(format!(
            "pre-key id must be 1 to {MAX_PREKEY_ID}, got {id}"
        )));
    }
    Ok(())
}

pub(crate) fn private_from_db(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| StoreError::Corrupt(format!("pre-key of {} bytes", b.len())))
}

/// Device credentials and one-time pre-keys, per account.
#[async_trait]
pub trait DeviceStore: Send + Sync + fmt::Debug {
    /// Writes (inserts or replaces) the account's credentials. With `jid`, the same
    /// transaction records the account's JID and marks it `Active` (what pairing
    /// needs to be atomic). `NotFound` if the account does not exist, `Conflict` if
    /// the JID belongs to another account.
    async fn save_device(
        &self,
        account: &AccountId,
        credentials: &DeviceCredentials,
        jid: Option<&str>,
    ) -> Result<()>;

    /// The account's credentials, or `None` if it was never paired (or logged out).
    async fn load_device(&self, account: &AccountId) -> Result<Option<DeviceCredentials>>;

    /// Logout: deletes the credentials, every pre-key and the Signal state (sessions,
    /// identities, sender keys and their holders), clears the JID and marks the account
    /// `LoggedOut`, in one transaction; messages, chats, contacts and events stay. Returns whether credentials
    /// existed; `NotFound` if the account does not exist.
    async fn delete_device(&self, account: &AccountId) -> Result<bool>;

    /// Stores fresh pre-keys (before they are uploaded) and moves the next id past
    /// them. `NotFound` if the account has no credentials (pre-keys belong to a
    /// device), `Conflict` if an id exists.
    async fn save_prekeys(&self, account: &AccountId, keys: &[StoredPreKey]) -> Result<()>;

    /// Records that the server accepted the upload of these ids.
    async fn mark_prekeys_uploaded(&self, account: &AccountId, ids: &[u32]) -> Result<()>;

    /// One pre-key, when a peer's `pkmsg` names it.
    async fn get_prekey(&self, account: &AccountId, id: u32) -> Result<Option<StoredPreKey>>;

    /// Removes a consumed pre-key; returns whether it existed.
    async fn remove_prekey(&self, account: &AccountId, id: u32) -> Result<bool>;

    /// The id the next generated pre-key should take: past every id ever stored for
    /// this device, so ids are not reused while the server may still hold them (1 for
    /// a new device, wrapping to 1 after [`MAX_PREKEY_ID`]). `NotFound` without
    /// credentials.
    async fn next_prekey_id(&self, account: &AccountId) -> Result<u32>;

    /// How many pre-keys are stored for the account.
    async fn count_prekeys(&self, account: &AccountId) -> Result<u64>;
}

/// Checks what `save_device` is about to write, the same way on every backend.
pub(crate) fn validate_save(credentials: &DeviceCredentials, jid: Option<&str>) -> Result<()> {
    credentials.validate()?;
    if let Some(jid) = jid {
        crate::account::AccountPatch {
            jid: Some(Some(jid.to_owned())),
            ..Default::default()
        }
        .validate()?;
    }
    Ok(())
}

/// A stored `next_prekey_id` as the id type; anything out of range is corruption.
pub(crate) fn next_prekey_id_from_db(n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("next pre-key id {n}")))
}
