//! Media keys: validated relative paths, the same on every backend.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::{MediaError, Result};

/// Longest accepted key, in bytes (S3's limit is 1024; prefixes need room).
pub const MAX_KEY_LEN: usize = 512;

/// The name of a blob: `/`-separated segments of `[A-Za-z0-9._=-]`, none empty and
/// none starting with `.`.
///
/// The rules make a key safe as a relative path under a folder (no `..`, no absolute
/// paths, no hidden files that could clash with the store's temp folder) and as an
/// S3 object key, so both backends accept exactly the same keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaKey(String);

impl MediaKey {
    /// Validates a key.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        let bad = |reason| MediaError::InvalidKey {
            key: key.clone(),
            reason,
        };
        if key.is_empty() {
            return Err(bad("empty"));
        }
        if key.len() > MAX_KEY_LEN {
            return Err(bad("longer than 512 bytes"));
        }
        for segment in key.split('/') {
            if segment.is_empty() {
                return Err(bad("empty path segment (leading, trailing or double '/')"));
            }
            if segment.starts_with('.') {
                return Err(bad("a segment starts with '.' (includes '..')"));
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'='))
            {
                return Err(bad(
                    "only A-Z, a-z, 0-9, '.', '_', '-', '=' and '/' are allowed",
                ));
            }
        }
        Ok(MediaKey(key))
    }

    /// The content-addressed key of a SHA-256 digest: `ab/cd/abcd…` (64 hex digits,
    /// sharded by the first two bytes so no folder grows past 65,536 entries).
    pub fn for_sha256(digest: &[u8; 32]) -> Self {
        let hex = hex(digest);
        MediaKey(format!("{}/{}/{hex}", &hex[..2], &hex[2..4]))
    }

    /// The content-addressed key of a digest given as hex (either case).
    pub fn from_sha256_hex(hex_digest: &str) -> Result<Self> {
        let bad = |reason| MediaError::InvalidKey {
            key: hex_digest.to_string(),
            reason,
        };
        if hex_digest.len() != 64 {
            return Err(bad("a SHA-256 digest is 64 hex digits"));
        }
        let mut digest = [0u8; 32];
        for (i, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex_digest[2 * i..2 * i + 2], 16)
                .map_err(|_| bad("not hexadecimal"))?;
        }
        Ok(Self::for_sha256(&digest))
    }

    /// The content-addressed key of some bytes already in memory.
    pub fn for_content(bytes: &[u8]) -> Self {
        Self::for_sha256(&Sha256::digest(bytes).into())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MediaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for MediaKey {
    type Err = MediaError;
    fn from_str(s: &str) -> Result<Self> {
        MediaKey::new(s)
    }
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_keys() {
        for k in [
            "a",
            "media/2024/photo.jpg",
            "acc-1/img_01.webp",
            "x=y",
            "A.B.C",
        ] {
            assert_eq!(MediaKey::new(k).unwrap().as_str(), k);
        }
        assert!(MediaKey::new("k".repeat(MAX_KEY_LEN)).is_ok());
    }

    #[test]
    fn rejects_keys_that_escape_or_confuse() {
        for k in [
            "",
            "/abs",
            "trailing/",
            "a//b",
            "..",
            "../etc/passwd",
            "a/../../b",
            "./a",
            "a/.",
            ".hidden",
            ".tmp/x",
            "back\\slash",
            "sp ace",
            "nul\0",
            "ü",
            "a?b",
            "a#b",
            "a%2e",
            "C:/x",
        ] {
            assert!(
                matches!(MediaKey::new(k), Err(MediaError::InvalidKey { .. })),
                "{k:?} should be rejected"
            );
        }
        assert!(MediaKey::new("k".repeat(MAX_KEY_LEN + 1)).is_err());
    }

    #[test]
    fn content_addressed_keys_are_sharded_sha256_hex() {
        let key = MediaKey::for_content(b"abc");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(key.as_str(), format!("ba/78/{hex}"));
        assert_eq!(MediaKey::from_sha256_hex(hex).unwrap(), key);
        assert_eq!(MediaKey::from_sha256_hex(&hex.to_uppercase()).unwrap(), key);
        assert!(MediaKey::new(key.as_str()).is_ok());
        assert!(MediaKey::from_sha256_hex("abc").is_err());
        assert!(MediaKey::from_sha256_hex(&"zz".repeat(32)).is_err());
    }
}
