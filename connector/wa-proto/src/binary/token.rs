//! Token dictionaries: common strings are sent as one or two bytes.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

pub(crate) use super::token_data::{DOUBLE_BYTE, SINGLE_BYTE};

/// Wire tags of the binary format.
pub mod tags {
    /// Empty list, or the empty string / absent user in a JID pair.
    pub const LIST_EMPTY: u8 = 0;
    /// First double-byte dictionary selector.
    pub const DICTIONARY_0: u8 = 236;
    /// Last double-byte dictionary selector.
    pub const DICTIONARY_3: u8 = 239;
    /// Interop JID: user, device (u16), integrator (u16), server `interop`.
    pub const INTEROP_JID: u8 = 245;
    /// Messenger JID: user, device (u16), server.
    pub const FB_JID: u8 = 246;
    /// Device JID: domain byte, device byte, user.
    pub const AD_JID: u8 = 247;
    /// List with a 1-byte size.
    pub const LIST_8: u8 = 248;
    /// List with a 2-byte size.
    pub const LIST_16: u8 = 249;
    /// JID pair: user (or LIST_EMPTY), server.
    pub const JID_PAIR: u8 = 250;
    /// Packed uppercase hex string.
    pub const HEX_8: u8 = 251;
    /// Bytes with a 1-byte length.
    pub const BINARY_8: u8 = 252;
    /// Bytes with a 20-bit length.
    pub const BINARY_20: u8 = 253;
    /// Bytes with a 4-byte length.
    pub const BINARY_32: u8 = 254;
    /// Packed digits, `-` and `.`.
    pub const NIBBLE_8: u8 = 255;
    /// Longest string the packed forms carry.
    pub const PACKED_MAX: usize = 127;
}

/// How a string is written as a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// One byte.
    Single(u8),
    /// Dictionary selector then index.
    Double(u8, u8),
}

/// FNV-1a: token strings are short and trusted, so a tiny fast hash is enough.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Map = HashMap<&'static str, Token, BuildHasherDefault<Fnv>>;

fn map() -> &'static Map {
    static MAP: OnceLock<Map> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = Map::default();
        for (i, t) in SINGLE_BYTE.iter().enumerate() {
            m.entry(*t).or_insert(Token::Single(i as u8));
        }
        for (d, dict) in DOUBLE_BYTE.iter().enumerate() {
            for (i, t) in dict.iter().enumerate() {
                m.entry(*t).or_insert(Token::Double(d as u8, i as u8));
            }
        }
        m
    })
}

/// The token for `s`, if it is in a dictionary.
pub(crate) fn index_of(s: &str) -> Option<Token> {
    map().get(s).copied()
}

/// The single-byte token at `i` (1..=235).
pub(crate) fn single(i: u8) -> Option<&'static str> {
    SINGLE_BYTE.get(usize::from(i)).copied()
}

/// The double-byte token `index` of dictionary `dict`.
pub(crate) fn double(dict: u8, index: u8) -> Option<&'static str> {
    DOUBLE_BYTE
        .get(usize::from(dict))
        .map(|d| d[usize::from(index)])
}

/// All dictionaries, for tests that compare them against the oracle's.
pub fn dictionaries() -> (&'static [&'static str], Vec<&'static [&'static str]>) {
    (
        &SINGLE_BYTE[..],
        DOUBLE_BYTE.iter().map(|d| &d[..]).collect(),
    )
}
