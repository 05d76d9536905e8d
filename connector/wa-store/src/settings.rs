//! Settings: a small global key-value table for configuration the gateway changes
//! at run time (webhook URLs, feature switches), values as text (JSON by convention).

use std::fmt;

use async_trait::async_trait;

use crate::error::{Result, StoreError};

/// Longest accepted setting key, in bytes.
pub const MAX_SETTING_KEY_LEN: usize = 256;

/// Global key-value settings.
#[async_trait]
pub trait SettingsStore: Send + Sync + fmt::Debug {
    /// Reads a setting; `None` if it was never set or was deleted.
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;

    /// Sets (inserts or replaces) a setting.
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;

    /// Deletes a setting; returns whether it existed.
    async fn delete_setting(&self, key: &str) -> Result<bool>;

    /// All settings, ordered by key.
    async fn list_settings(&self) -> Result<Vec<(String, String)>>;
}

/// Rejects keys that are empty, over-long or hold control characters.
pub(crate) fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_SETTING_KEY_LEN {
        return Err(StoreError::InvalidInput(format!(
            "setting key must be 1 to {MAX_SETTING_KEY_LEN} bytes long, got {}",
            key.len()
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(StoreError::InvalidInput(
            "setting key contains a control character".into(),
        ));
    }
    Ok(())
}

/// Rejects values SQL text columns cannot hold faithfully.
pub(crate) fn validate_value(value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(StoreError::InvalidInput(
            "setting value contains a NUL character".into(),
        ));
    }
    Ok(())
}
