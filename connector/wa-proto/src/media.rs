//! Media crypto: HKDF key expansion per media type, AES-256-CBC with a 10-byte truncated
//! HMAC-SHA256 over `iv || ciphertext`, and the hashes WhatsApp sends (`fileSha256` of
//! the plaintext, `fileEncSha256` of the uploaded body `ciphertext || mac`).
//!
//! Encryption and decryption are push-style streams with constant memory: feed any
//! chunk sizes to `update`, take output as it is produced, call `finish`. The
//! [`encrypt_stream`] / [`decrypt_stream`] helpers drive them over `std::io` for tools;
//! the connector wraps the push API in its async I/O. Decryption necessarily releases
//! plaintext before the MAC at the end is checked: write it somewhere provisional and
//! commit only when `finish` succeeds.

use std::io::{self, Read, Write};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::cbc::{self, BLOCK};
use crate::signal::ratchet::ct_eq;

type HmacSha256 = Hmac<Sha256>;

/// Length of the truncated MAC appended to the ciphertext.
pub const MAC_LEN: usize = 10;

/// What a media file is, which selects the HKDF info string of its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// Photos (also stickers and product images use image keys).
    Image,
    /// Videos, GIFs, round video notes (ptv).
    Video,
    /// Audio and voice notes (ptt).
    Audio,
    /// Documents.
    Document,
    /// Stickers (image keys).
    Sticker,
    /// Thumbnail of an image.
    ImageThumbnail,
    /// Thumbnail of a video.
    VideoThumbnail,
    /// Thumbnail of a document.
    DocumentThumbnail,
    /// Link preview thumbnail.
    LinkThumbnail,
    /// History sync blobs (`md-msg-hist`).
    History,
    /// App-state external mutation blobs (`md-app-state`).
    AppState,
    /// Payment background images.
    PaymentBackground,
}

impl MediaType {
    /// The HKDF info string, e.g. `"WhatsApp Image Keys"`.
    pub fn hkdf_info(self) -> &'static str {
        match self {
            Self::Image | Self::Sticker => "WhatsApp Image Keys",
            Self::Video => "WhatsApp Video Keys",
            Self::Audio => "WhatsApp Audio Keys",
            Self::Document => "WhatsApp Document Keys",
            Self::ImageThumbnail => "WhatsApp Image Thumbnail Keys",
            Self::VideoThumbnail => "WhatsApp Video Thumbnail Keys",
            Self::DocumentThumbnail => "WhatsApp Document Thumbnail Keys",
            Self::LinkThumbnail => "WhatsApp Link Thumbnail Keys",
            Self::History => "WhatsApp History Keys",
            Self::AppState => "WhatsApp App State Keys",
            Self::PaymentBackground => "WhatsApp Payment Background Keys",
        }
    }

    /// From the media type names WhatsApp (and Baileys) use in stanzas and upload paths.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "image" | "product" => Self::Image,
            "sticker" => Self::Sticker,
            "video" | "gif" | "ptv" => Self::Video,
            "audio" | "ptt" => Self::Audio,
            "document" => Self::Document,
            "thumbnail-image" => Self::ImageThumbnail,
            "thumbnail-video" => Self::VideoThumbnail,
            "thumbnail-document" => Self::DocumentThumbnail,
            "thumbnail-link" => Self::LinkThumbnail,
            "md-msg-hist" => Self::History,
            "md-app-state" => Self::AppState,
            "payment-bg-image" => Self::PaymentBackground,
            _ => return None,
        })
    }
}

/// The keys expanded from a 32-byte media key.
#[derive(Clone)]
pub struct MediaKeys {
    /// CBC IV.
    pub iv: [u8; 16],
    /// AES-256 key.
    pub cipher_key: [u8; 32],
    /// HMAC key.
    pub mac_key: [u8; 32],
    /// Reference key (unused by the client crypto; kept for completeness).
    pub ref_key: [u8; 32],
}

impl std::fmt::Debug for MediaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaKeys").finish_non_exhaustive()
    }
}

impl MediaKeys {
    /// HKDF-SHA256(media key, no salt, info per type) -> 112 bytes.
    pub fn derive(media_key: &[u8], ty: MediaType) -> Self {
        let mut out = [0u8; 112];
        hkdf::Hkdf::<Sha256>::new(None, media_key)
            .expand(ty.hkdf_info().as_bytes(), &mut out)
            .expect("112 bytes is within HKDF bounds");
        let mut k = Self {
            iv: [0; 16],
            cipher_key: [0; 32],
            mac_key: [0; 32],
            ref_key: [0; 32],
        };
        k.iv.copy_from_slice(&out[..16]);
        k.cipher_key.copy_from_slice(&out[16..48]);
        k.mac_key.copy_from_slice(&out[48..80]);
        k.ref_key.copy_from_slice(&out[80..112]);
        k
    }
}

/// What an encryption produced besides the bytes: the fields of the media message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedMedia {
    /// SHA-256 of the plaintext (`fileSha256`).
    pub file_sha256: [u8; 32],
    /// SHA-256 of the uploaded body `ciphertext || mac` (`fileEncSha256`, names the upload).
    pub file_enc_sha256: [u8; 32],
    /// Plaintext length (`fileLength`).
    pub file_length: u64,
    /// The 10-byte MAC (the last bytes of the body).
    pub mac: [u8; MAC_LEN],
}

/// Push-style media encryptor: constant memory for any file size.
#[derive(Clone)]
pub struct MediaEncryptor {
    cbc: cbc::Encryptor,
    mac: HmacSha256,
    plain_sha: Sha256,
    enc_sha: Sha256,
    partial: [u8; BLOCK],
    partial_len: usize,
    length: u64,
}

impl std::fmt::Debug for MediaEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaEncryptor")
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

impl MediaEncryptor {
    /// Starts encrypting with keys expanded from `media_key` for `ty`.
    pub fn new(media_key: &[u8; 32], ty: MediaType) -> Self {
        let k = MediaKeys::derive(media_key, ty);
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&k.mac_key).expect("any key length");
        mac.update(&k.iv);
        Self {
            cbc: cbc::Encryptor::new(&k.cipher_key, &k.iv),
            mac,
            plain_sha: Sha256::new(),
            enc_sha: Sha256::new(),
            partial: [0; BLOCK],
            partial_len: 0,
            length: 0,
        }
    }

    /// Encrypts `input`, appending the ciphertext produced so far to `out` (whole
    /// blocks; up to 15 bytes wait for the next call). One core: the three hashes are
    /// interleaved with the cipher in small steps, so the CPU overlaps them.
    pub fn update(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.update_with(input, out, Parallelism::One);
    }

    /// Like [`update`](Self::update), but may run the ciphertext hashes (HMAC and
    /// `fileEncSha256`) on a second, scoped thread beside the cipher when `par` allows
    /// it and the call is large enough (at least [`PARALLEL_MIN`] bytes) to pay for the
    /// thread; output is byte-identical either way. Memory stays the caller's chunk.
    pub fn update_with(&mut self, mut input: &[u8], out: &mut Vec<u8>, par: Parallelism) {
        self.length += input.len() as u64;
        if self.partial_len > 0 {
            let take = (BLOCK - self.partial_len).min(input.len());
            self.plain_sha.update(&input[..take]);
            self.partial[self.partial_len..self.partial_len + take].copy_from_slice(&input[..take]);
            self.partial_len += take;
            input = &input[take..];
            if self.partial_len < BLOCK {
                return;
            }
            let mut b = self.partial;
            self.cbc.encrypt_blocks(&mut b);
            self.mac.update(&b);
            self.enc_sha.update(b);
            out.extend_from_slice(&b);
            self.partial_len = 0;
        }
        let whole = input.len() / BLOCK * BLOCK;
        let at = out.len();
        out.extend_from_slice(&input[..whole]);
        self.process(&mut out[at..], par);
        let rest = &input[whole..];
        self.plain_sha.update(rest);
        self.partial[..rest.len()].copy_from_slice(rest);
        self.partial_len = rest.len();
    }

    /// Hashes and encrypts whole blocks in place, on one or two threads.
    fn process(&mut self, data: &mut [u8], par: Parallelism) {
        if data.len() >= PARALLEL_MIN && par.two_threads() && self.process_two(data) {
            return;
        }
        for step in data.chunks_mut(STEP) {
            self.plain_sha.update(&*step);
            self.cbc.encrypt_blocks(step);
            self.mac.update(step);
            self.enc_sha.update(step);
        }
    }

    /// The two-thread pipeline over `SUB`-byte pieces: this thread hashes the plaintext
    /// and encrypts piece `i` while the worker hashes the ciphertext of piece `i - 1`.
    /// When this thread is done it takes the hash states back and hashes whatever the
    /// worker has not reached yet, so a worker slowed by other load never makes the
    /// call slower than encrypting on one thread would. Each thread works on its own
    /// copies of the states (no false sharing), written back at the end. Returns false
    /// (nothing done) when no thread could be started.
    fn process_two(&mut self, data: &mut [u8]) -> bool {
        use std::sync::atomic::{AtomicBool, Ordering};
        let mut cbc = self.cbc.clone();
        let mut plain_sha = self.plain_sha.clone();
        let (mut mac, mut enc_sha) = (self.mac.clone(), self.enc_sha.clone());
        let stop = AtomicBool::new(false);
        let hashed = std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<&[u8]>(QUEUE);
            let stop = &stop;
            let worker = std::thread::Builder::new()
                .name("media-hash".into())
                .spawn_scoped(s, move || {
                    while !stop.load(Ordering::Acquire) {
                        let Some(piece) = next_piece(&rx) else {
                            break;
                        };
                        hash_ciphertext(&mut mac, &mut enc_sha, piece);
                    }
                    (mac, enc_sha, rx)
                });
            let Ok(worker) = worker else {
                return None;
            };
            for piece in data.chunks_mut(SUB) {
                for step in piece.chunks_mut(STEP) {
                    plain_sha.update(&*step);
                    cbc.encrypt_blocks(step);
                }
                let done: &[u8] = piece;
                if tx.send(done).is_err() {
                    // The worker is gone only if it panicked; join re-raises that.
                    break;
                }
            }
            stop.store(true, Ordering::Release);
            drop(tx);
            let (mut mac, mut enc_sha, rx) = match worker.join() {
                Ok(states) => states,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            for piece in rx.try_iter() {
                hash_ciphertext(&mut mac, &mut enc_sha, piece);
            }
            Some((mac, enc_sha))
        });
        let Some((mac, enc_sha)) = hashed else {
            return false;
        };
        (self.cbc, self.plain_sha, self.mac, self.enc_sha) = (cbc, plain_sha, mac, enc_sha);
        true
    }

    /// Pads, appends the last block and the MAC to `out`, and returns the hashes.
    pub fn finish(mut self, out: &mut Vec<u8>) -> EncryptedMedia {
        let cbc = self.cbc.clone();
        let last = cbc.finish(&self.partial[..self.partial_len]);
        self.mac.update(&last);
        self.enc_sha.update(last);
        out.extend_from_slice(&last);
        let full = self.mac.finalize().into_bytes();
        let mut mac = [0u8; MAC_LEN];
        mac.copy_from_slice(&full[..MAC_LEN]);
        self.enc_sha.update(mac);
        out.extend_from_slice(&mac);
        EncryptedMedia {
            file_sha256: self.plain_sha.finalize().into(),
            file_enc_sha256: self.enc_sha.finalize().into(),
            file_length: self.length,
            mac,
        }
    }
}

/// Bytes per interleave step on one thread: small enough that the out-of-order core
/// overlaps the latency-bound CBC chain with the SHA-256 work of the same step (measured
/// best at 96–192 bytes on SHA-NI/AES-NI hardware; larger steps serialise them).
const STEP: usize = 128;

/// Piece size handed to the hashing thread in the two-thread pipeline.
const SUB: usize = 32 * 1024;

/// Pieces that may wait for the hashing thread (the channel only holds borrows of the
/// caller's buffer, so this bounds nothing but latency).
const QUEUE: usize = 64;

/// Feeds ciphertext to the HMAC and `fileEncSha256`, interleaved in `STEP`s (the two
/// SHA-256 chains overlap in the out-of-order core).
fn hash_ciphertext(mac: &mut HmacSha256, enc_sha: &mut Sha256, piece: &[u8]) {
    for step in piece.chunks(STEP) {
        mac.update(step);
        enc_sha.update(step);
    }
}

/// Spins before the hashing thread parks: it is usually a little faster than the
/// cipher, so the next piece is microseconds away, and parking would make every send a
/// wake-up (a syscall and, in VMs, an inter-processor interrupt).
const SPINS: u32 = 256;

/// The next piece for the hashing thread, or `None` when the sender is done.
fn next_piece<'a>(rx: &std::sync::mpsc::Receiver<&'a [u8]>) -> Option<&'a [u8]> {
    use std::sync::mpsc::TryRecvError;
    for _ in 0..SPINS {
        match rx.try_recv() {
            Ok(p) => return Some(p),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => std::hint::spin_loop(),
        }
    }
    rx.recv().ok()
}

/// Smallest `update_with` input that uses a second thread; below it the thread start
/// costs more than it saves.
pub const PARALLEL_MIN: usize = 256 * 1024;

/// How many cores [`MediaEncryptor::update_with`] and [`encrypt_stream_with`] may use:
/// the plaintext hash and the cipher on one, the HMAC and `fileEncSha256` on the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Parallelism {
    /// Everything on the calling thread (no threads started).
    One,
    /// A second, scoped thread for the ciphertext hashes on large inputs.
    Two,
    /// `Two` when the OS reports at least two available cores, else `One`.
    #[default]
    Auto,
}

impl Parallelism {
    fn two_threads(self) -> bool {
        match self {
            Self::One => false,
            Self::Two => true,
            // std reads the cgroup quota files to answer this: ask once per process.
            Self::Auto => {
                static TWO: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
                *TWO.get_or_init(|| {
                    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
                })
            }
        }
    }
}

/// Why a media download failed to verify or decrypt; names what failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The body is shorter than one block plus the MAC, or not block aligned.
    #[error("encrypted media has an invalid length")]
    BadLength,
    /// The HMAC over iv || ciphertext does not match the 10 bytes at the end.
    #[error("media MAC mismatch")]
    BadMac,
    /// `fileEncSha256` of the downloaded body differs from the message's.
    #[error("fileEncSha256 mismatch (downloaded body differs from the message's hash)")]
    EncSha256Mismatch,
    /// `fileSha256` of the decrypted plaintext differs from the message's.
    #[error("fileSha256 mismatch (decrypted file differs from the message's hash)")]
    Sha256Mismatch,
    /// The CBC padding is invalid (MAC verified, so the sender encrypted it wrongly).
    #[error("invalid media padding")]
    BadPadding,
}

/// The hashes a media message carries, to check the download against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpectedHashes {
    /// `fileEncSha256` from the message.
    pub file_enc_sha256: Option<[u8; 32]>,
    /// `fileSha256` from the message.
    pub file_sha256: Option<[u8; 32]>,
}

/// Held back at the end: the MAC and the last (padded) block.
const TAIL: usize = MAC_LEN + BLOCK;

/// Push-style media decryptor: constant memory for any file size.
#[derive(Clone)]
pub struct MediaDecryptor {
    cbc: cbc::Decryptor,
    mac: HmacSha256,
    plain_sha: Sha256,
    enc_sha: Sha256,
    carry: Vec<u8>,
    length: u64,
}

impl std::fmt::Debug for MediaDecryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaDecryptor")
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

/// What a successful decryption verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedMedia {
    /// SHA-256 of the plaintext.
    pub file_sha256: [u8; 32],
    /// SHA-256 of the encrypted body.
    pub file_enc_sha256: [u8; 32],
    /// Plaintext length.
    pub file_length: u64,
}

impl MediaDecryptor {
    /// Starts decrypting a body encrypted under `media_key` for `ty`.
    pub fn new(media_key: &[u8; 32], ty: MediaType) -> Self {
        let k = MediaKeys::derive(media_key, ty);
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&k.mac_key).expect("any key length");
        mac.update(&k.iv);
        Self {
            cbc: cbc::Decryptor::new(&k.cipher_key, &k.iv),
            mac,
            plain_sha: Sha256::new(),
            enc_sha: Sha256::new(),
            carry: Vec::with_capacity(TAIL + 2 * BLOCK),
            length: 0,
        }
    }

    fn decrypt_into(&mut self, ct: &[u8], out: &mut Vec<u8>) {
        self.mac.update(ct);
        let at = out.len();
        out.resize(at + ct.len(), 0);
        self.cbc.decrypt_blocks(ct, &mut out[at..]);
    }

    /// Feeds downloaded bytes, appending plaintext (unverified until `finish`) to `out`.
    pub fn update(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.enc_sha.update(input);
        let start = out.len();
        let c = self.carry.len();
        let avail = c + input.len();
        if avail <= TAIL {
            self.carry.extend_from_slice(input);
            return;
        }
        let process = (avail - TAIL) / BLOCK * BLOCK;
        if process <= c {
            let head: Vec<u8> = self.carry.drain(..process).collect();
            self.decrypt_into(&head, out);
            self.carry.extend_from_slice(input);
        } else {
            let k = c.next_multiple_of(BLOCK) - c;
            if c > 0 {
                let mut head = std::mem::take(&mut self.carry);
                head.extend_from_slice(&input[..k]);
                self.decrypt_into(&head, out);
                head.clear();
                self.carry = head;
            }
            let (mid, rest) = input[k..].split_at(process - c - k);
            self.decrypt_into(mid, out);
            self.carry.clear();
            self.carry.extend_from_slice(rest);
        }
        self.plain_sha.update(&out[start..]);
        self.length += (out.len() - start) as u64;
    }

    /// Verifies the MAC (and the expected hashes), and appends the final plaintext.
    pub fn finish(
        mut self,
        out: &mut Vec<u8>,
        expected: &ExpectedHashes,
    ) -> Result<DecryptedMedia, MediaError> {
        let n = self.carry.len();
        if n < TAIL || !(n - MAC_LEN).is_multiple_of(BLOCK) {
            return Err(MediaError::BadLength);
        }
        let carry = std::mem::take(&mut self.carry);
        let (ct, mac) = carry.split_at(n - MAC_LEN);
        let mut last = vec![0u8; ct.len()];
        self.mac.update(ct);
        self.cbc.decrypt_blocks(ct, &mut last);
        let full = self.mac.finalize().into_bytes();
        if !ct_eq(&full[..MAC_LEN], mac) {
            return Err(MediaError::BadMac);
        }
        let file_enc_sha256: [u8; 32] = self.enc_sha.finalize().into();
        if expected
            .file_enc_sha256
            .is_some_and(|e| !ct_eq(&e, &file_enc_sha256))
        {
            return Err(MediaError::EncSha256Mismatch);
        }
        let keep = cbc::unpad(&last[last.len() - BLOCK..]).map_err(|_| MediaError::BadPadding)?
            + (last.len() - BLOCK);
        self.plain_sha.update(&last[..keep]);
        out.extend_from_slice(&last[..keep]);
        self.length += keep as u64;
        let file_sha256: [u8; 32] = self.plain_sha.finalize().into();
        if expected
            .file_sha256
            .is_some_and(|e| !ct_eq(&e, &file_sha256))
        {
            return Err(MediaError::Sha256Mismatch);
        }
        Ok(DecryptedMedia {
            file_sha256,
            file_enc_sha256,
            file_length: self.length,
        })
    }
}

/// Chunk size of the `std::io` helpers on one thread.
const IO_CHUNK: usize = 64 * 1024;

/// Chunk size of the `std::io` helpers when a second thread may help (each chunk is
/// one `update_with` call, so it must exceed [`PARALLEL_MIN`]).
const IO_CHUNK_PARALLEL: usize = 1024 * 1024;

/// Encrypts everything from `reader` into `writer` (constant memory, one thread).
pub fn encrypt_stream<R: Read, W: Write>(
    media_key: &[u8; 32],
    ty: MediaType,
    reader: R,
    writer: W,
) -> io::Result<EncryptedMedia> {
    encrypt_stream_with(media_key, ty, reader, writer, Parallelism::One)
}

/// Encrypts everything from `reader` into `writer` in constant memory (about 2 MiB with
/// two threads, 128 KiB with one), using the cores `par` allows.
pub fn encrypt_stream_with<R: Read, W: Write>(
    media_key: &[u8; 32],
    ty: MediaType,
    mut reader: R,
    mut writer: W,
    par: Parallelism,
) -> io::Result<EncryptedMedia> {
    let chunk = if par.two_threads() {
        IO_CHUNK_PARALLEL
    } else {
        IO_CHUNK
    };
    let mut enc = MediaEncryptor::new(media_key, ty);
    let mut buf = vec![0u8; chunk];
    let mut out = Vec::with_capacity(chunk + 2 * BLOCK);
    loop {
        let n = match read_full(&mut reader, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(e),
        };
        out.clear();
        enc.update_with(&buf[..n], &mut out, par);
        writer.write_all(&out)?;
    }
    out.clear();
    let r = enc.finish(&mut out);
    writer.write_all(&out)?;
    Ok(r)
}

/// Reads until `buf` is full or the reader ends (short reads would otherwise keep the
/// parallel path below its threshold).
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// An I/O or a verification failure from [`decrypt_stream`].
#[derive(Debug, thiserror::Error)]
pub enum MediaStreamError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The media did not verify.
    #[error(transparent)]
    Media(#[from] MediaError),
}

/// Decrypts everything from `reader` into `writer` (constant memory); on error the
/// written plaintext must be discarded.
pub fn decrypt_stream<R: Read, W: Write>(
    media_key: &[u8; 32],
    ty: MediaType,
    expected: &ExpectedHashes,
    mut reader: R,
    mut writer: W,
) -> Result<DecryptedMedia, MediaStreamError> {
    let mut dec = MediaDecryptor::new(media_key, ty);
    let mut buf = vec![0u8; IO_CHUNK];
    let mut out = Vec::with_capacity(IO_CHUNK + 2 * BLOCK);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        out.clear();
        dec.update(&buf[..n], &mut out);
        writer.write_all(&out)?;
    }
    out.clear();
    let r = dec.finish(&mut out, expected)?;
    writer.write_all(&out)?;
    Ok(r)
}

/// One-shot encryption of a small buffer: returns the body `ciphertext || mac`.
pub fn encrypt(media_key: &[u8; 32], ty: MediaType, plain: &[u8]) -> (Vec<u8>, EncryptedMedia) {
    let mut out = Vec::with_capacity(plain.len() + BLOCK + MAC_LEN);
    let mut enc = MediaEncryptor::new(media_key, ty);
    enc.update(plain, &mut out);
    let r = enc.finish(&mut out);
    (out, r)
}

/// One-shot decryption of a small body.
pub fn decrypt(
    media_key: &[u8; 32],
    ty: MediaType,
    body: &[u8],
    expected: &ExpectedHashes,
) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::with_capacity(body.len());
    let mut dec = MediaDecryptor::new(media_key, ty);
    dec.update(body, &mut out);
    dec.finish(&mut out, expected)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_does_not_matter() {
        let key = [3u8; 32];
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100, 1000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let (body, meta) = encrypt(&key, MediaType::Video, &plain);
            assert_eq!(body.len(), (len / 16 + 1) * 16 + MAC_LEN);
            for chunk in [1usize, 3, 16, 17, 27, 64] {
                let mut enc = MediaEncryptor::new(&key, MediaType::Video);
                let mut out = Vec::new();
                for c in plain.chunks(chunk) {
                    enc.update(c, &mut out);
                }
                assert_eq!(enc.finish(&mut out), meta);
                assert_eq!(out, body);
                let mut dec = MediaDecryptor::new(&key, MediaType::Video);
                let mut p = Vec::new();
                for c in body.chunks(chunk) {
                    dec.update(c, &mut p);
                }
                let exp = ExpectedHashes {
                    file_enc_sha256: Some(meta.file_enc_sha256),
                    file_sha256: Some(meta.file_sha256),
                };
                dec.finish(&mut p, &exp).unwrap();
                assert_eq!(p, plain);
            }
        }
    }

    #[test]
    fn two_threads_match_one() {
        let key = [5u8; 32];
        let len = 3 * PARALLEL_MIN + 12_345;
        let plain: Vec<u8> = (0..len).map(|i| (i * 13 + i / 251) as u8).collect();
        let (body, meta) = encrypt(&key, MediaType::Document, &plain);
        for par in [Parallelism::One, Parallelism::Two, Parallelism::Auto] {
            for chunk in [PARALLEL_MIN - 1, PARALLEL_MIN + 7, len] {
                let mut enc = MediaEncryptor::new(&key, MediaType::Document);
                let mut out = Vec::new();
                for c in plain.chunks(chunk) {
                    enc.update_with(c, &mut out, par);
                }
                assert_eq!(enc.finish(&mut out), meta, "{par:?} {chunk}");
                assert_eq!(out, body);
            }
            let mut streamed = Vec::new();
            let r = encrypt_stream_with(&key, MediaType::Document, &plain[..], &mut streamed, par)
                .unwrap();
            assert_eq!((r, &streamed), (meta.clone(), &body));
        }
        assert_eq!(
            decrypt(&key, MediaType::Document, &body, &Default::default()).unwrap(),
            plain
        );
    }

    #[test]
    fn failures_name_what_failed() {
        let key = [4u8; 32];
        let (body, meta) = encrypt(&key, MediaType::Image, b"hello media");
        let mut bad = body.clone();
        bad[3] ^= 1;
        assert_eq!(
            decrypt(&key, MediaType::Image, &bad, &Default::default()),
            Err(MediaError::BadMac)
        );
        assert_eq!(
            decrypt(&key, MediaType::Audio, &body, &Default::default()),
            Err(MediaError::BadMac)
        );
        assert_eq!(
            decrypt(&key, MediaType::Image, &body[..20], &Default::default()),
            Err(MediaError::BadLength)
        );
        let mut exp = ExpectedHashes {
            file_enc_sha256: Some([0; 32]),
            file_sha256: None,
        };
        assert_eq!(
            decrypt(&key, MediaType::Image, &body, &exp),
            Err(MediaError::EncSha256Mismatch)
        );
        exp.file_enc_sha256 = Some(meta.file_enc_sha256);
        exp.file_sha256 = Some([1; 32]);
        assert_eq!(
            decrypt(&key, MediaType::Image, &body, &exp),
            Err(MediaError::Sha256Mismatch)
        );
    }
}
