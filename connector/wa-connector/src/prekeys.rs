//! Keeping the server stocked with one-time pre-keys: when it reports a low count,
//! generate a batch, commit it to the store, then upload it.
//!
//! Stored first, uploaded second: a key the server hands to a peer always has its
//! private half in the store when that peer's first message arrives (Signal needs it
//! to decrypt). Ids come from the store's never-decreasing counter.

use rand_core::OsRng;
use tracing::{debug, info};
use wa_proto::binary::Node;
use wa_proto::prekeys;
use wa_store::{AccountId, DynStore, StoreError, StoredPreKey};

use crate::driver::WaConnection;

/// An upload sent and not yet answered.
#[derive(Debug, Clone)]
pub struct PendingUpload {
    /// The iq's id, to match the server's answer.
    pub iq_id: String,
    /// The key ids it carried.
    pub ids: Vec<u32>,
}

/// Generates [`prekeys::UPLOAD_COUNT`] keys, stores them, and queues their upload on
/// `conn`.
pub async fn upload(
    store: &DynStore,
    account: &AccountId,
    conn: &mut WaConnection,
) -> Result<PendingUpload, StoreError> {
    let first = store.next_prekey_id(account).await?;
    let keys = prekeys::generate(&mut OsRng, first, prekeys::UPLOAD_COUNT);
    let stored: Vec<StoredPreKey> = keys
        .iter()
        .map(|k| StoredPreKey {
            id: k.id,
            private: k.key.private_bytes(),
            uploaded: false,
        })
        .collect();
    store.save_prekeys(account, &stored).await?;
    let iq_id = conn.next_id();
    let node = prekeys::upload_node(&iq_id, conn.credentials(), &keys);
    if let Err(e) = conn.send_node(&node) {
        // Kept in the store; the next low count uploads a fresh batch.
        debug!(error = %e, "pre-key upload not sent");
    }
    let ids: Vec<u32> = keys.iter().map(|k| k.id).collect();
    info!(first, count = ids.len(), "uploading pre-keys");
    Ok(PendingUpload { iq_id, ids })
}

/// If `node` answers `pending`, records the outcome and returns true.
pub async fn handle_answer(
    store: &DynStore,
    account: &AccountId,
    pending: &PendingUpload,
    node: &Node,
) -> Result<bool, StoreError> {
    if node.tag != "iq" || node.attr_str("id").as_deref() != Some(pending.iq_id.as_str()) {
        return Ok(false);
    }
    if node.attr_str("type").as_deref() == Some("result") {
        store.mark_prekeys_uploaded(account, &pending.ids).await?;
        info!(count = pending.ids.len(), "pre-keys uploaded");
    } else {
        tracing::warn!(
            count = pending.ids.len(),
            "server refused the pre-key upload"
        );
    }
    Ok(true)
}
