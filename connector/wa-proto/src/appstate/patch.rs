//! Decoding and encoding of app-state patches: verify the patch MAC, each value MAC and
//! index MAC, decrypt values (AES-256-CBC, IV in front), update the LT-hash and check
//! the snapshot MAC of the resulting state.

use std::collections::HashMap;

use prost::Message;
use rand_core::{CryptoRng, RngCore};

use super::keys::MutationKeys;
use super::lthash::LtHash;
use super::mac::{Operation, index_mac, patch_mac, snapshot_mac, value_mac};
use crate::cbc;
use crate::proto::appstate as pb;
use crate::signal::ratchet::ct_eq;

/// Why a patch did not verify or decode; names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppStateError {
    /// A required field is missing or has the wrong size.
    #[error("malformed patch: {0}")]
    Malformed(&'static str),
    /// No app-state sync key with this id (request it from the phone).
    #[error("missing app-state sync key {}", hex_id(.0))]
    MissingKey(Vec<u8>),
    /// The patch MAC does not match.
    #[error("patch MAC mismatch at version {0}")]
    BadPatchMac(u64),
    /// A mutation's value MAC does not match.
    #[error("value MAC mismatch in mutation {0}")]
    BadValueMac(usize),
    /// A mutation's index MAC does not match its decrypted index.
    #[error("index MAC mismatch in mutation {0}")]
    BadIndexMac(usize),
    /// A mutation's value did not decrypt (bad padding) or parse.
    #[error("value of mutation {0} does not decrypt")]
    BadValue(usize),
    /// A REMOVE names an index that has no record.
    #[error("mutation {0} removes an index that was never set")]
    RemoveWithoutSet(usize),
    /// The LT-hash after the patch does not match its snapshot MAC.
    #[error("snapshot MAC (LT-hash) mismatch at version {0}")]
    BadSnapshotMac(u64),
    /// The patch keeps its mutations in an external blob: decode it with
    /// [`decode_patch_with`](super::decode_patch_with), which fetches the blob.
    #[error("patch has external mutations (use decode_patch_with)")]
    ExternalMutations,
    /// The fetcher returned no bytes for an external blob (its own error stays with it).
    #[error("external blob {0} unavailable")]
    BlobUnavailable(String),
    /// An external blob did not verify or decrypt as `md-app-state` media.
    #[error("external blob: {0}")]
    ExternalBlob(#[from] crate::media::MediaError),
}

fn hex_id(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// The state of one collection (`regular`, `regular_low`, `critical_block`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionState {
    /// The collection version this state is at.
    pub version: u64,
    /// The LT-hash over all current records.
    pub hash: LtHash,
    /// Index MAC -> value MAC of every current record.
    pub index_value_map: HashMap<[u8; 32], [u8; 32]>,
}

impl CollectionState {
    pub(super) fn mix(
        &mut self,
        index_mac: [u8; 32],
        value_mac: [u8; 32],
        op: Operation,
        n: usize,
    ) -> Result<(), AppStateError> {
        let prev = match op {
            Operation::Remove => Some(
                self.index_value_map
                    .remove(&index_mac)
                    .ok_or(AppStateError::RemoveWithoutSet(n))?,
            ),
            Operation::Set => {
                self.hash.add(&value_mac);
                self.index_value_map.insert(index_mac, value_mac)
            }
        };
        if let Some(p) = prev {
            self.hash.subtract(&p);
        }
        Ok(())
    }
}

/// One decoded mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedMutation {
    /// SET or REMOVE.
    pub operation: Operation,
    /// The index JSON, e.g. `["archive","491701234567@s.whatsapp.net"]`.
    pub index: String,
    /// The decrypted action data.
    pub action: pb::SyncActionData,
}

fn k32(b: &[u8], what: &'static str) -> Result<[u8; 32], AppStateError> {
    b.try_into().map_err(|_| AppStateError::Malformed(what))
}

/// Verifies and decodes `patch` of collection `name` on top of `state`. `key` looks up
/// an app-state sync key's `keyData` by key id. Returns the new state and the
/// mutations; `state` is untouched, so a failed patch changes nothing. A patch whose
/// mutations live in an external blob fails with [`AppStateError::ExternalMutations`]:
/// use [`decode_patch_with`](super::decode_patch_with) for those.
pub fn decode_patch(
    patch: &pb::SyncdPatch,
    name: &str,
    state: &CollectionState,
    mut key: impl FnMut(&[u8]) -> Option<Vec<u8>>,
) -> Result<(CollectionState, Vec<DecodedMutation>), AppStateError> {
    if patch.external_mutations.is_some() {
        return Err(AppStateError::ExternalMutations);
    }
    let version = required_version(patch.version.as_ref())?;
    let mut keys_for = |id: &[u8]| mutation_keys(&mut key, id);
    let main = keys_for(&required_key_id(patch.key_id.as_ref())?)?;
    let blobs: Vec<&[u8]> = patch
        .mutations
        .iter()
        .map(|m| value_blob(m.record.as_ref()))
        .collect::<Result<_, _>>()?;
    let macs: Vec<&[u8]> = blobs.iter().map(|b| &b[b.len() - 32..]).collect();
    let snap = patch.snapshot_mac.as_deref().unwrap_or_default();
    let expected = patch_mac(snap, &macs, version, name, &main.patch_mac_key);
    if !ct_eq(&expected, patch.patch_mac.as_deref().unwrap_or_default()) {
        return Err(AppStateError::BadPatchMac(version));
    }
    let mut next = state.clone();
    let mut out = Vec::with_capacity(patch.mutations.len());
    for (n, (m, blob)) in patch.mutations.iter().zip(&blobs).enumerate() {
        let record = m
            .record
            .as_ref()
            .ok_or(AppStateError::Malformed("record"))?;
        let op = Operation::from_proto(m.operation.unwrap_or(0));
        out.push(apply_record(&mut next, n, op, record, blob, &mut keys_for)?);
    }
    next.version = version;
    if !ct_eq(
        &snapshot_mac(&next.hash.0, version, name, &main.snapshot_mac_key),
        snap,
    ) {
        return Err(AppStateError::BadSnapshotMac(version));
    }
    Ok((next, out))
}

/// A record's value blob (`iv || ciphertext || value MAC`), at least IV plus MAC long.
pub(super) fn value_blob(record: Option<&pb::SyncdRecord>) -> Result<&[u8], AppStateError> {
    record
        .and_then(|r| r.value.as_ref())
        .and_then(|v| v.blob.as_deref())
        .filter(|b| b.len() >= 32 + 32)
        .ok_or(AppStateError::Malformed("mutation value"))
}

/// The version every patch and snapshot must carry.
pub(super) fn required_version(version: Option<&pb::SyncdVersion>) -> Result<u64, AppStateError> {
    version
        .and_then(|v| v.version)
        .ok_or(AppStateError::Malformed("missing version"))
}

/// The id of the key every patch and snapshot is MACed with.
pub(super) fn required_key_id(key_id: Option<&pb::KeyId>) -> Result<Vec<u8>, AppStateError> {
    key_id
        .and_then(|k| k.id.clone())
        .ok_or(AppStateError::Malformed("missing key id"))
}

/// The mutation keys for `id`, from the caller's key lookup.
pub(super) fn mutation_keys(
    key: &mut impl FnMut(&[u8]) -> Option<Vec<u8>>,
    id: &[u8],
) -> Result<MutationKeys, AppStateError> {
    key(id)
        .map(|data| MutationKeys::derive(&data))
        .ok_or_else(|| AppStateError::MissingKey(id.to_vec()))
}

/// Verifies one record (value MAC, decryption, index MAC), mixes it into `next` and
/// returns it decoded; `n` names it in errors.
pub(super) fn apply_record(
    next: &mut CollectionState,
    n: usize,
    op: Operation,
    record: &pb::SyncdRecord,
    blob: &[u8],
    keys_for: &mut impl FnMut(&[u8]) -> Result<MutationKeys, AppStateError>,
) -> Result<DecodedMutation, AppStateError> {
    let key_id = record
        .key_id
        .as_ref()
        .and_then(|k| k.id.as_deref())
        .ok_or(AppStateError::Malformed("record key id"))?;
    let keys = keys_for(key_id)?;
    let (enc, vmac) = blob.split_at(blob.len() - 32);
    if !ct_eq(&value_mac(op, enc, key_id, &keys.value_mac_key), vmac) {
        return Err(AppStateError::BadValueMac(n));
    }
    let (iv, ct) = enc.split_at(16);
    let plain = cbc::decrypt(&keys.value_encryption_key, &k16(iv), ct)
        .map_err(|_| AppStateError::BadValue(n))?;
    let action =
        pb::SyncActionData::decode(plain.as_slice()).map_err(|_| AppStateError::BadValue(n))?;
    let index = action.index.clone().unwrap_or_default();
    let imac = record
        .index
        .as_ref()
        .and_then(|i| i.blob.as_deref())
        .ok_or(AppStateError::Malformed("record index"))?;
    if !ct_eq(&index_mac(&index, &keys.index_key), imac) {
        return Err(AppStateError::BadIndexMac(n));
    }
    next.mix(k32(imac, "index MAC")?, k32(vmac, "value MAC")?, op, n)?;
    Ok(DecodedMutation {
        operation: op,
        index: String::from_utf8_lossy(&index).into_owned(),
        action,
    })
}

fn k16(b: &[u8]) -> [u8; 16] {
    b.try_into().expect("split at 16")
}

/// What to change: one mutation of collection `name`.
#[derive(Debug, Clone)]
pub struct PatchInput<'a> {
    /// The collection (`regular_high`, `regular_low`, …).
    pub name: &'a str,
    /// The index JSON bytes, e.g. `["pin_v1","491701234567@s.whatsapp.net"]`.
    pub index: &'a [u8],
    /// The action value.
    pub value: pb::SyncActionValue,
    /// The action's API version (e.g. 5 for pin).
    pub api_version: i32,
    /// SET or REMOVE.
    pub operation: Operation,
}

/// One mutation encoded as the phone or a device writes it: the record plus the MACs
/// the collection state and the patch MAC are built from.
#[derive(Debug, Clone)]
pub struct EncodedMutation {
    /// The mutation to put in a patch (its record alone goes in a snapshot).
    pub mutation: pb::SyncdMutation,
    /// HMAC of the index: the record's key in the collection.
    pub index_mac: [u8; 32],
    /// MAC of the encrypted value: what the LT-hash mixes in.
    pub value_mac: [u8; 32],
}

/// Encrypts and MACs one mutation with the app-state key (`key_id`, `key_data`),
/// with a fresh IV from `rng`.
pub fn encode_mutation<R: RngCore + CryptoRng>(
    input: &PatchInput<'_>,
    key_id: &[u8],
    key_data: &[u8],
    rng: &mut R,
) -> EncodedMutation {
    let keys = MutationKeys::derive(key_data);
    let data = pb::SyncActionData {
        index: Some(input.index.to_vec()),
        value: Some(input.value.clone()),
        padding: Some(Vec::new()),
        version: Some(input.api_version),
    }
    .encode_to_vec();
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let mut enc = iv.to_vec();
    enc.extend_from_slice(&cbc::encrypt(&keys.value_encryption_key, &iv, &data));
    let value_mac = value_mac(input.operation, &enc, key_id, &keys.value_mac_key);
    let index_mac = index_mac(input.index, &keys.index_key);
    enc.extend_from_slice(&value_mac);
    EncodedMutation {
        mutation: pb::SyncdMutation {
            operation: Some(input.operation.proto()),
            record: Some(pb::SyncdRecord {
                index: Some(pb::SyncdIndex {
                    blob: Some(index_mac.to_vec()),
                }),
                value: Some(pb::SyncdValue { blob: Some(enc) }),
                key_id: Some(pb::KeyId {
                    id: Some(key_id.to_vec()),
                }),
            }),
        },
        index_mac,
        value_mac,
    }
}

/// Encodes one mutation as a patch on top of `state` with the app-state key
/// (`key_id`, `key_data`); returns the patch to upload and the state after it.
pub fn encode_patch<R: RngCore + CryptoRng>(
    input: &PatchInput<'_>,
    key_id: &[u8],
    key_data: &[u8],
    state: &CollectionState,
    rng: &mut R,
) -> Result<(pb::SyncdPatch, CollectionState), AppStateError> {
    encode_patch_batch(std::slice::from_ref(input), key_id, key_data, state, rng)
}

/// Encodes several mutations of one collection as a single patch on top of `state`
/// (what a phone sends after a bulk change, and what makes a patch large enough for
/// the server to move its mutations to an external blob). The patch carries no
/// version: the server assigns it. Fails with [`AppStateError::Malformed`] when
/// `inputs` is empty or names more than one collection.
pub fn encode_patch_batch<R: RngCore + CryptoRng>(
    inputs: &[PatchInput<'_>],
    key_id: &[u8],
    key_data: &[u8],
    state: &CollectionState,
    rng: &mut R,
) -> Result<(pb::SyncdPatch, CollectionState), AppStateError> {
    let name = inputs
        .first()
        .ok_or(AppStateError::Malformed("empty patch"))?
        .name;
    if inputs.iter().any(|i| i.name != name) {
        return Err(AppStateError::Malformed("patch spans collections"));
    }
    let keys = MutationKeys::derive(key_data);
    let mut next = state.clone();
    let mut mutations = Vec::with_capacity(inputs.len());
    let mut value_macs = Vec::with_capacity(inputs.len());
    for (n, input) in inputs.iter().enumerate() {
        let encoded = encode_mutation(input, key_id, key_data, rng);
        next.mix(encoded.index_mac, encoded.value_mac, input.operation, n)?;
        value_macs.push(encoded.value_mac);
        mutations.push(encoded.mutation);
    }
    next.version += 1;
    let snap = snapshot_mac(&next.hash.0, next.version, name, &keys.snapshot_mac_key);
    let macs: Vec<&[u8]> = value_macs.iter().map(|m| m.as_slice()).collect();
    let pmac = patch_mac(&snap, &macs, next.version, name, &keys.patch_mac_key);
    let patch = pb::SyncdPatch {
        version: None,
        mutations,
        snapshot_mac: Some(snap.to_vec()),
        patch_mac: Some(pmac.to_vec()),
        key_id: Some(pb::KeyId {
            id: Some(key_id.to_vec()),
        }),
        ..Default::default()
    };
    Ok((patch, next))
}
