//! The app-state MACs, as WhatsApp computes them.

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

/// SET (0x01) or REMOVE (0x02): part of the value MAC input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Set (or overwrite) the record at an index.
    Set,
    /// Remove the record at an index.
    Remove,
}

impl Operation {
    /// The protobuf enum value (`SyncdMutation.SyncdOperation`).
    pub fn proto(self) -> i32 {
        match self {
            Self::Set => 0,
            Self::Remove => 1,
        }
    }
    /// From the protobuf enum value; unknown values are treated as SET, as WhatsApp does
    /// for records without an operation.
    pub fn from_proto(v: i32) -> Self {
        if v == 1 { Self::Remove } else { Self::Set }
    }
}

/// Value MAC: HMAC-SHA512(value MAC key, op || key id || encrypted value || 8-byte
/// length of (op || key id)), truncated to 32 bytes.
pub fn value_mac(op: Operation, enc_value: &[u8], key_id: &[u8], key: &[u8; 32]) -> [u8; 32] {
    let op_byte = match op {
        Operation::Set => 1u8,
        Operation::Remove => 2u8,
    };
    let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("any key length");
    m.update(&[op_byte]);
    m.update(key_id);
    m.update(enc_value);
    m.update(&((key_id.len() + 1) as u64).to_be_bytes());
    let full = m.finalize().into_bytes();
    full[..32].try_into().expect("32")
}

fn hmac256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// Index MAC: HMAC-SHA256(index key, index JSON bytes).
pub fn index_mac(index: &[u8], key: &[u8; 32]) -> [u8; 32] {
    hmac256(key, &[index])
}

/// Snapshot MAC: HMAC-SHA256(snapshot key, LT-hash || version (u64 BE) || name).
pub fn snapshot_mac(lthash: &[u8; 128], version: u64, name: &str, key: &[u8; 32]) -> [u8; 32] {
    hmac256(key, &[lthash, &version.to_be_bytes(), name.as_bytes()])
}

/// Patch MAC: HMAC-SHA256(patch key, snapshot MAC || value MACs… || version || name).
pub fn patch_mac(
    snapshot_mac: &[u8],
    value_macs: &[&[u8]],
    version: u64,
    name: &str,
    key: &[u8; 32],
) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(snapshot_mac);
    for v in value_macs {
        m.update(v);
    }
    m.update(&version.to_be_bytes());
    m.update(name.as_bytes());
    m.finalize().into_bytes().into()
}
