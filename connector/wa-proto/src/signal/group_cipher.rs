//! `skmsg` encryption and decryption with sender keys, as pure functions over a
//! [`SenderKeyRecord`] (unchanged on error). Wire format:
//! `0x33 || SenderKeyMessage{id, iteration, ciphertext} || XEdDSA signature[64]`, the
//! signature covering everything before it.

use prost::Message;
use rand_core::{CryptoRng, RngCore};

use super::error::GroupError;
use super::sender_key::{SenderKeyMessageKeys, SenderKeyRecord};
use super::{MAX_FORWARD_JUMP, MAX_SKIPPED_KEYS, VERSION_BYTE};
use crate::cbc;
use crate::keys::verify;
use crate::proto::signal as pb;

const SIGNATURE_LEN: usize = 64;

/// Encrypts `plaintext` (already padded) with our own newest sender key.
pub fn group_encrypt<R: RngCore + CryptoRng>(
    record: &mut SenderKeyRecord,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, GroupError> {
    let state = record.states.back_mut().ok_or(GroupError::NoOwnSenderKey)?;
    let signing = state
        .signing_private
        .clone()
        .ok_or(GroupError::NoOwnSenderKey)?;
    let iteration = state.chain.index;
    let keys = SenderKeyMessageKeys::derive(&state.chain.message_key_seed());
    let ciphertext = cbc::encrypt(&keys.cipher_key, &keys.iv, plaintext);
    let mut out = vec![VERSION_BYTE];
    pb::SenderKeyMessage {
        id: Some(state.key_id),
        iteration: Some(iteration),
        ciphertext: Some(ciphertext),
    }
    .encode(&mut out)
    .expect("vec grows");
    let sig = signing.sign(&out, rng);
    out.extend_from_slice(&sig);
    state.chain = state.chain.next();
    Ok(out)
}

/// Decrypts an `skmsg` from the sender whose record this is.
pub fn group_decrypt(record: &mut SenderKeyRecord, bytes: &[u8]) -> Result<Vec<u8>, GroupError> {
    if bytes.len() < 1 + SIGNATURE_LEN {
        return Err(GroupError::Malformed("message too short"));
    }
    if bytes[0] != VERSION_BYTE {
        return Err(GroupError::BadVersion(bytes[0]));
    }
    let (signed, sig) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let m = pb::SenderKeyMessage::decode(&signed[1..])
        .map_err(|_| GroupError::Malformed("protobuf"))?;
    let key_id = m.id.ok_or(GroupError::Malformed("missing id"))?;
    let iteration = m
        .iteration
        .ok_or(GroupError::Malformed("missing iteration"))?;
    let ciphertext = m
        .ciphertext
        .ok_or(GroupError::Malformed("missing ciphertext"))?;
    let state = record
        .state_mut(key_id)
        .ok_or(GroupError::NoSenderKey(key_id))?;
    if !verify(&state.signing_public.0, signed, sig) {
        return Err(GroupError::BadSignature);
    }
    // Work on a copy: commit only once the ciphertext decrypts.
    let mut s = state.clone();
    let seed = if iteration < s.chain.index {
        let pos = s
            .skipped
            .iter()
            .position(|(i, _)| *i == iteration)
            .ok_or(GroupError::Duplicate { iteration })?;
        s.skipped.remove(pos).expect("present").1
    } else {
        let jump = iteration - s.chain.index;
        if jump > MAX_FORWARD_JUMP {
            return Err(GroupError::TooFarAhead { iteration, jump });
        }
        while s.chain.index < iteration {
            s.skipped
                .push_back((s.chain.index, s.chain.message_key_seed()));
            if s.skipped.len() > MAX_SKIPPED_KEYS {
                s.skipped.pop_front();
            }
            s.chain = s.chain.next();
        }
        let seed = s.chain.message_key_seed();
        s.chain = s.chain.next();
        seed
    };
    let keys = SenderKeyMessageKeys::derive(&seed);
    let plain = cbc::decrypt(&keys.cipher_key, &keys.iv, &ciphertext)
        .map_err(|_| GroupError::BadPadding)?;
    *state = s;
    Ok(plain)
}
