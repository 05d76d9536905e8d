//! A stored message changed by a later one: deleted for everyone (revoked) or
//! given new text (edited). Applied in the commit that stores the changing
//! message, after its inserts, so a change and its target may share a batch.
//! A change whose target is not stored (never received, or already forgotten)
//! changes nothing.

use crate::account::MAX_TEXT_LEN;
use crate::error::Result;
use crate::message::{MAX_MESSAGE_TEXT_LEN, fold};
use crate::validate;

/// The stored kind of a revoked message; its text and content are cleared.
pub const REVOKED_KIND: &str = "revoked";

/// What happens to the stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditKind {
    /// Deleted for everyone: kind becomes [`REVOKED_KIND`], text and content go.
    Revoked,
    /// New text (or caption). A revoked message stays revoked.
    Text(String),
}

/// One stored message to change, named by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEdit {
    /// The chat it is in.
    pub chat: String,
    /// Its sender (only the sender edits; a group admin may revoke others').
    pub sender: String,
    /// Its id.
    pub id: String,
    /// The change.
    pub change: EditKind,
}

impl MessageEdit {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::required("edited message id", &self.id, MAX_TEXT_LEN)?;
        validate::jid("edited message chat", &self.chat)?;
        validate::jid("edited message sender", &self.sender)?;
        if let EditKind::Text(text) = &self.change {
            validate::optional("edited text", Some(text), MAX_MESSAGE_TEXT_LEN)?;
        }
        Ok(())
    }

    /// The new text and its search form (`None` for a revoke).
    pub(crate) fn text(&self) -> Option<(&str, String)> {
        match &self.change {
            EditKind::Revoked => None,
            EditKind::Text(t) => Some((t.as_str(), fold(t))),
        }
    }
}
