//! X3DH key agreement (libsignal v3 form): 32 bytes of `0xff`, then three or four
//! DH outputs, through HKDF with info "WhisperText" and a zero salt; the first 32 bytes
//! are the initial root key.

use super::keys::PublicKey;
use super::ratchet::hkdf;
use crate::keys::KeyPair;

fn derive_root(parts: &[[u8; 32]]) -> [u8; 32] {
    let mut secret = Vec::with_capacity(32 * 5);
    secret.extend_from_slice(&[0xff; 32]);
    for p in parts {
        secret.extend_from_slice(p);
    }
    let mut out = [0u8; 64];
    hkdf(&[0u8; 32], &secret, b"WhisperText", &mut out);
    let mut root = [0u8; 32];
    root.copy_from_slice(&out[..32]);
    root
}

/// The initiator's (Alice's) root key from her identity and base key and the bundle.
pub fn initiator_root(
    our_identity: &KeyPair,
    our_base: &KeyPair,
    their_identity: &PublicKey,
    their_signed_pre_key: &PublicKey,
    their_one_time: Option<&PublicKey>,
) -> [u8; 32] {
    let mut parts = vec![
        our_identity.dh(&their_signed_pre_key.0),
        our_base.dh(&their_identity.0),
        our_base.dh(&their_signed_pre_key.0),
    ];
    if let Some(otk) = their_one_time {
        parts.push(our_base.dh(&otk.0));
    }
    derive_root(&parts)
}

/// The responder's (Bob's) root key from his keys and the `pkmsg` header.
pub fn responder_root(
    our_identity: &KeyPair,
    our_signed_pre_key: &KeyPair,
    our_one_time: Option<&KeyPair>,
    their_identity: &PublicKey,
    their_base: &PublicKey,
) -> [u8; 32] {
    let mut parts = vec![
        our_signed_pre_key.dh(&their_identity.0),
        our_identity.dh(&their_base.0),
        our_signed_pre_key.dh(&their_base.0),
    ];
    if let Some(otk) = our_one_time {
        parts.push(otk.dh(&their_base.0));
    }
    derive_root(&parts)
}
