//! Whole-collection snapshots and external blobs.
//!
//! A snapshot is the full state of one collection at a version: every live record
//! (verified like a SET mutation), from which the LT-hash is rebuilt and checked
//! against the snapshot MAC. The server never inlines snapshots: the `<snapshot>` node
//! holds an [`ExternalBlobReference`](pb::ExternalBlobReference) to `md-app-state` media,
//! and a large patch can likewise keep its mutations in such a blob. This crate does no
//! I/O, so the caller passes a fetcher that downloads the referenced body (the encrypted
//! bytes as served); we decrypt and verify it here with the media crypto.

use prost::Message;

use super::mac::{Operation, snapshot_mac};
use super::patch::{
    AppStateError, CollectionState, DecodedMutation, apply_record, decode_patch, mutation_keys,
    required_key_id, required_version, value_blob,
};
use crate::media::{self, ExpectedHashes, MediaType};
use crate::proto::appstate as pb;
use crate::signal::ratchet::ct_eq;

fn hash32(b: Option<&Vec<u8>>) -> Option<[u8; 32]> {
    b.and_then(|h| h.as_slice().try_into().ok())
}

/// Decrypts and verifies a downloaded external blob (`md-app-state` media: MAC,
/// `fileEncSha256` and `fileSha256` from the reference) and returns its plaintext.
pub fn open_external_blob(
    reference: &pb::ExternalBlobReference,
    body: &[u8],
) -> Result<Vec<u8>, AppStateError> {
    let key: [u8; 32] = reference
        .media_key
        .as_deref()
        .and_then(|k| k.try_into().ok())
        .ok_or(AppStateError::Malformed("external blob media key"))?;
    let expected = ExpectedHashes {
        file_enc_sha256: hash32(reference.file_enc_sha256.as_ref()),
        file_sha256: hash32(reference.file_sha256.as_ref()),
    };
    Ok(media::decrypt(&key, MediaType::AppState, body, &expected)?)
}

fn fetch_blob(
    reference: &pb::ExternalBlobReference,
    fetch: &mut impl FnMut(&pb::ExternalBlobReference) -> Option<Vec<u8>>,
) -> Result<Vec<u8>, AppStateError> {
    let body = fetch(reference).ok_or_else(|| {
        AppStateError::BlobUnavailable(reference.direct_path.clone().unwrap_or_default())
    })?;
    open_external_blob(reference, &body)
}

/// Verifies and decodes a snapshot of collection `name`: each record's value and index
/// MACs, the LT-hash rebuilt from all records, and the snapshot MAC under the snapshot's
/// key. `key` looks up an app-state sync key's `keyData` by key id. Returns the state
/// the collection is at (continue with the patches after its version) and the records
/// decoded as SET mutations, in snapshot order.
pub fn decode_snapshot(
    snapshot: &pb::SyncdSnapshot,
    name: &str,
    mut key: impl FnMut(&[u8]) -> Option<Vec<u8>>,
) -> Result<(CollectionState, Vec<DecodedMutation>), AppStateError> {
    let version = required_version(snapshot.version.as_ref())?;
    let mut keys_for = |id: &[u8]| mutation_keys(&mut key, id);
    let main = keys_for(&required_key_id(snapshot.key_id.as_ref())?)?;
    let mut state = CollectionState::default();
    let mut out = Vec::with_capacity(snapshot.records.len());
    for (n, record) in snapshot.records.iter().enumerate() {
        let blob = value_blob(Some(record))?;
        out.push(apply_record(
            &mut state,
            n,
            Operation::Set,
            record,
            blob,
            &mut keys_for,
        )?);
    }
    state.version = version;
    let mac = snapshot.mac.as_deref().unwrap_or_default();
    if !ct_eq(
        &snapshot_mac(&state.hash.0, version, name, &main.snapshot_mac_key),
        mac,
    ) {
        return Err(AppStateError::BadSnapshotMac(version));
    }
    Ok((state, out))
}

/// Fetches the snapshot a `<snapshot>` node references (its content is the encoded
/// [`pb::ExternalBlobReference`]), opens it and decodes it with [`decode_snapshot`].
/// `fetch` returns the downloaded body, or `None` when the download failed.
pub fn decode_snapshot_reference(
    reference: &pb::ExternalBlobReference,
    name: &str,
    key: impl FnMut(&[u8]) -> Option<Vec<u8>>,
    mut fetch: impl FnMut(&pb::ExternalBlobReference) -> Option<Vec<u8>>,
) -> Result<(CollectionState, Vec<DecodedMutation>), AppStateError> {
    let plain = fetch_blob(reference, &mut fetch)?;
    let snapshot = pb::SyncdSnapshot::decode(plain.as_slice())
        .map_err(|_| AppStateError::Malformed("external snapshot"))?;
    decode_snapshot(&snapshot, name, key)
}

/// Like [`decode_patch`], but a patch with `external_mutations` first has the blob
/// fetched, opened and decoded as `SyncdMutations`, whose mutations follow the inline
/// ones (the patch MAC covers them all, in that order). `fetch` returns the downloaded
/// body, or `None` when the download failed; it is not called for inline-only patches.
pub fn decode_patch_with(
    patch: &pb::SyncdPatch,
    name: &str,
    state: &CollectionState,
    key: impl FnMut(&[u8]) -> Option<Vec<u8>>,
    mut fetch: impl FnMut(&pb::ExternalBlobReference) -> Option<Vec<u8>>,
) -> Result<(CollectionState, Vec<DecodedMutation>), AppStateError> {
    let Some(reference) = &patch.external_mutations else {
        return decode_patch(patch, name, state, key);
    };
    let plain = fetch_blob(reference, &mut fetch)?;
    let external = pb::SyncdMutations::decode(plain.as_slice())
        .map_err(|_| AppStateError::Malformed("external mutations"))?;
    let mut full = patch.clone();
    full.external_mutations = None;
    full.mutations.extend(external.mutations);
    decode_patch(&full, name, state, key)
}
