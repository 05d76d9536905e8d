//! The Signal protocol as WhatsApp uses it (libsignal v3 wire format), written from the
//! public Signal specifications (X3DH, Double Ratchet, XEdDSA, sender keys):
//!
//! * [`keys`]: identity / pre-key material, pre-key bundles, registration ids;
//! * [`x3dh`], [`ratchet`]: key agreement and the KDF chains;
//! * [`session`]: session states and records (current + previous states), serialization;
//! * [`cipher`]: `pkmsg` / `msg` encrypt and decrypt as pure functions over a
//!   [`session::SessionRecord`] (state in, updated state out, nothing changed on error);
//! * [`sender_key`], [`group_cipher`]: group sender keys, `skmsg`;
//! * [`store`]: the store traits (split by concern under [`store::SignalStore`]), the
//!   in-memory store and store-driven helpers that report identity changes;
//! * [`staged`]: the store traits over preloaded records with a dirty set, for callers
//!   whose database is async.
//!
//! Every state change is returned to the caller, never written behind its back: the
//! connector commits Signal state in the same transaction as the message it belongs to.

pub mod cipher;
pub mod error;
pub mod group_cipher;
pub mod keys;
pub mod ratchet;
pub mod sender_key;
pub mod session;
pub mod staged;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod x3dh;

pub use cipher::CiphertextMessage;
pub use error::{DecryptError, EncryptError, GroupError, SetupError};
pub use keys::{PreKeyBundle, PublicKey};
pub use session::SessionRecord;

use rand_core::{CryptoRng, RngCore};

/// Message version byte: current and minimum version 3, as `(3 << 4) | 3`.
pub const VERSION_BYTE: u8 = 0x33;
/// Length of the truncated HMAC-SHA256 at the end of a `msg`.
pub const MAC_LEN: usize = 8;
/// How far ahead of the chain a message counter may be (the oracle's bound: 2000).
pub const MAX_FORWARD_JUMP: u32 = 2000;
/// Skipped message keys kept per chain, oldest dropped first (bounds memory).
pub const MAX_SKIPPED_KEYS: usize = 2000;
/// Receiving chains kept per session state (older ones are dropped with their keys).
pub const MAX_RECEIVER_CHAINS: usize = 5;
/// Previous (archived) session states kept per record.
pub const MAX_PREVIOUS_STATES: usize = 40;

/// A remote device: WhatsApp uses the JID user (or LID) as `name` and the device number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProtocolAddress {
    /// The user part (phone number or LID user).
    pub name: String,
    /// The device id (0 for the primary phone).
    pub device_id: u32,
}

impl ProtocolAddress {
    /// An address from user name and device id.
    pub fn new(name: impl Into<String>, device_id: u32) -> Self {
        Self {
            name: name.into(),
            device_id,
        }
    }
}

impl std::fmt::Display for ProtocolAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.name, self.device_id)
    }
}

/// WhatsApp's plaintext padding: appends 1..=16 bytes, each equal to the pad length,
/// so message lengths leak less.
pub fn pad_message<R: RngCore + CryptoRng>(mut message: Vec<u8>, rng: &mut R) -> Vec<u8> {
    let mut b = [0u8; 1];
    rng.fill_bytes(&mut b);
    let n = (b[0] & 0x0f) + 1;
    message.resize(message.len() + n as usize, n);
    message
}

/// The plaintext padding was missing or inconsistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid message padding")]
pub struct PaddingError;

/// Strips WhatsApp's plaintext padding: the last byte `n` says how many bytes to drop,
/// and all `n` of them must equal `n` (the check whatsmeow applies; no upper bound, as
/// other clients accept longer pads). A zero pad byte is refused: no client writes one.
pub fn unpad_message(message: &[u8]) -> Result<&[u8], PaddingError> {
    let &n = message.last().ok_or(PaddingError)?;
    let len = usize::from(n);
    if len == 0 || len > message.len() {
        return Err(PaddingError);
    }
    let (body, pad) = message.split_at(message.len() - len);
    if pad.iter().any(|&b| b != n) {
        return Err(PaddingError);
    }
    Ok(body)
}

#[cfg(test)]
mod memory_store_contract {
    use super::store::MemoryStore;
    use super::testing::StoreSetup;

    fn open(setup: StoreSetup) -> MemoryStore {
        let mut s = MemoryStore::new(setup.local);
        s.pre_keys = setup.pre_keys.into_iter().map(|k| (k.id, k)).collect();
        s.signed_pre_keys = setup
            .signed_pre_keys
            .into_iter()
            .map(|k| (k.id, k))
            .collect();
        s
    }

    crate::signal_store_integration_tests!(open);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_roundtrip() {
        let mut rng = rand_core::OsRng;
        for _ in 0..50 {
            let p = pad_message(b"hello".to_vec(), &mut rng);
            assert!(p.len() > 5 && p.len() <= 21);
            assert_eq!(unpad_message(&p).unwrap(), b"hello");
        }
        assert_eq!(unpad_message(&[]), Err(PaddingError));
        assert_eq!(unpad_message(&[1, 9]), Err(PaddingError));
        assert_eq!(
            unpad_message(&[7, 3, 2, 3]),
            Err(PaddingError),
            "pad bytes differ"
        );
        assert_eq!(unpad_message(&[7, 0]), Err(PaddingError));
        assert_eq!(unpad_message(&[7, 2, 2]).unwrap(), &[7]);
        assert_eq!(unpad_message(&[17; 18]).unwrap(), &[17]);
    }
}
