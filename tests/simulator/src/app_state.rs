//! `iq xmlns=w:sync:app:state`: each account's app-state collections. The server keeps
//! every patch per account and collection, answers a sync with the patches after the
//! requester's version, and takes an upload only on top of the current version
//! (else `409 conflict` for that collection, as WhatsApp answers a stale device),
//! then tells the account's other devices with a `server_sync` notification.
//!
//! The simulator also plays the primary phone, which holds the account's app-state
//! sync key: every uploaded patch is verified and decrypted with it (patch MAC, value
//! and index MACs, LT-hash), so a badly encoded patch is refused (`400`) instead of
//! stored, and tests can read back what devices changed. The phone can push its own
//! mutations too ([`push_from_phone`]), and shares the key with each linked device
//! once the device has published its pre-keys ([`share_key_with`]), as an end-to-end
//! `APP_STATE_SYNC_KEY_SHARE` message, like a real phone after linking.
//!
//! A device syncing a collection from scratch gets a snapshot and a large patch may
//! keep its mutations in an external blob: both are made in [`crate::app_state_blobs`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message as _;
use rand_core::{OsRng, RngCore};
use tracing::{info, warn};
use wa_proto::appstate::mac::Operation;
use wa_proto::appstate::sync::{
    self, CONFLICT_CODE, Collection, CollectionAnswer, CollectionRequest,
};
use wa_proto::appstate::{
    ChatAction, CollectionState, SyncKey, decode_patch, encode_patch_batch, key_share_message,
};
use wa_proto::binary::{Jid, Node};
use wa_proto::keys::KeyPair;
use wa_proto::proto::appstate as pb;
use wa_proto::signal::cipher::encrypt;
use wa_proto::signal::keys::{LocalIdentity, generate_registration_id};
use wa_proto::signal::session::SessionState;
use wa_proto::signal::{CiphertextMessage, PreKeyBundle, PublicKey, SessionRecord, pad_message};

use crate::error::StanzaError;
use crate::router::{Ctx, iq_result};
use crate::state::{State, random_token, unix_now, user_jid};

/// Most patches one collection keeps (a bound on a test's memory, far above use).
const MAX_PATCHES: usize = 10_000;

/// One collection as the server (and the phone) sees it.
#[derive(Debug, Default)]
pub(crate) struct CollectionLog {
    /// Verified state after the last patch (version, LT-hash, MAC map).
    pub state: CollectionState,
    /// Every patch, oldest first; patch `i` has version `i + 1`.
    pub patches: Vec<pb::SyncdPatch>,
    /// The chat actions the patches carried, oldest first (what tests read).
    pub actions: Vec<ChatAction>,
    /// The live records by index MAC, as devices encrypted them (what a snapshot holds).
    pub records: BTreeMap<[u8; 32], pb::SyncdRecord>,
    /// The snapshot fresh devices get, once taken: its version and blob reference.
    pub snapshot: Option<(u64, pb::ExternalBlobReference)>,
    /// External-mutation blobs already made, by patch version.
    pub external: BTreeMap<u64, pb::ExternalBlobReference>,
    /// How often this collection was served from blobs (for tests).
    pub served: crate::app_state_blobs::AppStateServed,
}

/// One account's app state: the phone's sync key and the collections.
#[derive(Debug)]
pub(crate) struct AccountAppState {
    /// The key the phone created and shares with its linked devices.
    pub key: SyncKey,
    /// Collections by name.
    pub collections: BTreeMap<Collection, CollectionLog>,
    /// The phone's Signal identity (device 0), for the key-share messages.
    pub phone_identity: LocalIdentity,
    /// Device numbers the phone already shared the key with.
    pub shared_with: BTreeSet<u16>,
    /// An action the phone makes just before the next upload is answered, so that
    /// upload arrives on a stale version (a race with the phone, made deterministic).
    pub before_next_upload: Option<ChatAction>,
}

impl AccountAppState {
    fn new() -> Self {
        let mut id = vec![0u8; 6];
        OsRng.fill_bytes(&mut id[2..]);
        let mut data = vec![0u8; 32];
        OsRng.fill_bytes(&mut data);
        AccountAppState {
            key: SyncKey {
                id,
                data,
                timestamp: now_ms(),
            },
            collections: BTreeMap::new(),
            phone_identity: LocalIdentity {
                key_pair: KeyPair::generate(&mut OsRng),
                registration_id: generate_registration_id(&mut OsRng),
            },
            shared_with: BTreeSet::new(),
            before_next_upload: None,
        }
    }
}

/// Every account's app state, by phone number.
#[derive(Debug, Default)]
pub(crate) struct AppStates {
    accounts: HashMap<String, AccountAppState>,
}

impl AppStates {
    /// The account's app state, created with a fresh phone key on first use.
    pub fn account(&mut self, phone: &str) -> &mut AccountAppState {
        self.accounts
            .entry(phone.to_owned())
            .or_insert_with(AccountAppState::new)
    }

    /// The account's app state, if any device or the phone ever used it.
    pub fn get(&self, phone: &str) -> Option<&AccountAppState> {
        self.accounts.get(phone)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `set` with `<sync>`: fetches and uploads, one answer per collection.
pub(crate) fn handle_iq(ctx: &mut Ctx<'_>, node: &Node) -> Result<(), StanzaError> {
    let me = ctx.me()?;
    if node.attr_str("type").as_deref() != Some("set") {
        return Err(StanzaError::NotImplemented);
    }
    let requests =
        sync::parse_sync_request(node).map_err(|_| StanzaError::BadRequest("sync request"))?;
    let mut answers = Vec::with_capacity(requests.len());
    let mut changed = Vec::new();
    for request in requests {
        let answer = if request.patches.is_empty() {
            fetch(ctx.state, &me.user, &request)
        } else {
            let answer = upload(ctx.state, &me.user, request);
            if answer.error.is_none() {
                changed.push((answer.collection, answer.version));
            }
            answer
        };
        answers.push(answer);
    }
    ctx.replies
        .push(iq_result(node).child(sync::sync_answer(&answers)));
    if !changed.is_empty() {
        notify_devices(ctx.state, &me.user, Some(&me), &changed);
    }
    Ok(())
}

/// The patches after the requester's version; a device that asks for a snapshot
/// from scratch gets one and the patches after it.
fn fetch(state: &mut State, phone: &str, request: &CollectionRequest) -> CollectionAnswer {
    crate::app_state_blobs::answer(state, phone, request)
}

/// Applies an uploaded patch on top of the current version, verified with the key.
fn upload(state: &mut State, phone: &str, request: CollectionRequest) -> CollectionAnswer {
    let collection = request.collection;
    if let Some(action) = state.app_state.account(phone).before_next_upload.take() {
        push_from_phone(state, phone, &action);
    }
    let account = state.app_state.account(phone);
    let current = account
        .collections
        .get(&collection)
        .map_or(0, |c| c.state.version);
    if request.version != current {
        info!(
            phone,
            %collection,
            sent = request.version,
            current,
            "app-state upload on a stale version"
        );
        return CollectionAnswer::failed(collection, CONFLICT_CODE, "conflict");
    }
    let mut version = current;
    for mut patch in request.patches {
        version += 1;
        patch.version = Some(pb::SyncdVersion {
            version: Some(version),
        });
        if let Err(e) = apply(account, collection, patch) {
            warn!(phone, %collection, error = %e, "app-state patch refused");
            return CollectionAnswer::failed(collection, "400", "bad-request");
        }
    }
    CollectionAnswer::patches(collection, version, Vec::new())
}

/// Verifies `patch` (version set) with the phone's key and appends it.
fn apply(
    account: &mut AccountAppState,
    collection: Collection,
    patch: pb::SyncdPatch,
) -> Result<(), String> {
    let log = account.collections.entry(collection).or_default();
    if log.patches.len() >= MAX_PATCHES {
        return Err("collection full".into());
    }
    let key = account.key.clone();
    let (next, mutations) = decode_patch(&patch, collection.name(), &log.state, |id| {
        (id == key.id.as_slice()).then(|| key.data.clone())
    })
    .map_err(|e| e.to_string())?;
    log.state = next;
    for m in &patch.mutations {
        let Some(record) = &m.record else { continue };
        let Some(index) = record
            .index
            .as_ref()
            .and_then(|i| i.blob.as_deref())
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
        else {
            continue;
        };
        match Operation::from_proto(m.operation.unwrap_or(0)) {
            Operation::Set => log.records.insert(index, record.clone()),
            Operation::Remove => log.records.remove(&index),
        };
    }
    log.patches.push(patch);
    log.actions
        .extend(mutations.iter().filter_map(ChatAction::from_mutation));
    Ok(())
}

/// Sends `server_sync` for `changed` to every device of the account but `except`
/// (queued for offline devices, like any notification).
fn notify_devices(
    state: &mut State,
    phone: &str,
    except: Option<&Jid>,
    changed: &[(Collection, u64)],
) {
    for device in state.devices_of(phone) {
        if Some(&device) == except {
            continue;
        }
        let node = sync::server_sync_notification(&random_token(8), changed)
            .attr("t", unix_now().to_string());
        state.deliver(&device, node);
    }
}

/// The phone changes something (pins a chat, stars a message…): encoded with its key
/// on top of the collection, stored, and announced to every linked device. Returns the
/// collection's new version.
pub(crate) fn push_from_phone(state: &mut State, phone: &str, action: &ChatAction) -> u64 {
    push_batch_from_phone(state, phone, std::slice::from_ref(action))
}

/// The phone makes several changes of one collection at once: one patch with a
/// mutation each, stored and announced like [`push_from_phone`]. Panics when `actions`
/// is empty or spans collections (a test's mistake).
pub(crate) fn push_batch_from_phone(state: &mut State, phone: &str, actions: &[ChatAction]) -> u64 {
    let collection = actions.first().expect("at least one action").collection();
    let account = state.app_state.account(phone);
    let indexes: Vec<Vec<u8>> = actions.iter().map(ChatAction::index_json).collect();
    let now = now_ms();
    let inputs: Vec<_> = actions
        .iter()
        .zip(&indexes)
        .map(|(a, i)| a.patch_input(i, now))
        .collect();
    let base = account
        .collections
        .get(&collection)
        .map(|c| c.state.clone())
        .unwrap_or_default();
    let (mut patch, after) = encode_patch_batch(
        &inputs,
        &account.key.id,
        &account.key.data,
        &base,
        &mut OsRng,
    )
    .expect("the phone's own patch encodes (one collection)");
    patch.version = Some(pb::SyncdVersion {
        version: Some(after.version),
    });
    apply(account, collection, patch).expect("the phone's own patch verifies");
    notify_devices(state, phone, None, &[(collection, after.version)]);
    after.version
}

/// The phone shares the account's sync key with `device`, once: a `pkmsg` from the
/// phone (device 0) on a session started from the device's published keys (taking one
/// one-time pre-key, as a bundle fetch does). Does nothing before the device has
/// published its keys or when its keys are unusable.
pub(crate) fn share_key_with(state: &mut State, device: &Jid) {
    if state.cfg.share_app_state_keys {
        share_key_now(state, device);
    }
}

/// The phone shares the account's sync key with `device` now, whatever
/// [`share_app_state_keys`](crate::SimulatorConfig::share_app_state_keys) says (once,
/// and only when the device has published its keys): how a test makes a device get
/// its key late, after the phone changed things.
pub(crate) fn share_key_now(state: &mut State, device: &Jid) {
    let phone = device.user.clone();
    if state
        .app_state
        .get(&phone)
        .is_some_and(|a| a.shared_with.contains(&device.device))
    {
        return;
    }
    let Some(bundle) = state.device_mut(device).and_then(|dev| {
        let pre_key = dev.prekeys.pop_front();
        Some(PreKeyBundle {
            registration_id: dev.registration_id,
            identity_key: PublicKey::from_slice(&dev.identity)?,
            signed_pre_key_id: dev.signed_prekey.id,
            signed_pre_key: PublicKey::from_slice(&dev.signed_prekey.public)?,
            signed_pre_key_signature: dev.signed_prekey.signature.as_slice().try_into().ok()?,
            pre_key: match pre_key {
                Some((id, key)) => Some((id, PublicKey::from_slice(&key)?)),
                None => None,
            },
        })
    }) else {
        warn!(%device, "no usable keys to share the app-state key with");
        return;
    };
    let account = state.app_state.account(&phone);
    let plaintext = pad_message(
        key_share_message(std::slice::from_ref(&account.key)).encode_to_vec(),
        &mut OsRng,
    );
    let mut record = SessionRecord::new();
    record.promote(SessionState::initiate(
        &account.phone_identity,
        &bundle,
        &mut OsRng,
    ));
    let Ok(CiphertextMessage::PreKey(ciphertext)) = encrypt(&mut record, &plaintext) else {
        warn!(%device, "the key share did not encrypt as a pkmsg");
        return;
    };
    account.shared_with.insert(device.device);
    let node = Node::new("message")
        .attr("from", user_jid(&phone))
        .attr("id", random_token(12))
        .attr("type", "text")
        .attr("category", "peer")
        .attr("t", unix_now().to_string())
        .child(
            Node::new("enc")
                .attr("v", "2")
                .attr("type", "pkmsg")
                .bytes(ciphertext),
        );
    info!(%device, "phone shares the app-state key");
    state.deliver(device, node);
}

/// The actions stored for the account's `collection`, oldest first, decoded with the
/// phone's key (for tests).
pub(crate) fn actions(state: &State, phone: &str, collection: Collection) -> Vec<ChatAction> {
    state
        .app_state
        .get(phone)
        .and_then(|a| a.collections.get(&collection))
        .map_or_else(Vec::new, |c| c.actions.clone())
}

/// Makes the phone do `action` right before the account's next upload is answered.
pub(crate) fn before_next_upload(state: &mut State, phone: &str, action: ChatAction) {
    state.app_state.account(phone).before_next_upload = Some(action);
}

/// The account's app-state sync key (created on first use), as the phone shares it.
pub(crate) fn key(state: &mut State, phone: &str) -> SyncKey {
    state.app_state.account(phone).key.clone()
}
