//! Media crypto runs in constant memory: streaming 24 MiB through encryption straight
//! into decryption raises the process's peak RSS (`VmHWM`) by no more than a small
//! bound over streaming 1 MiB, with one thread and with two. This file holds a single
//! test so no other test allocates in this process while it measures. Skipped where
//! `/proc/self/status` does not exist.

use std::io::{self, Read, Write};

use wa_proto::media::{self, ExpectedHashes, MediaDecryptor, MediaType, Parallelism};

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

fn round_trip(mib: u64, par: Parallelism) {
    let key = [9u8; 32];
    let mut sink = DecryptSink {
        dec: MediaDecryptor::new(&key, MediaType::Document),
        out: Vec::new(),
    };
    let plain = Gen {
        left: mib << 20,
        x: mib,
    };
    let enc = media::encrypt_stream_with(&key, MediaType::Document, plain, &mut sink, par).unwrap();
    let expected = ExpectedHashes {
        file_enc_sha256: Some(enc.file_enc_sha256),
        file_sha256: Some(enc.file_sha256),
    };
    sink.out.clear();
    let dec = sink.dec.finish(&mut sink.out, &expected).unwrap();
    assert_eq!(dec.file_length, mib << 20);
}

#[test]
fn peak_memory_does_not_grow_with_file_size() {
    if vm_hwm_kib().is_none() {
        eprintln!("no /proc/self/status: skipped");
        return;
    }
    for par in [Parallelism::One, Parallelism::Two] {
        round_trip(1, par);
    }
    let small = vm_hwm_kib().unwrap();
    for par in [Parallelism::One, Parallelism::Two] {
        round_trip(24, par);
    }
    let large = vm_hwm_kib().unwrap();
    // Buffering the file would add >= 24 MiB; allocator noise stays far below 8 MiB.
    assert!(
        large.saturating_sub(small) < 8 * 1024,
        "VmHWM grew from {small} KiB to {large} KiB for 24 MiB instead of 1 MiB"
    );
}
