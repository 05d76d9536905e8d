//! Media crypto runs in constant memory: streaming 24 MiB through encryption straight
//! into decryption raises the process's peak RSS (`VmHWM`) by no more than a small
//! bound over streaming 1 MiB, with one thread and with two. This file holds a single
//! test so no other test allocates in this process while it measures. Skipped where
//! `/proc/self/status` does not exist.

#[path = "common/memory.rs"]
mod memory;

use memory::{round_trip, vm_hwm_kib};
use wa_proto::media::Parallelism;

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
