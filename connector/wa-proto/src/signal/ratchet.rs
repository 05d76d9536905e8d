//! The KDF chains of the Double Ratchet, with libsignal's info strings:
//! root key step ("WhisperRatchet"), symmetric chain step (HMAC with `0x01` for the
//! message key seed and `0x02` for the next chain key) and message key expansion
//! ("WhisperMessageKeys": cipher key, MAC key, IV).

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// HKDF-SHA256 (`salt`, `ikm`, `info`) into `out` (libsignal's `deriveSecrets`).
pub(crate) fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .expect("output length within HKDF bounds");
}

/// Constant-time equality for MACs.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A symmetric chain key and the index of the next message key it yields.
#[derive(Clone, PartialEq, Eq)]
pub struct ChainKey {
    /// The 32-byte chain key.
    pub key: [u8; 32],
    /// The counter of the message key this chain key produces next.
    pub index: u32,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainKey")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl ChainKey {
    /// The message key seed for `self.index`.
    pub fn message_key_seed(&self) -> [u8; 32] {
        hmac(&self.key, &[&[1]])
    }

    /// The chain key for the next index.
    pub fn next(&self) -> ChainKey {
        ChainKey {
            key: hmac(&self.key, &[&[2]]),
            index: self.index.wrapping_add(1),
        }
    }
}

/// Keys for one message, expanded from its seed.
#[derive(Clone)]
pub struct MessageKeys {
    /// AES-256-CBC key.
    pub cipher_key: [u8; 32],
    /// HMAC-SHA256 key.
    pub mac_key: [u8; 32],
    /// CBC initialisation vector.
    pub iv: [u8; 16],
}

impl std::fmt::Debug for MessageKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageKeys").finish_non_exhaustive()
    }
}

impl MessageKeys {
    /// HKDF(seed, zero salt, "WhisperMessageKeys") -> cipher key, MAC key, IV.
    pub fn derive(seed: &[u8; 32]) -> Self {
        let mut out = [0u8; 80];
        hkdf(&[0u8; 32], seed, b"WhisperMessageKeys", &mut out);
        let mut k = Self {
            cipher_key: [0; 32],
            mac_key: [0; 32],
            iv: [0; 16],
        };
        k.cipher_key.copy_from_slice(&out[..32]);
        k.mac_key.copy_from_slice(&out[32..64]);
        k.iv.copy_from_slice(&out[64..80]);
        k
    }
}

/// Root step: HKDF(dh, salt = root key, "WhisperRatchet") -> (new root key, chain key).
pub fn root_step(root_key: &[u8; 32], dh: &[u8; 32]) -> ([u8; 32], ChainKey) {
    let mut out = [0u8; 64];
    hkdf(root_key, dh, b"WhisperRatchet", &mut out);
    let mut root = [0u8; 32];
    root.copy_from_slice(&out[..32]);
    let mut chain = [0u8; 32];
    chain.copy_from_slice(&out[32..]);
    (
        root,
        ChainKey {
            key: chain,
            index: 0,
        },
    )
}
