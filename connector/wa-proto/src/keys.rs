//! Curve25519 key pairs and XEdDSA signatures (Curve25519 keys signing as Ed25519),
//! in the variant libsignal uses: the Edwards sign bit travels in the top bit of the
//! signature's last byte.

use curve25519_dalek::constants::ED25519_BASEPOINT_TABLE;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use x25519_dalek::{PublicKey, StaticSecret};

/// Signal's type byte in front of serialized Curve25519 public keys.
pub const DJB_TYPE: u8 = 5;

/// A Curve25519 key pair used for DH (Noise, Signal) and, through XEdDSA, for signing.
#[derive(Clone)]
pub struct KeyPair {
    secret: StaticSecret,
    /// The public key (32 bytes, Montgomery u).
    pub public: [u8; 32],
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &format_args!("{:02x?}", self.public))
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh key pair from the injected RNG.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        Self::from_private(b)
    }

    /// Rebuilds a key pair from stored private bytes.
    pub fn from_private(private: [u8; 32]) -> Self {
        let secret = StaticSecret::from(private);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// The private bytes, for persistence.
    pub fn private_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// The public key with Signal's `0x05` prefix.
    pub fn public_prefixed(&self) -> [u8; 33] {
        prefixed(&self.public)
    }

    /// X25519 shared secret with `their_public`.
    pub fn dh(&self, their_public: &[u8; 32]) -> [u8; 32] {
        self.secret
            .diffie_hellman(&PublicKey::from(*their_public))
            .to_bytes()
    }

    /// XEdDSA signature of `message`; `rng` supplies the 64 bytes of nonce randomness.
    pub fn sign<R: RngCore + CryptoRng>(&self, message: &[u8], rng: &mut R) -> [u8; 64] {
        let mut z = [0u8; 64];
        rng.fill_bytes(&mut z);
        let k = clamp_integer(self.secret.to_bytes());
        let a = Scalar::from_bytes_mod_order(k);
        let big_a = (&a * ED25519_BASEPOINT_TABLE).compress();
        let sign_bit = big_a.as_bytes()[31] & 0x80;
        let mut h1 = Sha512::new();
        h1.update([0xfe]);
        h1.update([0xff; 31]);
        h1.update(k);
        h1.update(message);
        h1.update(z);
        let r = Scalar::from_hash(h1);
        let big_r = (&r * ED25519_BASEPOINT_TABLE).compress();
        let h = Scalar::from_hash(
            Sha512::new()
                .chain_update(big_r.as_bytes())
                .chain_update(big_a.as_bytes())
                .chain_update(message),
        );
        let s = h * a + r;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(big_r.as_bytes());
        sig[32..].copy_from_slice(s.as_bytes());
        sig[63] = (sig[63] & 0x7f) | sign_bit;
        sig
    }
}

/// `0x05 || key`.
pub fn prefixed(public: &[u8; 32]) -> [u8; 33] {
    let mut out = [DJB_TYPE; 33];
    out[1..].copy_from_slice(public);
    out
}

/// Accepts a 32-byte key or a 33-byte `0x05`-prefixed one.
pub fn unprefix(key: &[u8]) -> Option<[u8; 32]> {
    match key.len() {
        32 => key.try_into().ok(),
        33 if key[0] == DJB_TYPE => key[1..].try_into().ok(),
        _ => None,
    }
}

/// Verifies an XEdDSA signature by the Curve25519 key `public` (32 or 33 bytes).
/// Returns false (never panics) for malformed keys or signatures.
pub fn verify(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let (Some(u), Ok(sig)) = (unprefix(public), <&[u8; 64]>::try_from(signature)) else {
        return false;
    };
    let Some(big_a) = MontgomeryPoint(u).to_edwards((sig[63] & 0x80) >> 7) else {
        return false;
    };
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig[..32]);
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&sig[32..]);
    s_bytes[31] &= 0x7f;
    if s_bytes[31] & 0xe0 != 0 {
        return false;
    }
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let a_c = big_a.compress();
    let h = Scalar::from_hash(
        Sha512::new()
            .chain_update(r_bytes)
            .chain_update(a_c.as_bytes())
            .chain_update(message),
    );
    let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&h, &-big_a, &s);
    check.compress() == CompressedEdwardsY(r_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn sign_verify_and_reject() {
        for _ in 0..20 {
            let k = KeyPair::generate(&mut OsRng);
            let sig = k.sign(b"hello", &mut OsRng);
            assert!(verify(&k.public, b"hello", &sig));
            assert!(verify(&k.public_prefixed(), b"hello", &sig));
            assert!(!verify(&k.public, b"hellp", &sig));
            let mut bad = sig;
            bad[5] ^= 1;
            assert!(!verify(&k.public, b"hello", &bad));
            assert!(!verify(&k.public[..31], b"hello", &sig));
            assert!(!verify(&k.public, b"hello", &sig[..63]));
        }
    }

    #[test]
    fn dh_agrees() {
        let a = KeyPair::generate(&mut OsRng);
        let b = KeyPair::generate(&mut OsRng);
        assert_eq!(a.dh(&b.public), b.dh(&a.public));
    }
}
