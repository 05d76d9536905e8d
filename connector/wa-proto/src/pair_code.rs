//! Pairing with an 8-character code instead of a QR (`link_code_companion_reg`):
//! `companion_hello` carries our ephemeral key wrapped with a key derived from the code;
//! the phone answers with its wrapped ephemeral (`primary_hello`), and `companion_finish`
//! returns our identity in a key bundle, deriving the ADV secret on the way.

use aes::Aes256;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use ctr::cipher::{KeyIvInit, StreamCipher};
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use thiserror::Error;

use crate::binary::{Jid, Node};
use crate::keys::KeyPair;

/// Alphabet of pairing codes (Crockford-like: no 0, I, O, U).
pub const ALPHABET: &[u8; 32] = b"123456789ABCDEFGHJKLMNPQRSTVWXYZ";
/// PBKDF2-SHA256 iterations for the code key.
pub const PBKDF2_ROUNDS: u32 = 2 << 16;
/// HKDF info for the key-bundle key.
pub const BUNDLE_KEY_INFO: &[u8] = b"link_code_pairing_key_bundle_encryption_key";
/// HKDF info for the ADV secret.
pub const ADV_SECRET_INFO: &[u8] = b"adv_secret";

type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Why a pairing-code step failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PairCodeError {
    /// The notification lacks a required child.
    #[error("link_code_companion_reg lacks {0}")]
    Missing(&'static str),
    /// A wrapped key or identity has the wrong length.
    #[error("{0} has the wrong length")]
    BadLength(&'static str),
    /// The code is not 8 characters of [`ALPHABET`].
    #[error("pairing code must be 8 characters of the code alphabet")]
    BadCode,
}

/// 8 random characters of [`ALPHABET`] (5 random bytes, 5 bits each).
pub fn generate_code<R: RngCore + CryptoRng>(rng: &mut R) -> String {
    let mut b = [0u8; 5];
    rng.fill_bytes(&mut b);
    let v = b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
    (0..8)
        .map(|i| char::from(ALPHABET[((v >> (35 - 5 * i)) & 31) as usize]))
        .collect()
}

/// Checks a caller-chosen code.
pub fn validate_code(code: &str) -> Result<(), PairCodeError> {
    if code.len() == 8 && code.bytes().all(|c| ALPHABET.contains(&c)) {
        Ok(())
    } else {
        Err(PairCodeError::BadCode)
    }
}

/// PBKDF2-SHA256(code, salt, 131072) -> 32 bytes.
pub fn derive_code_key(code: &str, salt: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(code.as_bytes(), salt, PBKDF2_ROUNDS, &mut key);
    key
}

fn ctr(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    Aes256Ctr::new(key.into(), iv.into()).apply_keystream(data);
}

/// `salt(32) || iv(16) || AES-CTR(code key, iv, public)`.
pub fn wrap_key(code: &str, public: &[u8; 32], salt: [u8; 32], iv: [u8; 16]) -> Vec<u8> {
    let key = derive_code_key(code, &salt);
    let mut ct = *public;
    ctr(&key, &iv, &mut ct);
    [&salt[..], &iv[..], &ct[..]].concat()
}

/// Inverse of [`wrap_key`].
pub fn unwrap_key(code: &str, wrapped: &[u8]) -> Result<[u8; 32], PairCodeError> {
    if wrapped.len() != 80 {
        return Err(PairCodeError::BadLength("wrapped ephemeral key"));
    }
    let key = derive_code_key(code, &wrapped[..32]);
    let iv: [u8; 16] = wrapped[32..48].try_into().expect("16");
    let mut pk: [u8; 32] = wrapped[48..80].try_into().expect("32");
    ctr(&key, &iv, &mut pk);
    Ok(pk)
}

/// The `link_code_companion_reg` child for the `companion_hello` iq.
pub fn companion_hello<R: RngCore + CryptoRng>(
    phone: &Jid,
    code: &str,
    ephemeral: &KeyPair,
    noise_public: &[u8; 32],
    platform_id: &str,
    platform_display: &str,
    rng: &mut R,
) -> Node {
    let mut salt = [0u8; 32];
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    Node::new("link_code_companion_reg")
        .attr("jid", phone.clone())
        .attr("stage", "companion_hello")
        .attr("should_show_push_notification", "true")
        .child(
            Node::new("link_code_pairing_wrapped_companion_ephemeral_pub").bytes(wrap_key(
                code,
                &ephemeral.public,
                salt,
                iv,
            )),
        )
        .child(Node::new("companion_server_auth_key_pub").bytes(noise_public.to_vec()))
        .child(Node::new("companion_platform_id").bytes(platform_id.as_bytes().to_vec()))
        .child(Node::new("companion_platform_display").bytes(platform_display.as_bytes().to_vec()))
        .child(Node::new("link_code_pairing_nonce").bytes(b"0".to_vec()))
}

/// Randomness consumed by [`companion_finish`], explicit so vectors are reproducible.
#[derive(Debug, Clone, Copy)]
pub struct FinishRandom {
    /// Random 32 bytes mixed into the bundle and the ADV secret.
    pub random: [u8; 32],
    /// HKDF salt of the bundle key.
    pub salt: [u8; 32],
    /// AES-GCM IV of the bundle.
    pub iv: [u8; 12],
}

impl FinishRandom {
    /// Draws the values from `rng`.
    pub fn draw<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut r = Self {
            random: [0; 32],
            salt: [0; 32],
            iv: [0; 12],
        };
        rng.fill_bytes(&mut r.random);
        rng.fill_bytes(&mut r.salt);
        rng.fill_bytes(&mut r.iv);
        r
    }
}

/// Result of the `primary_hello` step.
#[derive(Debug, Clone)]
pub struct CompanionFinish {
    /// The `link_code_companion_reg` child for the `companion_finish` iq.
    pub node: Node,
    /// The ADV secret to store in the credentials before pair-success arrives.
    pub adv_secret: [u8; 32],
}

/// Handles the phone's `link_code_companion_reg` notification (stage `primary_hello`).
pub fn companion_finish(
    notification_reg: &Node,
    me: &Jid,
    code: &str,
    ephemeral: &KeyPair,
    identity: &KeyPair,
    rnd: FinishRandom,
) -> Result<CompanionFinish, PairCodeError> {
    let child = |tag: &'static str| {
        notification_reg
            .get_child(tag)
            .and_then(Node::content_bytes)
            .ok_or(PairCodeError::Missing(tag))
    };
    let pair_ref = child("link_code_pairing_ref")?.to_vec();
    let primary_identity: [u8; 32] = child("primary_identity_pub")?
        .try_into()
        .map_err(|_| PairCodeError::BadLength("primary identity"))?;
    let primary_ephemeral = unwrap_key(
        code,
        child("link_code_pairing_wrapped_primary_ephemeral_pub")?,
    )?;
    let companion_shared = ephemeral.dh(&primary_ephemeral);
    let mut bundle_key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&rnd.salt), &companion_shared)
        .expand(BUNDLE_KEY_INFO, &mut bundle_key)
        .expect("32 bytes");
    let plaintext = [&identity.public[..], &primary_identity[..], &rnd.random[..]].concat();
    let bundle = Aes256Gcm::new(&bundle_key.into())
        .encrypt(Nonce::from_slice(&rnd.iv), plaintext.as_slice())
        .expect("in-memory AES-GCM encryption cannot fail");
    let identity_shared = identity.dh(&primary_identity);
    let ikm = [&companion_shared[..], &identity_shared[..], &rnd.random[..]].concat();
    let mut adv_secret = [0u8; 32];
    Hkdf::<Sha256>::new(None, &ikm)
        .expand(ADV_SECRET_INFO, &mut adv_secret)
        .expect("32 bytes");
    let node = Node::new("link_code_companion_reg")
        .attr("jid", me.clone())
        .attr("stage", "companion_finish")
        .child(
            Node::new("link_code_pairing_wrapped_key_bundle")
                .bytes([&rnd.salt[..], &rnd.iv[..], &bundle[..]].concat()),
        )
        .child(Node::new("companion_identity_public").bytes(identity.public.to_vec()))
        .child(Node::new("link_code_pairing_ref").bytes(pair_ref));
    Ok(CompanionFinish { node, adv_secret })
}
