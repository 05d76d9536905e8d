//! App-state patches from Baileys 6.7.21's `encodeSyncdPatch` (frozen in
//! `tests/vectors/appstate.json` by `tests/oracle/gen-appstate.mjs`): they verify
//! (patch, value, index and snapshot MACs) and decode in ours, our LT-hash and versions
//! match Baileys' after every patch, our encoder reproduces Baileys' bytes given the
//! same IV, and any tampering is a named error.

mod common;

use std::collections::HashMap;

use common::{hexf, vectors};
use prost::Message;
use rand_core::{CryptoRng, RngCore};
use wa_proto::appstate::mac::Operation;
use wa_proto::appstate::{AppStateError, CollectionState, PatchInput, decode_patch, encode_patch};
use wa_proto::proto::appstate::{SyncActionValue, SyncdPatch};

struct FixedIv([u8; 16]);
impl RngCore for FixedIv {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, d: &mut [u8]) {
        d.copy_from_slice(&self.0[..d.len()]);
    }
    fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(d);
        Ok(())
    }
}
impl CryptoRng for FixedIv {}

#[test]
fn baileys_patches_verify_decode_and_reencode() {
    let v = vectors("appstate.json");
    let key_id = hexf(&v, "key_id");
    let key_data = hexf(&v, "key_data");
    let lookup = |id: &[u8]| (id == key_id.as_slice()).then(|| key_data.clone());
    let mut states: HashMap<String, CollectionState> = HashMap::new();
    let mut ours: HashMap<String, CollectionState> = HashMap::new();
    for p in v["patches"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let bytes = hexf(p, "patch");
        let patch = SyncdPatch::decode(bytes.as_slice()).unwrap();
        let state = states.entry(name.into()).or_default();
        let (next, muts) = decode_patch(&patch, name, state, lookup).unwrap();
        assert_eq!(next.version, p["version"].as_u64().unwrap());
        assert_eq!(
            next.hash.0.to_vec(),
            hexf(p, "hash"),
            "LT-hash after {name} v{}",
            next.version
        );
        assert_eq!(muts.len(), 1);
        assert_eq!(muts[0].index, p["index"].as_str().unwrap());
        let action = SyncActionValue::decode(hexf(p, "action").as_slice()).unwrap();
        assert_eq!(muts[0].action.value.as_ref().unwrap(), &action);
        *state = next.clone();

        // Our encoder, with Baileys' IV, makes the same patch.
        let blob = patch.mutations[0]
            .record
            .as_ref()
            .unwrap()
            .value
            .as_ref()
            .unwrap()
            .blob
            .clone()
            .unwrap();
        let iv: [u8; 16] = blob[..16].try_into().unwrap();
        let input = PatchInput {
            name,
            index: p["index"].as_str().unwrap().as_bytes(),
            value: action,
            api_version: p["api_version"].as_i64().unwrap() as i32,
            operation: Operation::from_proto(p["operation"].as_i64().unwrap() as i32),
        };
        let mine = ours.entry(name.into()).or_default();
        let (mut enc, after) =
            encode_patch(&input, &key_id, &key_data, mine, &mut FixedIv(iv)).unwrap();
        assert_eq!(after, next);
        enc.version = patch.version;
        assert_eq!(
            enc.encode_to_vec(),
            bytes,
            "our patch differs from Baileys'"
        );
        *mine = after;

        // Tampering is named.
        let mut bad = patch.clone();
        bad.patch_mac.as_mut().unwrap()[0] ^= 1;
        assert_eq!(
            decode_patch(&bad, name, state, lookup).unwrap_err(),
            AppStateError::BadPatchMac(next.version)
        );
        assert!(matches!(
            decode_patch(&patch, "other", state, lookup),
            Err(AppStateError::BadPatchMac(_))
        ));
        assert!(matches!(
            decode_patch(&patch, name, state, |_| None),
            Err(AppStateError::MissingKey(_))
        ));
    }
    assert_eq!(states.len(), 3);
}
