//! The LT-hash: a 128-byte homomorphic summary of all (index, value MAC) pairs of a
//! collection. Adding a value MAC adds HKDF(value MAC, "WhatsApp Patch Integrity", 128)
//! as 64 wrapping little-endian u16s; removing subtracts it, so order does not matter.

/// The LT-hash of a collection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LtHash(pub [u8; 128]);

impl Default for LtHash {
    fn default() -> Self {
        Self([0; 128])
    }
}

impl std::fmt::Debug for LtHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LtHash({:02x?}..)", &self.0[..4])
    }
}

fn expand(value_mac: &[u8]) -> [u8; 128] {
    let mut out = [0u8; 128];
    hkdf::Hkdf::<sha2::Sha256>::new(None, value_mac)
        .expand(b"WhatsApp Patch Integrity", &mut out)
        .expect("128 bytes is within HKDF bounds");
    out
}

impl LtHash {
    fn pointwise(&mut self, item: &[u8], add: bool) {
        let d = expand(item);
        for (a, b) in self.0.chunks_exact_mut(2).zip(d.chunks_exact(2)) {
            let x = u16::from_le_bytes([a[0], a[1]]);
            let y = u16::from_le_bytes([b[0], b[1]]);
            let r = if add {
                x.wrapping_add(y)
            } else {
                x.wrapping_sub(y)
            };
            a.copy_from_slice(&r.to_le_bytes());
        }
    }

    /// Mixes a value MAC in.
    pub fn add(&mut self, value_mac: &[u8]) {
        self.pointwise(value_mac, true);
    }

    /// Takes a value MAC out (its record was overwritten or removed).
    pub fn subtract(&mut self, value_mac: &[u8]) {
        self.pointwise(value_mac, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_then_subtract_is_identity_and_order_free() {
        let mut h = LtHash::default();
        h.add(b"a");
        h.add(b"b");
        let mut g = LtHash::default();
        g.add(b"b");
        g.add(b"a");
        assert_eq!(h, g);
        h.subtract(b"a");
        h.subtract(b"b");
        assert_eq!(h, LtHash::default());
    }
}
