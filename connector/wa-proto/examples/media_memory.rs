//! Streams N MiB of generated plaintext through media encryption straight into media
//! decryption (nothing is kept) and prints the process's peak RSS (`VmHWM`), to show the
//! media crypto runs in constant memory: `run.sh bench-crypto` runs it for 1 MiB and
//! 256 MiB with one and two threads and prints the peaks side by side.
//!
//! Usage: `media_memory <MiB> [one|two]`

use std::time::Instant;

use wa_proto::media::Parallelism;

#[path = "../tests/common/memory.rs"]
mod memory;

use memory::{round_trip, vm_hwm_kib};

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let par = match args.next().as_deref() {
        Some("two") => Parallelism::Two,
        _ => Parallelism::One,
    };
    let before = vm_hwm_kib();
    let t = Instant::now();
    round_trip(mib, par);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{{\"mib\":{mib},\"parallelism\":\"{par:?}\",\"vm_hwm_kib_before\":{},\"vm_hwm_kib\":{},\"enc_dec_mb_s\":{:.1}}}",
        before.unwrap_or(0),
        vm_hwm_kib().unwrap_or(0),
        mib as f64 / secs
    );
}
