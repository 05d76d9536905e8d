//! Noise_XX_25519_AESGCM_SHA256 building blocks as WhatsApp uses them: the symmetric
//! state of the handshake and the split transport with one counter per direction.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The protocol name, exactly 32 bytes, used directly as the initial `h` and `ck`.
pub const PROTOCOL_NAME: &[u8; 32] = b"Noise_XX_25519_AESGCM_SHA256\0\0\0\0";

/// Why an AEAD operation failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CipherError {
    /// Authentication failed: wrong key, counter, AAD, or tampered ciphertext.
    #[error("decryption failed (bad tag)")]
    Decrypt,
    /// The 32-bit nonce counter is exhausted; the connection must be re-established.
    #[error("nonce counter exhausted")]
    CounterExhausted,
}

fn nonce(counter: u32) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[8..].copy_from_slice(&counter.to_be_bytes());
    n
}

fn hkdf64(salt: &[u8], ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut okm = [0u8; 64];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(&[], &mut okm)
        .expect("64 bytes is a valid HKDF-SHA256 length");
    let (a, b) = okm.split_at(32);
    (a.try_into().expect("32"), b.try_into().expect("32"))
}

/// The handshake's running hash, chaining key and current cipher (one counter).
#[derive(Clone)]
pub struct SymmetricState {
    h: [u8; 32],
    ck: [u8; 32],
    cipher: Option<Aes256Gcm>,
    n: u32,
}

impl std::fmt::Debug for SymmetricState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymmetricState")
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}

impl SymmetricState {
    /// Starts from the protocol name and mixes in the prologue (the connection header).
    pub fn new(prologue: &[u8]) -> Self {
        let mut s = Self {
            h: *PROTOCOL_NAME,
            ck: *PROTOCOL_NAME,
            cipher: None,
            n: 0,
        };
        s.mix_hash(prologue);
        s
    }

    /// The handshake hash, for binding and tests.
    pub fn hash(&self) -> [u8; 32] {
        self.h
    }

    /// `h = SHA256(h || data)`.
    pub fn mix_hash(&mut self, data: &[u8]) {
        self.h = Sha256::new()
            .chain_update(self.h)
            .chain_update(data)
            .finalize()
            .into();
    }

    /// `ck, k = HKDF(ck, ikm)`; resets the counter.
    pub fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, k) = hkdf64(&self.ck, ikm);
        self.ck = ck;
        self.cipher = Some(Aes256Gcm::new(&k.into()));
        self.n = 0;
    }

    fn next_nonce(&mut self) -> Result<[u8; 12], CipherError> {
        let n = nonce(self.n);
        self.n = self.n.checked_add(1).ok_or(CipherError::CounterExhausted)?;
        Ok(n)
    }

    /// Encrypts with AAD = h, then mixes the ciphertext into h.
    pub fn encrypt_and_hash(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let Some(cipher) = self.cipher.clone() else {
            self.mix_hash(plaintext);
            return Ok(plaintext.to_vec());
        };
        let n = self.next_nonce()?;
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&n),
                Payload {
                    msg: plaintext,
                    aad: &self.h,
                },
            )
            .map_err(|_| CipherError::Decrypt)?;
        self.mix_hash(&ct);
        Ok(ct)
    }

    /// Decrypts with AAD = h, then mixes the ciphertext into h.
    pub fn decrypt_and_hash(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let Some(cipher) = self.cipher.clone() else {
            self.mix_hash(ciphertext);
            return Ok(ciphertext.to_vec());
        };
        let n = self.next_nonce()?;
        let pt = cipher
            .decrypt(
                Nonce::from_slice(&n),
                Payload {
                    msg: ciphertext,
                    aad: &self.h,
                },
            )
            .map_err(|_| CipherError::Decrypt)?;
        self.mix_hash(ciphertext);
        Ok(pt)
    }

    /// Derives the two transport keys `(initiator->responder, responder->initiator)`.
    pub fn split(&self) -> ([u8; 32], [u8; 32]) {
        hkdf64(&self.ck, &[])
    }
}

/// Post-handshake encryption: separate keys and counters per direction, empty AAD.
#[derive(Clone)]
pub struct Transport {
    write: Aes256Gcm,
    read: Aes256Gcm,
    write_n: u32,
    read_n: u32,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("write_n", &self.write_n)
            .field("read_n", &self.read_n)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Builds the transport from the split keys.
    pub fn new(write_key: [u8; 32], read_key: [u8; 32]) -> Self {
        Self {
            write: Aes256Gcm::new(&write_key.into()),
            read: Aes256Gcm::new(&read_key.into()),
            write_n: 0,
            read_n: 0,
        }
    }

    /// Encrypts one outgoing frame payload.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let n = nonce(self.write_n);
        self.write_n = self
            .write_n
            .checked_add(1)
            .ok_or(CipherError::CounterExhausted)?;
        self.write
            .encrypt(Nonce::from_slice(&n), plaintext)
            .map_err(|_| CipherError::Decrypt)
    }

    /// Decrypts one incoming frame payload.
    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let n = nonce(self.read_n);
        let pt = self
            .read
            .decrypt(Nonce::from_slice(&n), ciphertext)
            .map_err(|_| CipherError::Decrypt)?;
        self.read_n = self
            .read_n
            .checked_add(1)
            .ok_or(CipherError::CounterExhausted)?;
        Ok(pt)
    }
}
