//! Streams N MiB of generated plaintext through media encryption straight into media
//! decryption (nothing is kept) and prints the process's peak RSS (`VmHWM`), to show the
//! media crypto runs in constant memory: `run.sh bench-crypto` runs it for 1 MiB and
//! 256 MiB with one and two threads and prints the peaks side by side.
//!
//! Usage: `media_memory <MiB> [one|two]`

use std::io::{self, Read, Write};
use std::time::Instant;

use wa_proto::media::{self, ExpectedHashes, MediaDecryptor, MediaType, Parallelism};

/// Deterministic plaintext of a given length, generated on the fly.
struct Gen {
    left: u64,
    x: u64,
}

impl Read for Gen {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.left as usize);
        for b in &mut buf[..n] {
            self.x ^= self.x << 13;
            self.x ^= self.x >> 7;
            self.x ^= self.x << 17;
            *b = self.x as u8;
        }
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

fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let par = match args.next().as_deref() {
        Some("two") => Parallelism::Two,
        _ => Parallelism::One,
    };
    let key = [9u8; 32];
    let before = vm_hwm_kib();
    let t = Instant::now();
    let mut sink = DecryptSink {
        dec: MediaDecryptor::new(&key, MediaType::Video),
        out: Vec::new(),
    };
    let plain = Gen {
        left: mib << 20,
        x: 0x9e37_79b9_7f4a_7c15,
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
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{{\"mib\":{mib},\"parallelism\":\"{par:?}\",\"vm_hwm_kib_before\":{},\"vm_hwm_kib\":{},\"enc_dec_mb_s\":{:.1}}}",
        before.unwrap_or(0),
        vm_hwm_kib().unwrap_or(0),
        mib as f64 / secs
    );
}
