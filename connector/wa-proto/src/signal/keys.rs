//! Key material as WhatsApp serializes it: 33-byte `0x05`-prefixed Curve25519 public
//! keys, identity key pairs, pre-key bundles and registration ids. Private key pairs
//! are [`crate::keys::KeyPair`]; one-time and signed pre-keys reuse
//! [`crate::prekeys::PreKey`] and [`crate::creds::SignedPreKey`].

use rand_core::{CryptoRng, RngCore};

use super::error::SetupError;
use crate::keys::{KeyPair, prefixed, unprefix, verify};

/// A Curve25519 public key (Montgomery u); serialized with the `0x05` type byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey(")?;
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

impl PublicKey {
    /// The 33-byte wire form `0x05 || key`.
    pub fn serialize(&self) -> [u8; 33] {
        prefixed(&self.0)
    }

    /// Parses the wire form (33 bytes with `0x05`); `None` for anything else.
    pub fn deserialize(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 33 {
            return None;
        }
        unprefix(bytes).map(Self)
    }

    /// Accepts the 33-byte wire form or a bare 32-byte key (as some stores keep them).
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        unprefix(bytes).map(Self)
    }
}

impl From<&KeyPair> for PublicKey {
    fn from(k: &KeyPair) -> Self {
        Self(k.public)
    }
}

/// Our own long-term identity: the identity key pair and registration id.
#[derive(Debug, Clone)]
pub struct LocalIdentity {
    /// The identity key pair (signs the signed pre-key, authenticates X3DH).
    pub key_pair: KeyPair,
    /// Our registration id, sent in every `pkmsg`.
    pub registration_id: u32,
}

/// A fresh registration id as WhatsApp makes them (14 random bits).
pub fn generate_registration_id<R: RngCore + CryptoRng>(rng: &mut R) -> u32 {
    (rng.next_u32() & 0xffff) & 0x3fff
}

/// A peer device's published keys (from the `<iq xmlns="encrypt">` key fetch),
/// everything needed to start a session with it.
#[derive(Debug, Clone)]
pub struct PreKeyBundle {
    /// The device's registration id.
    pub registration_id: u32,
    /// The device's identity key.
    pub identity_key: PublicKey,
    /// The signed pre-key id.
    pub signed_pre_key_id: u32,
    /// The signed pre-key.
    pub signed_pre_key: PublicKey,
    /// XEdDSA signature by the identity key over the 33-byte signed pre-key.
    pub signed_pre_key_signature: [u8; 64],
    /// An optional one-time pre-key `(id, key)`.
    pub pre_key: Option<(u32, PublicKey)>,
}

impl PreKeyBundle {
    /// Checks the signed pre-key's signature (done by session setup as well).
    pub fn verify_signature(&self) -> Result<(), SetupError> {
        if verify(
            &self.identity_key.0,
            &self.signed_pre_key.serialize(),
            &self.signed_pre_key_signature,
        ) {
            Ok(())
        } else {
            Err(SetupError::BadSignature)
        }
    }
}
