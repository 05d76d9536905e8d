//! Server hello processing (protobuf, AEAD, certificate chain) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wa_proto::cert::TrustRoot;
use wa_proto::frame::CONNECTION_HEADER;
use wa_proto::handshake::{Initiator, Responder};
use wa_proto::keys::KeyPair;

fuzz_target!(|data: &[u8]| {
    let mut init = Initiator::new(
        &CONNECTION_HEADER,
        KeyPair::from_private([1; 32]),
        KeyPair::from_private([2; 32]),
    );
    let _ = init.read_server_hello(data, &TrustRoot::default(), 1_700_000_000);
    let mut resp = Responder::new(
        &CONNECTION_HEADER,
        KeyPair::from_private([3; 32]),
        KeyPair::from_private([4; 32]),
        vec![],
    );
    if resp.read_client_hello(data).is_ok() {
        let _ = resp.server_hello();
        let _ = resp.read_client_finish(data);
    }
});
