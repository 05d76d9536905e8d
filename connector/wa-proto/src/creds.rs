//! The device's long-lived secrets and identity, created once and persisted by the caller.

use rand_core::{CryptoRng, RngCore};

use crate::binary::Jid;
use crate::keys::KeyPair;

/// A signed pre-key: the identity key's XEdDSA signature over `0x05 || public`.
#[derive(Debug, Clone)]
pub struct SignedPreKey {
    /// Key id (24 bits on the wire).
    pub id: u32,
    /// The key pair.
    pub key: KeyPair,
    /// Identity signature over the prefixed public key.
    pub signature: [u8; 64],
}

impl SignedPreKey {
    /// Generates and signs a pre-key with `identity`.
    pub fn generate<R: RngCore + CryptoRng>(identity: &KeyPair, id: u32, rng: &mut R) -> Self {
        let key = KeyPair::generate(rng);
        let signature = identity.sign(&key.public_prefixed(), rng);
        Self { id, key, signature }
    }
}

/// Everything a companion device must keep between connections.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Noise static key (the transport identity).
    pub noise_key: KeyPair,
    /// Signal identity key.
    pub identity_key: KeyPair,
    /// Current signed pre-key.
    pub signed_pre_key: SignedPreKey,
    /// Signal registration id (14 bits).
    pub registration_id: u32,
    /// Secret shared with the phone through the QR code (or derived by pairing code).
    pub adv_secret: [u8; 32],
    /// Our device JID once paired; `None` means the next connection registers.
    pub me: Option<Jid>,
    /// Our LID, learnt at login.
    pub lid: Option<Jid>,
    /// Serialized ADVSignedDeviceIdentity (with account signature key) from pairing.
    pub account: Option<Vec<u8>>,
    /// Platform the phone reported at pairing.
    pub platform: Option<String>,
    /// Business name, for business accounts.
    pub business_name: Option<String>,
}

impl Credentials {
    /// Fresh credentials for a device that has never been linked.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let noise_key = KeyPair::generate(rng);
        let identity_key = KeyPair::generate(rng);
        let signed_pre_key = SignedPreKey::generate(&identity_key, 1, rng);
        let mut adv_secret = [0u8; 32];
        rng.fill_bytes(&mut adv_secret);
        Self {
            noise_key,
            identity_key,
            signed_pre_key,
            registration_id: rng.next_u32() & 0x3fff,
            adv_secret,
            me: None,
            lid: None,
            account: None,
            platform: None,
            business_name: None,
        }
    }

    /// True once pairing succeeded and the device logs in instead of registering.
    pub fn is_paired(&self) -> bool {
        self.me.is_some()
    }
}
