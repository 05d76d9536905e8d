//! What we know about other users: push names, LIDs, and their device lists (cached
//! answers of the server's usync query, so a send does not query it every time).

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::account::{AccountId, MAX_TEXT_LEN};
use crate::error::{Result, StoreError};
use crate::validate;

/// A contact's details to record; `None` fields leave what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactUpdate {
    /// The user JID (no device part).
    pub jid: String,
    /// The name the user set for themselves.
    pub push_name: Option<String>,
    /// The user's LID, when learned.
    pub lid: Option<String>,
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The user JID.
    pub jid: String,
    /// Push name, if known.
    pub push_name: Option<String>,
    /// LID, if known.
    pub lid: Option<String>,
    /// When it last changed.
    pub updated_at: SystemTime,
}

/// A user's devices as the server last listed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    /// The user JID (no device part).
    pub user: String,
    /// Device ids, ascending (0 is the phone).
    pub devices: Vec<u32>,
    /// When the server listed them (for expiry by the caller).
    pub updated_at: SystemTime,
}

/// Reading contacts and device lists; they are written through
/// [`ChangeStore::commit`](crate::ChangeStore::commit).
#[async_trait]
pub trait ContactStore: Send + Sync {
    /// One contact.
    async fn get_contact(&self, account: &AccountId, jid: &str) -> Result<Option<Contact>>;

    /// All contacts, ordered by JID.
    async fn list_contacts(&self, account: &AccountId) -> Result<Vec<Contact>>;

    /// Cached device lists for those of `users` that have one (any order).
    async fn load_device_lists(
        &self,
        account: &AccountId,
        users: &[String],
    ) -> Result<Vec<DeviceList>>;
}

/// Most devices accepted in one list (WhatsApp allows a phone and a handful of
/// companions; this only keeps garbage out).
pub const MAX_DEVICES_PER_USER: usize = 1024;

impl ContactUpdate {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::jid("contact jid", &self.jid)?;
        validate::optional("push name", self.push_name.as_deref(), MAX_TEXT_LEN)?;
        validate::optional("lid", self.lid.as_deref(), MAX_TEXT_LEN)
    }
}

impl DeviceList {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::jid("device list user", &self.user)?;
        if self.devices.len() > MAX_DEVICES_PER_USER {
            return Err(StoreError::InvalidInput(format!(
                "a device list holds at most {MAX_DEVICES_PER_USER} devices"
            )));
        }
        Ok(())
    }
}

/// Folds updates of the same contact into one per JID (ordered by JID), later values
/// winning and `None` keeping the earlier one, as applying them in order would.
pub(crate) fn merge_contacts(updates: &[ContactUpdate]) -> Vec<ContactUpdate> {
    let mut merged: BTreeMap<&str, ContactUpdate> = BTreeMap::new();
    for u in updates {
        let entry = merged.entry(&u.jid).or_insert_with(|| ContactUpdate {
            jid: u.jid.clone(),
            push_name: None,
            lid: None,
        });
        if u.push_name.is_some() {
            entry.push_name.clone_from(&u.push_name);
        }
        if u.lid.is_some() {
            entry.lid.clone_from(&u.lid);
        }
    }
    merged.into_values().collect()
}

/// The stored form of a device list: ids ascending, without repeats, comma-separated.
pub(crate) fn encode_devices(devices: &[u32]) -> String {
    let mut ids = devices.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Reads the stored form back; anything else is corruption.
pub(crate) fn decode_devices(text: &str) -> Result<Vec<u32>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|d| {
            d.parse()
                .map_err(|_| StoreError::Corrupt(format!("device list {text:?}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_round_trip_sorted_and_unique() {
        assert_eq!(encode_devices(&[5, 0, 5, 12]), "0,5,12");
        assert_eq!(decode_devices("0,5,12").unwrap(), [0, 5, 12]);
        assert_eq!(decode_devices("").unwrap(), Vec::<u32>::new());
        assert!(decode_devices("1,x").is_err());
    }

    #[test]
    fn later_contact_values_win_and_none_keeps() {
        let u = |push: Option<&str>, lid: Option<&str>| ContactUpdate {
            jid: "a@s".into(),
            push_name: push.map(Into::into),
            lid: lid.map(Into::into),
        };
        let merged = merge_contacts(&[u(Some("A"), Some("1@lid")), u(Some("B"), None)]);
        assert_eq!(merged, [u(Some("B"), Some("1@lid"))]);
    }
}
