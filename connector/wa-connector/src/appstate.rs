//! App-state sync for one account: the chat actions (star, pin, archive, delete for
//! me, push name) WhatsApp keeps in encrypted, versioned collections shared by all of
//! an account's devices.
//!
//! * The phone shares sync keys with this device in an end-to-end message
//!   ([`remember_shared_keys`]); with a key we can read and write collections.
//! * [`AppStateSync::sync`] fetches the patches after our stored version, verifies
//!   and decrypts them (wa-proto), applies the actions to stored chats, messages and
//!   the account, then saves the new version, LT-hash and MAC map. It runs at login,
//!   after a key arrives and on each `server_sync` notification.
//! * A collection we have nothing of (version 0) is asked for as a snapshot, as
//!   WhatsApp clients do: the server answers with a reference to an `md-app-state`
//!   blob on the media hosts holding every live record, which we download, verify and
//!   apply as a whole before the patches after it. A large patch may likewise keep its
//!   mutations in such a blob. Everything an answer names is downloaded and verified
//!   before anything is applied, so a blob that fails leaves the store as it was.
//! * [`AppStateSync::push`] sends our own action: sync first, encode on top of the
//!   current version with the newest key, upload; a stale version (`409`) means
//!   another device was faster, so sync again and retry once.
//!
//! One mutex per account orders syncs and pushes: each reads the stored state and
//! writes the next one, so two at once would lose an update.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::OsRng;
use thiserror::Error;
use tokio::sync::Mutex;
use tracing::{debug, info, warn};
use wa_proto::StanzaError;
use wa_proto::appstate::sync::{
    Collection, CollectionAnswer, CollectionRequest, parse_sync_answer, sync_request,
};
use wa_proto::appstate::{
    AppStateError as ProtoError, ChatAction, CollectionState, DecodedMutation, LtHash,
    decode_patch, decode_snapshot, encode_patch, inline_external_mutations, open_snapshot,
};
use wa_proto::proto::appstate as pb;
use wa_proto::proto::message::Message;
use wa_store::{
    AccountId, AccountPatch, AppStateCollection, AppStateKey, AppStateSave, DynStore, StoreError,
};

use crate::media_http::{MediaHttp, MediaTransferError};
use crate::requests::{RequestError, Requester};

/// How many `has_more_patches` rounds one sync follows before giving up (a bound
/// against a server that never says it is done).
const MAX_SYNC_ROUNDS: usize = 100;

/// Largest app-state blob (snapshot or external mutations) downloaded: far above a
/// real account's collections, a bound on what one answer can make us hold.
const MAX_BLOB_BYTES: usize = 64 << 20;

/// Why a sync or a push failed.
#[derive(Debug, Error)]
pub enum AppStateError {
    /// The phone has not shared a sync key with this device yet.
    #[error("no app-state sync key yet (the phone shares one after linking)")]
    NoKey,
    /// The server did not answer, or refused the whole request.
    #[error("app-state request: {0}")]
    Request(#[from] RequestError),
    /// The server refused one collection (`409` after the one retry for a push).
    #[error("app-state collection {collection}: {error}")]
    Collection {
        /// The collection.
        collection: Collection,
        /// The server's error.
        error: StanzaError,
    },
    /// The answer was malformed.
    #[error("app-state answer: {0}")]
    Stanza(#[from] StanzaError),
    /// A patch did not verify or decrypt (or our own did not encode).
    #[error("app-state patch: {0}")]
    Patch(#[from] ProtoError),
    /// A snapshot or external-mutations blob could not be downloaded (nothing was
    /// applied).
    #[error("app-state blob of collection {collection}: {error}")]
    Blob {
        /// The collection.
        collection: Collection,
        /// Why the download failed.
        error: MediaTransferError,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Stores the sync keys a decrypted message shares, when it is the phone's key share;
/// returns whether it was one (then it is key material, not a message to store).
pub async fn remember_shared_keys(
    store: &DynStore,
    account: &AccountId,
    message: &Message,
) -> Result<bool, StoreError> {
    let Some(keys) = wa_proto::appstate::shared_keys(message) else {
        return Ok(false);
    };
    let keys: Vec<AppStateKey> = keys
        .into_iter()
        .map(|k| AppStateKey {
            id: k.id,
            data: k.data,
            created_at: k.timestamp,
        })
        .collect();
    info!(keys = keys.len(), "app-state sync keys shared by the phone");
    store.put_app_state_keys(account, &keys).await?;
    Ok(true)
}

/// One account's app-state syncing and pushing.
#[derive(Debug)]
pub struct AppStateSync {
    store: DynStore,
    account: AccountId,
    requester: Requester,
    media_http: Arc<MediaHttp>,
    lock: Mutex<()>,
}

impl AppStateSync {
    /// Syncing for `account` over `requester`, state in `store`; snapshots and
    /// external mutations are downloaded with `media_http`.
    pub fn new(
        store: DynStore,
        account: AccountId,
        requester: Requester,
        media_http: Arc<MediaHttp>,
    ) -> Self {
        Self {
            store,
            account,
            requester,
            media_http,
            lock: Mutex::new(()),
        }
    }

    /// Runs [`sync`](Self::sync) in the background, logging the outcome: what the
    /// session loop calls, since it must keep reading the answers.
    pub fn spawn_sync(self: &Arc<Self>, collections: Vec<Collection>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            match this.sync(&collections).await {
                Ok(()) => {}
                Err(AppStateError::NoKey) => debug!("app-state sync waits for a key"),
                Err(e) => warn!(error = %e, "app-state sync failed"),
            }
        });
    }

    /// Brings `collections` up to the server's version and applies what changed.
    pub async fn sync(&self, collections: &[Collection]) -> Result<(), AppStateError> {
        let _turn = self.lock.lock().await;
        if self
            .store
            .latest_app_state_key(&self.account)
            .await?
            .is_none()
        {
            return Err(AppStateError::NoKey);
        }
        for &c in collections {
            self.sync_locked(c).await?;
        }
        Ok(())
    }

    /// Sends `action` as a patch on top of the collection's current version; one
    /// retry after a re-sync when another device got there first.
    pub async fn push(&self, action: &ChatAction) -> Result<(), AppStateError> {
        let _turn = self.lock.lock().await;
        let collection = action.collection();
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.sync_locked(collection).await?;
            let key = self
                .store
                .latest_app_state_key(&self.account)
                .await?
                .ok_or(AppStateError::NoKey)?;
            let state = self.load(collection).await?;
            let index = action.index_json();
            let (patch, _) = encode_patch(
                &action.patch_input(&index, now_ms()),
                &key.id,
                &key.data,
                &state,
                &mut OsRng,
            )?;
            let upload = CollectionRequest::upload(collection, state.version, patch);
            let answer = self.request(upload).await?;
            match answer.error {
                None => break,
                Some(_) if answer.is_conflict() && attempt == 1 => {
                    info!(%collection, "app-state push on a stale version; syncing and retrying");
                }
                Some(error) => return Err(AppStateError::Collection { collection, error }),
            }
        }
        // Our patch is now the server's newest: read it back like any other, which
        // applies it to the store and moves the stored version past it.
        self.sync_locked(collection).await
    }

    async fn request(&self, request: CollectionRequest) -> Result<CollectionAnswer, AppStateError> {
        let collection = request.collection;
        let node = self
            .requester
            .iq(|id| sync_request(id, std::slice::from_ref(&request)))
            .await?;
        parse_sync_answer(&node)?
            .into_iter()
            .find(|a| a.collection == collection)
            .ok_or(AppStateError::Stanza(StanzaError::MissingChild(
                "collection",
            )))
    }

    async fn load(&self, collection: Collection) -> Result<CollectionState, AppStateError> {
        let stored = self
            .store
            .load_app_state(&self.account, collection.name())
            .await?;
        Ok(stored.map(from_stored).transpose()?.unwrap_or_default())
    }

    async fn sync_locked(&self, collection: Collection) -> Result<(), AppStateError> {
        for _ in 0..MAX_SYNC_ROUNDS {
            let state = self.load(collection).await?;
            // A snapshot when we have nothing yet (`return_snapshot` at version 0).
            let answer = self
                .request(CollectionRequest::fetch(collection, state.version))
                .await?;
            if let Some(error) = answer.error {
                return Err(AppStateError::Collection { collection, error });
            }
            self.apply_answer(collection, state, &answer).await?;
            if !answer.has_more_patches {
                return Ok(());
            }
        }
        warn!(%collection, "app-state sync stopped after {MAX_SYNC_ROUNDS} rounds");
        Ok(())
    }

    /// Applies one answer on top of the stored state `before`: its snapshot (which
    /// replaces the collection) and the patches after it. Every blob is downloaded and
    /// every patch verified before the first action is applied.
    async fn apply_answer(
        &self,
        collection: Collection,
        before: CollectionState,
        answer: &CollectionAnswer,
    ) -> Result<(), AppStateError> {
        let name = collection.name();
        let mut mutations: Vec<DecodedMutation> = Vec::new();
        let snapshot = match &answer.snapshot {
            Some(reference) => {
                let body = self.download_blob(collection, reference).await?;
                let snapshot = open_snapshot(reference, &body)?;
                let keys = self.keys(snapshot_key_ids(&snapshot)).await?;
                let (state, records) =
                    decode_snapshot(&snapshot, name, |id| keys.get(id).cloned())?;
                info!(%collection, version = state.version, records = records.len(), "app-state snapshot verified");
                mutations.extend(records);
                Some(state)
            }
            None => None,
        };
        let replace = snapshot.is_some();
        let mut state = snapshot.unwrap_or_else(|| before.clone());
        let mut fresh = Vec::new();
        for patch in &answer.patches {
            if patch_version(patch) <= state.version {
                continue;
            }
            fresh.push(match &patch.external_mutations {
                Some(reference) => {
                    let body = self.download_blob(collection, reference).await?;
                    inline_external_mutations(patch, &body)?
                }
                None => patch.clone(),
            });
        }
        if !replace && fresh.is_empty() {
            return Ok(());
        }
        let keys = self.keys(fresh.iter().flat_map(patch_key_ids)).await?;
        for patch in &fresh {
            let (next, decoded) = decode_patch(patch, name, &state, |id| keys.get(id).cloned())?;
            state = next;
            mutations.extend(decoded);
        }
        let actions: Vec<ChatAction> = mutations
            .iter()
            .filter_map(ChatAction::from_mutation)
            .collect();
        // Actions first: they are idempotent, so a crash before the state is saved
        // only replays them at the next sync.
        for action in &actions {
            self.apply(action).await?;
        }
        let save = if replace {
            whole_state(collection, &state)
        } else {
            state_change(collection, &before, &state)
        };
        self.store.save_app_state(&self.account, &save).await?;
        debug!(%collection, version = state.version, actions = actions.len(), snapshot = replace, "app state synced");
        Ok(())
    }

    /// Downloads the encrypted body of an app-state blob from the media hosts (it is
    /// verified when opened).
    async fn download_blob(
        &self,
        collection: Collection,
        reference: &pb::ExternalBlobReference,
    ) -> Result<Vec<u8>, AppStateError> {
        let path = reference
            .direct_path
            .as_deref()
            .ok_or(ProtoError::Malformed("external blob direct path"))?;
        crate::download::download_body(&self.media_http, &self.requester, path, MAX_BLOB_BYTES)
            .await
            .map_err(|error| AppStateError::Blob { collection, error })
    }

    /// The keys with these ids, from the store (missing ones stay missing and fail
    /// the decode with the key id).
    async fn keys(
        &self,
        ids: impl IntoIterator<Item = Vec<u8>>,
    ) -> Result<HashMap<Vec<u8>, Vec<u8>>, AppStateError> {
        let mut ids: Vec<Vec<u8>> = ids.into_iter().collect();
        ids.sort();
        ids.dedup();
        let mut keys = HashMap::new();
        for id in ids {
            if let Some(k) = self.store.app_state_key(&self.account, &id).await? {
                keys.insert(id, k.data);
            }
        }
        Ok(keys)
    }

    /// Applies one action to what the store keeps; actions about chats or messages we
    /// do not have change nothing.
    async fn apply(&self, action: &ChatAction) -> Result<(), StoreError> {
        let (store, account) = (&self.store, &self.account);
        match action {
            ChatAction::Star { message, starred } => {
                store
                    .set_message_starred(account, &message.chat, &message.id, *starred)
                    .await?;
            }
            ChatAction::DeleteForMe { message, .. } => {
                crate::events::record_deleted_for_me(store, account, message).await?;
            }
            ChatAction::Pin { chat, pinned } => {
                store.set_chat_pinned(account, chat, *pinned).await?;
            }
            ChatAction::Archive { chat, archived } => {
                store.set_chat_archived(account, chat, *archived).await?;
            }
            ChatAction::PushName { name } => {
                let patch = AccountPatch {
                    push_name: Some(Some(name.clone())),
                    ..Default::default()
                };
                store.update_account(account, patch).await?;
            }
        }
        Ok(())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn patch_version(patch: &pb::SyncdPatch) -> u64 {
    patch.version.as_ref().and_then(|v| v.version).unwrap_or(0)
}

fn record_key_id(record: &pb::SyncdRecord) -> Option<Vec<u8>> {
    record.key_id.as_ref()?.id.clone()
}

/// The key ids a patch names: its own and its records'.
fn patch_key_ids(patch: &pb::SyncdPatch) -> Vec<Vec<u8>> {
    let records = patch
        .mutations
        .iter()
        .filter_map(|m| record_key_id(m.record.as_ref()?));
    patch
        .key_id
        .as_ref()
        .and_then(|k| k.id.clone())
        .into_iter()
        .chain(records)
        .collect()
}

/// The key ids a snapshot names: its own and its records'.
fn snapshot_key_ids(snapshot: &pb::SyncdSnapshot) -> Vec<Vec<u8>> {
    snapshot
        .key_id
        .as_ref()
        .and_then(|k| k.id.clone())
        .into_iter()
        .chain(snapshot.records.iter().filter_map(record_key_id))
        .collect()
}

/// The wa-proto state from the stored one; wrong-sized bytes are corruption.
fn from_stored(stored: AppStateCollection) -> Result<CollectionState, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("app-state {what} has the wrong size"));
    let hash: [u8; 128] = stored.hash.try_into().map_err(|_| corrupt("LT-hash"))?;
    let mut map = HashMap::with_capacity(stored.value_macs.len());
    for (index, value) in stored.value_macs {
        map.insert(
            index.try_into().map_err(|_| corrupt("index MAC"))?,
            value.try_into().map_err(|_| corrupt("value MAC"))?,
        );
    }
    Ok(CollectionState {
        version: stored.version,
        hash: LtHash(hash),
        index_value_map: map,
    })
}

/// What to save to move the stored collection from `before` to `after`: the new
/// version and hash, MACs added or changed, MACs gone.
fn state_change(
    collection: Collection,
    before: &CollectionState,
    after: &CollectionState,
) -> AppStateSave {
    let mut set: Vec<(Vec<u8>, Vec<u8>)> = after
        .index_value_map
        .iter()
        .filter(|(index, value)| before.index_value_map.get(*index) != Some(*value))
        .map(|(index, value)| (index.to_vec(), value.to_vec()))
        .collect();
    set.sort();
    let mut removed: Vec<Vec<u8>> = before
        .index_value_map
        .keys()
        .filter(|index| !after.index_value_map.contains_key(*index))
        .map(|index| index.to_vec())
        .collect();
    removed.sort();
    AppStateSave {
        collection: collection.name().to_owned(),
        version: after.version,
        hash: after.hash.0.to_vec(),
        replace: false,
        set,
        removed,
    }
}

/// What to save when a snapshot replaces the stored collection: every MAC of
/// `state`, the old ones dropped.
fn whole_state(collection: Collection, state: &CollectionState) -> AppStateSave {
    AppStateSave {
        replace: true,
        ..state_change(collection, &CollectionState::default(), state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(version: u64, records: &[(u8, u8)]) -> CollectionState {
        let mut s = CollectionState {
            version,
            ..Default::default()
        };
        for (i, v) in records {
            s.hash.add(&[*v; 32]);
            s.index_value_map.insert([*i; 32], [*v; 32]);
        }
        s
    }

    #[test]
    fn changes_are_the_difference_of_the_maps() {
        let before = state(3, &[(1, 10), (2, 20), (3, 30)]);
        let after = state(5, &[(1, 10), (2, 21), (4, 40)]);
        let save = state_change(Collection::RegularLow, &before, &after);
        assert_eq!(save.collection, "regular_low");
        assert_eq!(save.version, 5);
        assert_eq!(save.hash, after.hash.0.to_vec());
        assert_eq!(
            save.set,
            vec![(vec![2; 32], vec![21; 32]), (vec![4; 32], vec![40; 32])]
        );
        assert_eq!(save.removed, vec![vec![3; 32]]);
        assert!(!save.replace);
    }

    #[test]
    fn a_snapshot_replaces_every_mac() {
        let s = state(4, &[(1, 10), (2, 20)]);
        let save = whole_state(Collection::RegularHigh, &s);
        assert!(save.replace);
        assert_eq!((save.version, save.hash.clone()), (4, s.hash.0.to_vec()));
        assert_eq!(
            save.set,
            vec![(vec![1; 32], vec![10; 32]), (vec![2; 32], vec![20; 32])]
        );
        assert!(save.removed.is_empty());
    }

    #[test]
    fn stored_state_round_trips_and_corruption_is_reported() {
        let s = state(7, &[(1, 2), (3, 4)]);
        let save = state_change(Collection::Regular, &CollectionState::default(), &s);
        let stored = AppStateCollection {
            version: save.version,
            hash: save.hash.clone(),
            value_macs: save.set.clone(),
        };
        assert_eq!(from_stored(stored).unwrap(), s);
        let bad = AppStateCollection {
            version: 1,
            hash: vec![0; 127],
            value_macs: Vec::new(),
        };
        assert!(matches!(from_stored(bad), Err(StoreError::Corrupt(_))));
    }
}
