//! Frame reassembly on arbitrary input split at an arbitrary point.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wa_proto::frame::{CONNECTION_HEADER, FrameDecoder};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    for mut d in [
        FrameDecoder::client(),
        FrameDecoder::server(CONNECTION_HEADER),
    ] {
        d.push(&data[..split]);
        while let Ok(Some(_)) = d.next_frame() {}
        d.push(&data[split..]);
        while let Ok(Some(_)) = d.next_frame() {}
    }
});
