//! Streaming media through encryption straight into decryption, keeping nothing,
//! and reading the process's peak RSS: shared by the `media_memory` test (which
//! bounds the growth) and example (which prints the figures for `run.sh bench-crypto`).

use std::io::{self, Read, Write};

use wa_proto::media::{self, ExpectedHashes, MediaDecryptor, MediaType, Parallelism};

/// Deterministic plaintext of a given length, generated on the fly.
struct Gen {
    left: u64,
    x: u64,
}

impl Read for Gen {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.left as usize);
        // Cheap in debug builds: one byte value per read call.
        self.x = self
            .x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        buf[..n].fill((self.x >> 56) as u8);
        self.left -= n as u64;
        Ok(n)
    }
}

/// Feeds the ciphertext into a decryptor and drops the plaintext.
struct DecryptSink {
    dec: MediaDecryptor,
    out: Vec<u8>,
}

impl Write for DecryptSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.clear();
        self.dec.update(buf, &mut self.out);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The process's peak resident set (`VmHWM`) in KiB, where `/proc` exists.
pub fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Encrypts `mib` MiB of generated plaintext into a decryptor and checks the round trip.
pub fn round_trip(mib: u64, par: Parallelism) {
    let key = [9u8; 32];
    let mut sink = DecryptSink {
        dec: MediaDecryptor::new(&key, MediaType::Video),
        out: Vec::new(),
    };
    let plain = Gen {
        left: mib << 20,
        x: mib,
    };
    let enc = media::encrypt_stream_with(&key, MediaType::Video, plain, &mut sink, par)
        .expect("generator and sink do not fail");
    let expected = ExpectedHashes {
        file_enc_sha256: Some(enc.file_enc_sha256),
        file_sha256: Some(enc.file_sha256),
    };
    sink.out.clear();
    let dec = sink
        .dec
        .finish(&mut sink.out, &expected)
        .expect("round trip verifies");
    assert_eq!(dec.file_length, mib << 20);
}
