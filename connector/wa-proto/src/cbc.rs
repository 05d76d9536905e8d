//! AES-256-CBC with PKCS#7 padding over the `aes` block cipher (no extra crate): one-shot
//! helpers for Signal messages and block-wise streaming state for media. Decryption runs
//! many blocks at once (CBC decryption parallelises; AES-NI pipelines it).

use aes::Aes256;
use aes::cipher::inout::InOutBuf;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};

/// AES block length.
pub(crate) const BLOCK: usize = 16;

/// The padding of a decrypted message was not valid PKCS#7 (wrong key or corrupt data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadPadding;

/// CBC encryption state: the key schedule and the chaining block.
#[derive(Clone)]
pub(crate) struct Encryptor {
    cipher: Aes256,
    prev: [u8; BLOCK],
}

impl Encryptor {
    pub(crate) fn new(key: &[u8; 32], iv: &[u8; 16]) -> Self {
        Self {
            cipher: Aes256::new(key.into()),
            prev: *iv,
        }
    }

    /// Encrypts whole blocks in place (`data.len()` must be a multiple of 16).
    pub(crate) fn encrypt_blocks(&mut self, data: &mut [u8]) {
        debug_assert_eq!(data.len() % BLOCK, 0);
        for chunk in data.chunks_exact_mut(BLOCK) {
            for (b, p) in chunk.iter_mut().zip(self.prev.iter()) {
                *b ^= p;
            }
            let block = aes::Block::from_mut_slice(chunk);
            self.cipher.encrypt_block(block);
            self.prev.copy_from_slice(chunk);
        }
    }

    /// Pads the final partial block (`tail.len() < 16`) and returns the last 16 bytes.
    pub(crate) fn finish(mut self, tail: &[u8]) -> [u8; BLOCK] {
        debug_assert!(tail.len() < BLOCK);
        let pad = (BLOCK - tail.len()) as u8;
        let mut last = [pad; BLOCK];
        last[..tail.len()].copy_from_slice(tail);
        self.encrypt_blocks(&mut last);
        last
    }
}

/// CBC decryption state: the key schedule and the previous ciphertext block.
#[derive(Clone)]
pub(crate) struct Decryptor {
    cipher: Aes256,
    prev: [u8; BLOCK],
}

impl Decryptor {
    pub(crate) fn new(key: &[u8; 32], iv: &[u8; 16]) -> Self {
        Self {
            cipher: Aes256::new(key.into()),
            prev: *iv,
        }
    }

    /// Decrypts whole blocks from `input` into `out` (same length, multiple of 16).
    pub(crate) fn decrypt_blocks(&mut self, input: &[u8], out: &mut [u8]) {
        debug_assert_eq!(input.len(), out.len());
        debug_assert_eq!(input.len() % BLOCK, 0);
        if input.is_empty() {
            return;
        }
        let buf = InOutBuf::new(input, out).expect("equal lengths");
        let (blocks, _) = buf.into_chunks();
        self.cipher.decrypt_blocks_inout(blocks);
        for (i, o) in out.chunks_exact_mut(BLOCK).enumerate() {
            let prev: &[u8] = if i == 0 {
                &self.prev
            } else {
                &input[(i - 1) * BLOCK..i * BLOCK]
            };
            for (b, p) in o.iter_mut().zip(prev) {
                *b ^= p;
            }
        }
        self.prev.copy_from_slice(&input[input.len() - BLOCK..]);
    }
}

/// Checks and strips PKCS#7 padding from the final decrypted block(s).
pub(crate) fn unpad(data: &[u8]) -> Result<usize, BadPadding> {
    let &pad = data.last().ok_or(BadPadding)?;
    let pad = pad as usize;
    if pad == 0 || pad > BLOCK || pad > data.len() {
        return Err(BadPadding);
    }
    if data[data.len() - pad..].iter().any(|&b| b as usize != pad) {
        return Err(BadPadding);
    }
    Ok(data.len() - pad)
}

/// One-shot AES-256-CBC/PKCS#7 encryption.
pub(crate) fn encrypt(key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    let whole = plain.len() / BLOCK * BLOCK;
    let mut out = Vec::with_capacity(whole + BLOCK);
    out.extend_from_slice(&plain[..whole]);
    let mut enc = Encryptor::new(key, iv);
    enc.encrypt_blocks(&mut out);
    let last = enc.finish(&plain[whole..]);
    out.extend_from_slice(&last);
    out
}

/// One-shot AES-256-CBC/PKCS#7 decryption.
pub(crate) fn decrypt(key: &[u8; 32], iv: &[u8; 16], ct: &[u8]) -> Result<Vec<u8>, BadPadding> {
    if ct.is_empty() || !ct.len().is_multiple_of(BLOCK) {
        return Err(BadPadding);
    }
    let mut out = vec![0u8; ct.len()];
    Decryptor::new(key, iv).decrypt_blocks(ct, &mut out);
    let n = unpad(&out)?;
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_all_lengths() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        for n in 0..100 {
            let p: Vec<u8> = (0..n as u8).collect();
            let c = encrypt(&key, &iv, &p);
            assert_eq!(c.len(), (n / 16 + 1) * 16);
            assert_eq!(decrypt(&key, &iv, &c).unwrap(), p);
        }
        assert_eq!(decrypt(&key, &iv, &[0u8; 15]), Err(BadPadding));
    }

    #[test]
    fn nist_sp800_38a_f25() {
        // NIST SP 800-38A F.2.5 CBC-AES256.Encrypt, first block.
        let key: [u8; 32] =
            hex32("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        let iv: [u8; 16] = core::array::from_fn(|i| i as u8);
        let mut b = *b"\x6b\xc1\xbe\xe2\x2e\x40\x9f\x96\xe9\x3d\x7e\x11\x73\x93\x17\x2a";
        Encryptor::new(&key, &iv).encrypt_blocks(&mut b);
        assert_eq!(b[..4], [0xf5, 0x8c, 0x4c, 0x04]);
    }

    fn hex32(s: &str) -> [u8; 32] {
        core::array::from_fn(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
    }
}
