//! Whole-collection snapshots and external blobs.
//!
//! A snapshot is the full state of one collection at a version: every live record
//! (verified like a SET mutation), from which the LT-hash is rebuilt and checked
//! against the snapshot MAC. The server never inlines snapshots: the `<snapshot>` node
//! holds an [`ExternalBlobReference`](pb::ExternalBlobReference) to `md-app-state` media,
//! and a large patch can likewise keep its mutations in such a blob. This crate does no
//! I/O, so the caller passes a fetcher that downloads the referenced body (the encrypted
//! bytes as served); we decrypt and verify it here with the media crypto.
//!
//! The encode side ([`encode_snapshot`], [`seal_external_blob`]) is what a server (the
//! simulator) builds for a device that syncs a collection from scratch.

use prost::Message;

use super::keys::MutationKeys;
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
    fetch(reference).ok_or_else(|| {
        AppStateError::BlobUnavailable(reference.direct_path.clone().unwrap_or_default())
    })
}

/// Encrypts `plain` (an encoded `SyncdSnapshot` or `SyncdMutations`) as `md-app-state`
/// media under `media_key`: returns the body to upload and its reference, complete but
/// for the `direct_path` (and `handle`) the media host assigns.
pub fn seal_external_blob(
    plain: &[u8],
    media_key: &[u8; 32],
) -> (Vec<u8>, pb::ExternalBlobReference) {
    let (body, sums) = media::encrypt(media_key, MediaType::AppState, plain);
    let reference = pb::ExternalBlobReference {
        media_key: Some(media_key.to_vec()),
        direct_path: None,
        handle: None,
        file_size_bytes: Some(sums.file_length),
        file_sha256: Some(sums.file_sha256.to_vec()),
        file_enc_sha256: Some(sums.file_enc_sha256.to_vec()),
    };
    (body, reference)
}

/// Opens a downloaded snapshot blob: verified and decrypted with
/// [`open_external_blob`], then parsed. Decode the result with [`decode_snapshot`].
pub fn open_snapshot(
    reference: &pb::ExternalBlobReference,
    body: &[u8],
) -> Result<pb::SyncdSnapshot, AppStateError> {
    let plain = open_external_blob(reference, body)?;
    pb::SyncdSnapshot::decode(plain.as_slice())
        .map_err(|_| AppStateError::Malformed("external snapshot"))
}

/// The patch with the mutations of its downloaded external blob (`body`) put inline,
/// after any inline ones (the order the patch MAC covers): a patch [`decode_patch`]
/// takes. A patch without external mutations is returned as it is.
pub fn inline_external_mutations(
    patch: &pb::SyncdPatch,
    body: &[u8],
) -> Result<pb::SyncdPatch, AppStateError> {
    let Some(reference) = &patch.external_mutations else {
        return Ok(patch.clone());
    };
    let plain = open_external_blob(reference, body)?;
    let external = pb::SyncdMutations::decode(plain.as_slice())
        .map_err(|_| AppStateError::Malformed("external mutations"))?;
    let mut full = patch.clone();
    full.external_mutations = None;
    full.mutations.extend(external.mutations);
    Ok(full)
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
    let body = fetch_blob(reference, &mut fetch)?;
    decode_snapshot(&open_snapshot(reference, &body)?, name, key)
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
    let body = fetch_blob(reference, &mut fetch)?;
    decode_patch(&inline_external_mutations(patch, &body)?, name, state, key)
}

/// Builds the snapshot of collection `name` at `version` from its live records, as
/// they were encrypted (by whichever device and key), so a device that starts from it
/// has the same value MACs, hence the same LT-hash, as one that applied every patch.
/// The snapshot is MACed with the app-state key (`key_id`, `key_data`). Returns the
/// snapshot and the state it stands for. Fails with [`AppStateError::Malformed`] on a
/// record without well-sized MACs.
pub fn encode_snapshot(
    name: &str,
    version: u64,
    records: Vec<pb::SyncdRecord>,
    key_id: &[u8],
    key_data: &[u8],
) -> Result<(pb::SyncdSnapshot, CollectionState), AppStateError> {
    let mut state = CollectionState::default();
    for (n, record) in records.iter().enumerate() {
        let blob = value_blob(Some(record))?;
        let value_mac: [u8; 32] = blob[blob.len() - 32..].try_into().expect("32 bytes");
        let index_mac: [u8; 32] = record
            .index
            .as_ref()
            .and_then(|i| i.blob.as_deref())
            .and_then(|b| b.try_into().ok())
            .ok_or(AppStateError::Malformed("record index"))?;
        state.mix(index_mac, value_mac, Operation::Set, n)?;
    }
    state.version = version;
    let keys = MutationKeys::derive(key_data);
    let mac = snapshot_mac(&state.hash.0, version, name, &keys.snapshot_mac_key);
    let snapshot = pb::SyncdSnapshot {
        version: Some(pb::SyncdVersion {
            version: Some(version),
        }),
        records,
        mac: Some(mac.to_vec()),
        key_id: Some(pb::KeyId {
            id: Some(key_id.to_vec()),
        }),
    };
    Ok((snapshot, state))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;
    use crate::appstate::{ChatAction, encode_mutation, encode_patch_batch};

    const KEY_ID: &[u8] = &[0, 0, 0, 0, 0xab, 0xcd];
    const KEY: &[u8] = &[42; 32];
    const NAME: &str = "regular_low";

    fn key(id: &[u8]) -> Option<Vec<u8>> {
        (id == KEY_ID).then(|| KEY.to_vec())
    }

    fn pin(n: u8, pinned: bool) -> ChatAction {
        ChatAction::Pin {
            chat: format!("49170000000{n}@s.whatsapp.net"),
            pinned,
        }
    }

    fn archive(n: u8) -> ChatAction {
        ChatAction::Archive {
            chat: format!("49170000000{n}@s.whatsapp.net"),
            archived: true,
        }
    }

    /// Encodes `actions` as one patch on `state` (versioned as a server would).
    fn patch(
        actions: &[ChatAction],
        state: &CollectionState,
        rng: &mut ChaCha20Rng,
    ) -> (pb::SyncdPatch, CollectionState) {
        let indexes: Vec<Vec<u8>> = actions.iter().map(ChatAction::index_json).collect();
        let inputs: Vec<_> = actions
            .iter()
            .zip(&indexes)
            .map(|(a, i)| a.patch_input(i, 1_700_000_000_000))
            .collect();
        let (mut patch, next) = encode_patch_batch(&inputs, KEY_ID, KEY, state, rng).unwrap();
        patch.version = Some(pb::SyncdVersion {
            version: Some(next.version),
        });
        (patch, next)
    }

    #[test]
    fn encoded_snapshots_decode_to_their_records() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let actions = [pin(1, true), archive(2), pin(3, true)];
        let indexes: Vec<Vec<u8>> = actions.iter().map(ChatAction::index_json).collect();
        let records: Vec<pb::SyncdRecord> = actions
            .iter()
            .zip(&indexes)
            .map(|(a, i)| {
                let input = a.patch_input(i, 5);
                encode_mutation(&input, KEY_ID, KEY, &mut rng)
                    .mutation
                    .record
                    .unwrap()
            })
            .collect();
        let (snapshot, state) = encode_snapshot(NAME, 12, records, KEY_ID, KEY).unwrap();
        let (decoded, mutations) = decode_snapshot(&snapshot, NAME, key).unwrap();
        assert_eq!(decoded, state);
        assert_eq!(decoded.version, 12);
        assert_eq!(decoded.index_value_map.len(), 3);
        let back: Vec<ChatAction> = mutations
            .iter()
            .filter_map(ChatAction::from_mutation)
            .collect();
        assert_eq!(back, actions);
        // Another collection name or version is another snapshot MAC.
        assert_eq!(
            decode_snapshot(&snapshot, "regular_high", key).unwrap_err(),
            AppStateError::BadSnapshotMac(12)
        );
        let empty = encode_snapshot(NAME, 0, Vec::new(), KEY_ID, KEY).unwrap();
        assert_eq!(decode_snapshot(&empty.0, NAME, key).unwrap().0, empty.1);
    }

    #[test]
    fn a_snapshot_of_the_live_records_continues_the_patch_history() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut state = CollectionState::default();
        // Live records by index MAC, as a server keeps them from the patches.
        let mut live: BTreeMap<Vec<u8>, pb::SyncdRecord> = BTreeMap::new();
        let history = [
            vec![pin(1, true), pin(2, true), archive(3)],
            vec![pin(1, false)], // overwrites pin 1
            vec![archive(4)],
        ];
        for actions in &history {
            let (p, next) = patch(actions, &state, &mut rng);
            decode_patch(&p, NAME, &state, key).unwrap();
            for m in p.mutations {
                let record = m.record.unwrap();
                live.insert(record.index.clone().unwrap().blob.unwrap(), record);
            }
            state = next;
        }
        let (snapshot, from_snapshot) = encode_snapshot(
            NAME,
            state.version,
            live.into_values().collect(),
            KEY_ID,
            KEY,
        )
        .unwrap();
        assert_eq!(
            from_snapshot, state,
            "same MAC map and LT-hash as the patches"
        );
        let (decoded, mutations) = decode_snapshot(&snapshot, NAME, key).unwrap();
        assert_eq!(decoded, state);
        assert_eq!(mutations.len(), 4);
        // The next patch applies on top of the snapshot's state.
        let (next, after) = patch(&[archive(5)], &state, &mut rng);
        assert_eq!(decode_patch(&next, NAME, &decoded, key).unwrap().0, after);
    }

    #[test]
    fn sealed_blobs_open_and_tampered_ones_do_not() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let (p, _) = patch(&[pin(1, true)], &CollectionState::default(), &mut rng);
        let records = vec![p.mutations[0].record.clone().unwrap()];
        let (snapshot, _) = encode_snapshot(NAME, 1, records, KEY_ID, KEY).unwrap();
        let (body, mut reference) = seal_external_blob(&snapshot.encode_to_vec(), &[7; 32]);
        assert_eq!(
            reference.file_size_bytes,
            Some(snapshot.encoded_len() as u64)
        );
        reference.direct_path = Some("/v/md-app-state/1".into());
        assert_eq!(open_snapshot(&reference, &body).unwrap(), snapshot);
        let mut tampered = body.clone();
        tampered[3] ^= 1;
        assert_eq!(
            open_snapshot(&reference, &tampered).unwrap_err(),
            AppStateError::ExternalBlob(crate::media::MediaError::BadMac)
        );
        // Not a snapshot inside, though the blob verifies.
        let (garbage, garbage_ref) = seal_external_blob(&[0xff; 9], &[7; 32]);
        assert_eq!(
            open_snapshot(&garbage_ref, &garbage).unwrap_err(),
            AppStateError::Malformed("external snapshot")
        );
    }

    #[test]
    fn external_mutations_decode_once_inlined() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let before = CollectionState::default();
        let (inline, after) = patch(&[pin(1, true), archive(2), pin(3, true)], &before, &mut rng);
        // The server moves the last two mutations to a blob.
        let mut external = inline.clone();
        let moved = pb::SyncdMutations {
            mutations: external.mutations.split_off(1),
        };
        let (body, reference) = seal_external_blob(&moved.encode_to_vec(), &[9; 32]);
        external.external_mutations = Some(reference);
        assert_eq!(
            decode_patch(&external, NAME, &before, key).unwrap_err(),
            AppStateError::ExternalMutations
        );
        assert_eq!(inline_external_mutations(&external, &body).unwrap(), inline);
        assert_eq!(inline_external_mutations(&inline, &[]).unwrap(), inline);
        let (state, mutations) =
            decode_patch_with(&external, NAME, &before, key, |_| Some(body.clone())).unwrap();
        assert_eq!((state, mutations.len()), (after, 3));
        let mut tampered = body;
        tampered[0] ^= 1;
        assert!(matches!(
            inline_external_mutations(&external, &tampered).unwrap_err(),
            AppStateError::ExternalBlob(_)
        ));
    }

    #[test]
    fn batches_need_one_collection() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let state = CollectionState::default();
        assert_eq!(
            encode_patch_batch(&[], KEY_ID, KEY, &state, &mut rng).unwrap_err(),
            AppStateError::Malformed("empty patch")
        );
        let star = ChatAction::PushName { name: "x".into() };
        let (a, b) = (pin(1, true).index_json(), star.index_json());
        let inputs = [pin(1, true).patch_input(&a, 1), star.patch_input(&b, 1)];
        assert_eq!(
            encode_patch_batch(&inputs, KEY_ID, KEY, &state, &mut rng).unwrap_err(),
            AppStateError::Malformed("patch spans collections")
        );
    }
}
