//! App-state snapshots and external blobs against Baileys 6.7.21 (frozen in
//! `tests/vectors/appstate_snapshot.json` by `tests/oracle/gen-appstate-snapshot.mjs`):
//! a snapshot Baileys' `decodeSyncdSnapshot` accepted decodes to the same LT-hash,
//! version and records in ours, inline and as an external `md-app-state` blob; a patch
//! with external mutations decodes once its blob is fetched; tampering is a named error.

mod common;

use std::collections::BTreeMap;

use common::{hexf, unhex, vectors};
use prost::Message;
use serde_json::Value as J;
use wa_proto::appstate::{
    AppStateError, CollectionState, decode_patch, decode_patch_with, decode_snapshot,
    decode_snapshot_reference, encode_snapshot,
};
use wa_proto::media::MediaError;
use wa_proto::proto::appstate::{
    ExternalBlobReference, SyncActionValue, SyncdPatch, SyncdSnapshot,
};

fn key_lookup(v: &J) -> impl Fn(&[u8]) -> Option<Vec<u8>> + Clone {
    let keys: Vec<(Vec<u8>, Vec<u8>)> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (hexf(k, "id"), hexf(k, "data")))
        .collect();
    move |id: &[u8]| keys.iter().find(|(k, _)| k == id).map(|(_, d)| d.clone())
}

fn expected_records(s: &J) -> BTreeMap<String, Vec<u8>> {
    s["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_str().unwrap().to_owned(), hexf(r, "action")))
        .collect()
}

fn check_state(s: &J, state: &CollectionState, muts: &[wa_proto::appstate::DecodedMutation]) {
    assert_eq!(state.version, s["version"].as_u64().unwrap());
    assert_eq!(state.hash.0.to_vec(), hexf(s, "hash"));
    assert_eq!(state.index_value_map.len(), muts.len());
    let ours: BTreeMap<String, Vec<u8>> = muts
        .iter()
        .map(|m| {
            (
                m.index.clone(),
                m.action.value.as_ref().unwrap().encode_to_vec(),
            )
        })
        .collect();
    let want = expected_records(s);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in &want {
        let a = SyncActionValue::decode(v.as_slice()).unwrap();
        let b = SyncActionValue::decode(ours[k].as_slice()).unwrap();
        assert_eq!(a, b, "record {k}");
    }
}

#[test]
fn baileys_snapshot_decodes_to_the_same_state() {
    let v = vectors("appstate_snapshot.json");
    let s = &v["snapshot"];
    let name = s["name"].as_str().unwrap();
    let snap = SyncdSnapshot::decode(hexf(s, "bytes").as_slice()).unwrap();
    let (state, muts) = decode_snapshot(&snap, name, key_lookup(&v)).unwrap();
    check_state(s, &state, &muts);

    // The same snapshot behind its ExternalBlobReference, fetched by the caller.
    let reference = ExternalBlobReference::decode(hexf(s, "reference").as_slice()).unwrap();
    let body = hexf(s, "body");
    let mut fetched = Vec::new();
    let (state2, muts2) = decode_snapshot_reference(&reference, name, key_lookup(&v), |r| {
        fetched.push(r.direct_path.clone());
        Some(body.clone())
    })
    .unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!((state2, muts2), (state, muts));
}

#[test]
fn our_encoder_rebuilds_baileys_snapshot() {
    let v = vectors("appstate_snapshot.json");
    let s = &v["snapshot"];
    let name = s["name"].as_str().unwrap();
    let bytes = hexf(s, "bytes");
    let snap = SyncdSnapshot::decode(bytes.as_slice()).unwrap();
    let key_id = snap.key_id.clone().unwrap().id.unwrap();
    let key_data = key_lookup(&v)(&key_id).unwrap();
    let version = s["version"].as_u64().unwrap();
    // The same records (two keys among them) at the same version: the same MAC,
    // field for field the same bytes.
    let (ours, state) =
        encode_snapshot(name, version, snap.records.clone(), &key_id, &key_data).unwrap();
    assert_eq!(ours.encode_to_vec(), bytes);
    assert_eq!(state.hash.0.to_vec(), hexf(s, "hash"));
    assert_eq!(
        decode_snapshot(&ours, name, key_lookup(&v)).unwrap().0,
        state
    );
}

#[test]
fn snapshot_tampering_is_named() {
    let v = vectors("appstate_snapshot.json");
    let s = &v["snapshot"];
    let name = s["name"].as_str().unwrap();
    let snap = SyncdSnapshot::decode(hexf(s, "bytes").as_slice()).unwrap();
    let keys = key_lookup(&v);

    let mut bad = snap.clone();
    bad.mac.as_mut().unwrap()[0] ^= 1;
    assert_eq!(
        decode_snapshot(&bad, name, keys.clone()).unwrap_err(),
        AppStateError::BadSnapshotMac(8)
    );
    assert_eq!(
        decode_snapshot(&snap, "regular_low", keys.clone()).unwrap_err(),
        AppStateError::BadSnapshotMac(8)
    );
    let mut bad = snap.clone();
    bad.version.as_mut().unwrap().version = Some(9);
    assert_eq!(
        decode_snapshot(&bad, name, keys.clone()).unwrap_err(),
        AppStateError::BadSnapshotMac(9)
    );
    // A dropped record changes the LT-hash.
    let mut bad = snap.clone();
    bad.records.remove(1);
    assert_eq!(
        decode_snapshot(&bad, name, keys.clone()).unwrap_err(),
        AppStateError::BadSnapshotMac(8)
    );
    let mut bad = snap.clone();
    let blob = bad.records[2]
        .value
        .as_mut()
        .unwrap()
        .blob
        .as_mut()
        .unwrap();
    blob[20] ^= 1;
    assert_eq!(
        decode_snapshot(&bad, name, keys.clone()).unwrap_err(),
        AppStateError::BadValueMac(2)
    );
    let mut bad = snap.clone();
    bad.records[3]
        .index
        .as_mut()
        .unwrap()
        .blob
        .as_mut()
        .unwrap()[0] ^= 1;
    assert_eq!(
        decode_snapshot(&bad, name, keys.clone()).unwrap_err(),
        AppStateError::BadIndexMac(3)
    );
    let only_a = |id: &[u8]| {
        (id == unhex("00000000bbbb")).then(|| unhex(v["keys"][0]["data"].as_str().unwrap()))
    };
    assert!(matches!(
        decode_snapshot(&snap, name, only_a).unwrap_err(),
        AppStateError::MissingKey(_)
    ));
    let mut bad = snap.clone();
    bad.version = None;
    assert!(matches!(
        decode_snapshot(&bad, name, keys.clone()).unwrap_err(),
        AppStateError::Malformed(_)
    ));

    // External blob: tampered body, wrong hash in the reference, failed download.
    let reference = ExternalBlobReference::decode(hexf(s, "reference").as_slice()).unwrap();
    let body = hexf(s, "body");
    let mut tampered = body.clone();
    tampered[5] ^= 1;
    assert_eq!(
        decode_snapshot_reference(&reference, name, keys.clone(), |_| Some(tampered.clone()))
            .unwrap_err(),
        AppStateError::ExternalBlob(MediaError::BadMac)
    );
    let mut wrong = reference.clone();
    wrong.file_sha256 = Some(vec![0; 32]);
    assert_eq!(
        decode_snapshot_reference(&wrong, name, keys.clone(), |_| Some(body.clone())).unwrap_err(),
        AppStateError::ExternalBlob(MediaError::Sha256Mismatch)
    );
    assert!(matches!(
        decode_snapshot_reference(&reference, name, keys.clone(), |_| None).unwrap_err(),
        AppStateError::BlobUnavailable(p) if p.contains("snapshot")
    ));
}

#[test]
fn baileys_external_mutations_decode_after_fetch() {
    let v = vectors("appstate_snapshot.json");
    let e = &v["external_patches"];
    let name = e["name"].as_str().unwrap();
    let keys = key_lookup(&v);
    let mut state = CollectionState::default();
    for p in e["patches"].as_array().unwrap() {
        let patch = SyncdPatch::decode(hexf(p, "patch").as_slice()).unwrap();
        let mut calls = 0;
        let (next, muts) = if p.get("blob_body").is_some() {
            assert!(patch.mutations.is_empty());
            assert_eq!(
                decode_patch(&patch, name, &state, keys.clone()).unwrap_err(),
                AppStateError::ExternalMutations
            );
            let body = hexf(p, "blob_body");
            let path = p["blob_path"].as_str().unwrap();
            let mut bad = body.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert_eq!(
                decode_patch_with(&patch, name, &state, keys.clone(), |_| Some(bad.clone()))
                    .unwrap_err(),
                AppStateError::ExternalBlob(MediaError::BadMac)
            );
            decode_patch_with(&patch, name, &state, keys.clone(), |r| {
                calls += 1;
                (r.direct_path.as_deref() == Some(path)).then(|| body.clone())
            })
            .unwrap()
        } else {
            decode_patch_with(&patch, name, &state, keys.clone(), |_| {
                calls += 1;
                None
            })
            .unwrap()
        };
        assert_eq!(calls, usize::from(p.get("blob_body").is_some()));
        assert_eq!(next.version, p["version"].as_u64().unwrap());
        assert_eq!(next.hash.0.to_vec(), hexf(p, "hash"));
        assert_eq!(muts.len(), 1);
        assert_eq!(muts[0].index, p["index"].as_str().unwrap());
        let action = SyncActionValue::decode(hexf(p, "action").as_slice()).unwrap();
        assert_eq!(muts[0].action.value.as_ref().unwrap(), &action);
        state = next;
    }
}
