//! Input checks shared by every concern and backend, so both backends refuse exactly
//! the same input with the same [`StoreError::InvalidInput`] before writing anything.

use crate::account::MAX_TEXT_LEN;
use crate::error::{Result, StoreError};

/// A required text field (an id, a JID, an address): 1 to `max` bytes, no NUL (SQL text
/// columns cannot hold it faithfully).
pub(crate) fn required(what: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(StoreError::InvalidInput(format!(
            "{what} must not be empty"
        )));
    }
    optional(what, Some(value), max)
}

/// An optional text field: at most `max` bytes, no NUL.
pub(crate) fn optional(what: &str, value: Option<&str>, max: usize) -> Result<()> {
    match value {
        Some(v) if v.len() > max => Err(StoreError::InvalidInput(format!(
            "{what} is longer than {max} bytes ({})",
            v.len()
        ))),
        Some(v) if v.contains('\0') => Err(StoreError::InvalidInput(format!(
            "{what} contains a NUL character"
        ))),
        _ => Ok(()),
    }
}

/// A JID (chat, sender, contact): 1 to [`MAX_TEXT_LEN`] bytes, no NUL.
///
/// The shape is the protocol's business: server-only JIDs (`s.whatsapp.net`) and LIDs
/// are legitimate, so the store only keeps garbage out.
pub(crate) fn jid(what: &str, value: &str) -> Result<()> {
    required(what, value, MAX_TEXT_LEN)
}

/// A required byte string (a Signal record): 1 to `max` bytes.
pub(crate) fn blob(what: &str, value: &[u8], max: usize) -> Result<()> {
    if value.is_empty() || value.len() > max {
        return Err(StoreError::InvalidInput(format!(
            "{what} must be 1 to {max} bytes, got {}",
            value.len()
        )));
    }
    Ok(())
}

/// An optional byte string of a fixed length (keys, hashes).
pub(crate) fn exact(what: &str, value: Option<&[u8]>, len: usize) -> Result<()> {
    match value {
        Some(v) if v.len() != len => Err(StoreError::InvalidInput(format!(
            "{what} must be {len} bytes, got {}",
            v.len()
        ))),
        _ => Ok(()),
    }
}

/// Cuts free text (an error message) to at most `max` bytes on a character boundary
/// and drops NULs: diagnostics must never make a commit fail.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].replace('\0', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_char_boundaries_and_drops_nul() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("a\0b", 10), "ab");
        assert_eq!(clip("short", 10), "short");
    }

    #[test]
    fn checks_lengths_and_nul() {
        assert!(required("x", "", 4).is_err());
        assert!(required("x", "abcde", 4).is_err());
        assert!(required("x", "a\0", 4).is_err());
        assert!(required("x", "abcd", 4).is_ok());
        assert!(optional("x", None, 0).is_ok());
        assert!(blob("x", &[], 4).is_err());
        assert!(exact("x", Some(&[0; 31]), 32).is_err());
        assert!(exact("x", Some(&[0; 32]), 32).is_ok());
    }
}
