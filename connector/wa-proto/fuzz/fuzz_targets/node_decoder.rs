//! Binary node decoding (with the zlib flag), and re-encoding whatever decodes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wa_proto::binary::{marshal, unmarshal};

fuzz_target!(|data: &[u8]| {
    if let Ok(node) = unmarshal(data) {
        let bytes = marshal(&node).expect("decoded nodes re-encode");
        let again = unmarshal(&bytes).expect("our encoding decodes");
        assert_eq!(marshal(&again).expect("re-encodes"), bytes);
        let _ = node.to_string();
    }
});
