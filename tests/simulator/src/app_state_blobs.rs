//! The app-state blobs the server makes, served from the media host as
//! `md-app-state` media (sealed with a fresh media key, kept in the media store and
//! referenced by an `ExternalBlobReference` in the sync answer):
//!
//! * a snapshot for a device that syncs a collection from scratch (`version="0"
//!   return_snapshot="true"`), like WhatsApp answers a freshly linked device. It holds
//!   the collection's live records exactly as devices encrypted them, so a device
//!   starting from it has the LT-hash the next patch's MAC is built on. It is taken
//!   once and kept, as a server compacting its history would, and served with the
//!   patches after it; [`compact`] takes a new one at the current version.
//! * external mutations: a patch with more mutations than
//!   [`app_state_external_mutations_above`](crate::SimulatorConfig::app_state_external_mutations_above)
//!   is served with its mutations in a blob instead of inline.
//!
//! With [`tamper_app_state_snapshots`](crate::SimulatorConfig::tamper_app_state_snapshots)
//! every snapshot blob has one byte flipped after sealing, so a client must refuse it.

use prost::Message as _;
use rand_core::{OsRng, RngCore};
use tracing::{info, warn};
use wa_proto::appstate::sync::{Collection, CollectionAnswer, CollectionRequest};
use wa_proto::appstate::{SyncKey, encode_snapshot, seal_external_blob};
use wa_proto::proto::appstate as pb;

use crate::app_state::CollectionLog;
use crate::config::SimulatorConfig;
use crate::media::MediaStore;
use crate::state::State;

/// The media type (and path segment) of app-state blobs.
const KIND: &str = "md-app-state";

/// How often one collection was served from blobs: what a test checks to know the
/// snapshot or external-mutation path was really taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppStateServed {
    /// Answers that carried a snapshot reference.
    pub snapshots: usize,
    /// Patches served with their mutations in an external blob.
    pub external_patches: usize,
}

/// What serving needs besides the collection: the settings, the media store and the
/// phone's key.
struct Blobs<'a> {
    cfg: &'a SimulatorConfig,
    media: &'a mut MediaStore,
    key: &'a SyncKey,
}

impl Blobs<'_> {
    /// Seals `plain` as `md-app-state` media (flipping a byte when `tamper`) and keeps
    /// it in the media store; the reference names where it downloads from.
    fn keep(&mut self, plain: &[u8], tamper: bool) -> Option<pb::ExternalBlobReference> {
        let mut media_key = [0u8; 32];
        OsRng.fill_bytes(&mut media_key);
        let (mut body, mut reference) = seal_external_blob(plain, &media_key);
        if tamper {
            let middle = body.len() / 2;
            body[middle] ^= 0x01;
        }
        let (_, direct_path) = self
            .media
            .keep(KIND, body.into(), self.cfg.max_media_total)?;
        reference.direct_path = Some(direct_path);
        Some(reference)
    }

    /// Takes the snapshot of `log` at its current version and keeps it as the one
    /// fresh devices get.
    fn take_snapshot(
        &mut self,
        collection: Collection,
        log: &mut CollectionLog,
    ) -> Option<(u64, pb::ExternalBlobReference)> {
        let version = log.state.version;
        let records = log.records.values().cloned().collect();
        let (snapshot, state) = encode_snapshot(
            collection.name(),
            version,
            records,
            &self.key.id,
            &self.key.data,
        )
        .ok()?;
        debug_assert_eq!(
            state, log.state,
            "the snapshot stands for the patched state"
        );
        let reference = self.keep(
            &snapshot.encode_to_vec(),
            self.cfg.tamper_app_state_snapshots,
        )?;
        info!(%collection, version, records = snapshot.records.len(), "app-state snapshot taken");
        log.snapshot = Some((version, reference.clone()));
        Some((version, reference))
    }

    /// `patch` (version `version`) as served: its mutations moved to an external blob
    /// when it has more than the configured number (the blob made once).
    fn served_patch(
        &mut self,
        log: &mut CollectionLog,
        version: u64,
        patch: &pb::SyncdPatch,
    ) -> Option<pb::SyncdPatch> {
        let Some(above) = self.cfg.app_state_external_mutations_above else {
            return Some(patch.clone());
        };
        if patch.mutations.len() <= above {
            return Some(patch.clone());
        }
        let reference = match log.external.get(&version) {
            Some(r) => r.clone(),
            None => {
                let plain = pb::SyncdMutations {
                    mutations: patch.mutations.clone(),
                }
                .encode_to_vec();
                let r = self.keep(&plain, false)?;
                log.external.insert(version, r.clone());
                r
            }
        };
        log.served.external_patches += 1;
        Some(pb::SyncdPatch {
            mutations: Vec::new(),
            external_mutations: Some(reference),
            ..patch.clone()
        })
    }
}

/// Answers one fetch of `phone`'s collection: the patches after the requester's
/// version, or, for a device asking for a snapshot from scratch when the collection
/// has patches, the snapshot and the patches after it. A blob that does not fit in
/// the media store fails the collection (`500`).
pub(crate) fn answer(
    state: &mut State,
    phone: &str,
    request: &CollectionRequest,
) -> CollectionAnswer {
    let collection = request.collection;
    let State {
        cfg,
        media,
        app_state,
        ..
    } = state;
    let account = app_state.account(phone);
    let mut blobs = Blobs {
        cfg,
        media,
        key: &account.key,
    };
    let log = account.collections.entry(collection).or_default();
    let mut snapshot = None;
    let mut from = request.version;
    if request.version == 0 && request.return_snapshot && !log.patches.is_empty() {
        let taken = match log.snapshot.clone() {
            Some(s) => Some(s),
            None => blobs.take_snapshot(collection, log),
        };
        let Some((version, reference)) = taken else {
            warn!(phone, %collection, "no room for the app-state snapshot");
            return CollectionAnswer::failed(collection, "500", "internal-server-error");
        };
        log.served.snapshots += 1;
        snapshot = Some(reference);
        from = version;
    }
    let from = usize::try_from(from)
        .unwrap_or(usize::MAX)
        .min(log.patches.len());
    let pending: Vec<pb::SyncdPatch> = log.patches[from..].to_vec();
    let mut patches = Vec::with_capacity(pending.len());
    for (n, patch) in pending.iter().enumerate() {
        let version = (from + n + 1) as u64;
        let Some(served) = blobs.served_patch(log, version, patch) else {
            warn!(phone, %collection, "no room for an external-mutations blob");
            return CollectionAnswer::failed(collection, "500", "internal-server-error");
        };
        patches.push(served);
    }
    CollectionAnswer {
        snapshot,
        ..CollectionAnswer::patches(collection, log.state.version, patches)
    }
}

/// Takes a new snapshot of `phone`'s collection at its current version: what devices
/// syncing from scratch get from now on, with the patches after it. Returns its
/// version, or `None` when the media store is full.
pub(crate) fn compact(state: &mut State, phone: &str, collection: Collection) -> Option<u64> {
    let State {
        cfg,
        media,
        app_state,
        ..
    } = state;
    let account = app_state.account(phone);
    let mut blobs = Blobs {
        cfg,
        media,
        key: &account.key,
    };
    let log = account.collections.entry(collection).or_default();
    blobs.take_snapshot(collection, log).map(|(v, _)| v)
}

/// How often `phone`'s collection was served from blobs.
pub(crate) fn served(state: &State, phone: &str, collection: Collection) -> AppStateServed {
    state
        .app_state
        .get(phone)
        .and_then(|a| a.collections.get(&collection))
        .map(|c| c.served)
        .unwrap_or_default()
}
