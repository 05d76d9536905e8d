//! Mutation keys: HKDF-SHA256(key data, no salt, "WhatsApp Mutation Keys", 160).

/// The keys one app-state sync key expands to.
#[derive(Clone)]
pub struct MutationKeys {
    /// HMAC key of the index (the JSON array naming the target).
    pub index_key: [u8; 32],
    /// AES-256-CBC key of the value.
    pub value_encryption_key: [u8; 32],
    /// HMAC-SHA512 key of the value MAC.
    pub value_mac_key: [u8; 32],
    /// HMAC key of the snapshot MAC.
    pub snapshot_mac_key: [u8; 32],
    /// HMAC key of the patch MAC.
    pub patch_mac_key: [u8; 32],
}

impl std::fmt::Debug for MutationKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MutationKeys").finish_non_exhaustive()
    }
}

impl MutationKeys {
    /// Expands an app-state sync key's `keyData`.
    pub fn derive(key_data: &[u8]) -> Self {
        let mut out = [0u8; 160];
        hkdf::Hkdf::<sha2::Sha256>::new(None, key_data)
            .expand(b"WhatsApp Mutation Keys", &mut out)
            .expect("160 bytes is within HKDF bounds");
        let part = |i: usize| -> [u8; 32] { out[i * 32..(i + 1) * 32].try_into().expect("32") };
        Self {
            index_key: part(0),
            value_encryption_key: part(1),
            value_mac_key: part(2),
            snapshot_mac_key: part(3),
            patch_mac_key: part(4),
        }
    }
}
