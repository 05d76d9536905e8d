//! One handled stanza's changes, committed in one transaction: Signal state, the
//! messages it carried, receipts, contacts, device lists, outbox outcomes and the
//! events to deliver. Nothing is acknowledged to the server before this returns.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use crate::account::AccountId;
use crate::contacts::{ContactUpdate, DeviceList, encode_devices, merge_contacts};
use crate::error::Result;
use crate::events::NewEvent;
use crate::message::{ChatDelta, NewMessage, ReceiptUpdate, chat_deltas};
use crate::message_edit::MessageEdit;
use crate::outbox::{OutboxStep, OutboxUpdate};
use crate::signal::{SenderKeyId, SignalWrites};
use crate::time::to_millis;

/// Everything one unit of work changes. Several stanzas may be folded into one
/// `Changes` (group commit); the order inside each list is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Signal state to write.
    pub signal: SignalWrites,
    /// Messages to insert; one that exists already (same chat, sender, id) is left as
    /// it is and reported in [`CommitOutcome::duplicate_messages`].
    pub messages: Vec<NewMessage>,
    /// Stored messages revoked or edited (applied after the inserts above).
    pub message_edits: Vec<MessageEdit>,
    /// Receipts for our outgoing messages.
    pub receipts: Vec<ReceiptUpdate>,
    /// Contact details learned.
    pub contacts: Vec<ContactUpdate>,
    /// Device lists learned (replace the cached ones).
    pub device_lists: Vec<DeviceList>,
    /// Outbox outcomes.
    pub outbox: Vec<OutboxUpdate>,
    /// Events to append, after everything above.
    pub events: Vec<NewEvent>,
}

impl Changes {
    /// Whether there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.signal.is_empty()
            && self.messages.is_empty()
            && self.message_edits.is_empty()
            && self.receipts.is_empty()
            && self.contacts.is_empty()
            && self.device_lists.is_empty()
            && self.outbox.is_empty()
            && self.events.is_empty()
    }
}

/// What a commit did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitOutcome {
    /// Indexes (into [`Changes::messages`]) of messages that already existed.
    pub duplicate_messages: Vec<usize>,
    /// Sequence numbers of the appended events, in order.
    pub event_seqs: Vec<i64>,
}

/// The one write path for message traffic.
#[async_trait]
pub trait ChangeStore: Send + Sync {
    /// Writes `changes` for `account` in one transaction: all or nothing. Input is
    /// validated first (`InvalidInput`, nothing written); `NotFound` if the account
    /// does not exist.
    async fn commit(&self, account: &AccountId, changes: &Changes) -> Result<CommitOutcome>;
}

impl Changes {
    /// Checks every part before anything is written.
    pub(crate) fn validate(&self) -> Result<()> {
        self.signal.validate()?;
        for m in &self.messages {
            m.validate()?;
        }
        for e in &self.message_edits {
            e.validate()?;
        }
        for r in &self.receipts {
            r.validate()?;
        }
        for c in &self.contacts {
            c.validate()?;
        }
        for d in &self.device_lists {
            d.validate()?;
        }
        for o in &self.outbox {
            o.validate()?;
        }
        for e in &self.events {
            e.validate()?;
        }
        Ok(())
    }
}

/// A receipt as the backends apply it.
#[derive(Debug)]
pub(crate) struct ReceiptStep<'a> {
    pub chat: &'a str,
    pub ids: &'a [String],
    pub status: &'static str,
    /// The stored statuses it may overtake.
    pub overtaken: Vec<&'static str>,
}

/// Validated [`Changes`] in the shape both backends write, in the order they write it:
/// Signal state, messages (and their chats), receipts, contacts, device lists, outbox
/// outcomes, events. Repeated keys are folded as applying the lists in order would
/// (the last record wins), which multi-row statements need; keyed lists are sorted
/// so concurrent commits lock rows in the same order.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub sessions: Vec<(&'a str, &'a [u8])>,
    pub identities: Vec<(&'a str, &'a [u8])>,
    pub sender_keys: Vec<(&'a SenderKeyId, &'a [u8])>,
    pub consumed_prekeys: Vec<i64>,
    /// Groups whose holders are deleted before `holders` are inserted.
    pub holder_resets: Vec<&'a str>,
    pub holders: Vec<(&'a str, &'a str)>,
    /// Messages to insert, with their index in [`Changes::messages`]; a repeat of a
    /// key within the batch is left out and listed in `batch_duplicates`.
    pub messages: Vec<(usize, &'a NewMessage)>,
    pub batch_duplicates: Vec<usize>,
    /// Revokes and edits, in order (a later one on the same message wins).
    pub edits: &'a [MessageEdit],
    pub receipts: Vec<ReceiptStep<'a>>,
    pub contacts: Vec<ContactUpdate>,
    /// `(user, encoded devices, updated_at)`.
    pub device_lists: Vec<(&'a str, String, i64)>,
    pub outbox: Vec<OutboxStep<'a>>,
    pub events: &'a [NewEvent],
}

/// Keeps the last value of each key, ordered by key.
fn last_wins<K: Ord, V>(items: impl IntoIterator<Item = (K, V)>) -> Vec<(K, V)> {
    items
        .into_iter()
        .collect::<BTreeMap<K, V>>()
        .into_iter()
        .collect()
}

impl<'a> Plan<'a> {
    /// Plans validated changes (call [`Changes::validate`] first).
    pub(crate) fn new(changes: &'a Changes) -> Self {
        let signal = &changes.signal;
        let mut seen = BTreeSet::new();
        let (mut messages, mut batch_duplicates) = (Vec::new(), Vec::new());
        for (i, m) in changes.messages.iter().enumerate() {
            if seen.insert(m.key()) {
                messages.push((i, m));
            } else {
                batch_duplicates.push(i);
            }
        }
        Plan {
            sessions: last_wins(signal.sessions.iter().map(|(a, r)| (a.as_str(), &r[..]))),
            identities: last_wins(signal.identities.iter().map(|(a, k)| (a.as_str(), &k[..]))),
            sender_keys: last_wins(signal.sender_keys.iter().map(|(id, r)| (id, &r[..]))),
            consumed_prekeys: signal
                .consumed_prekeys
                .iter()
                .map(|&id| i64::from(id))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            holder_resets: signal
                .sender_key_reset
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            holders: signal
                .sender_key_shared
                .iter()
                .map(|(g, a)| (g.as_str(), a.as_str()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            messages,
            batch_duplicates,
            edits: &changes.message_edits,
            receipts: changes
                .receipts
                .iter()
                .filter(|r| !r.ids.is_empty())
                .map(|r| ReceiptStep {
                    chat: &r.chat,
                    ids: &r.ids,
                    status: r.status.as_str(),
                    overtaken: r.status.overtaken(),
                })
                .collect(),
            contacts: merge_contacts(&changes.contacts),
            device_lists: last_wins(changes.device_lists.iter().map(|d| {
                (
                    d.user.as_str(),
                    (encode_devices(&d.devices), to_millis(d.updated_at)),
                )
            }))
            .into_iter()
            .map(|(user, (devices, at))| (user, devices, at))
            .collect(),
            outbox: changes.outbox.iter().map(OutboxStep::new).collect(),
            events: &changes.events,
        }
    }

    /// The chat upserts for the messages that were inserted (`inserted[k]` tells
    /// whether `self.messages[k]` was new).
    pub(crate) fn chat_deltas(&self, inserted: &[bool]) -> Vec<ChatDelta> {
        chat_deltas(
            self.messages
                .iter()
                .zip(inserted)
                .filter(|(_, new)| **new)
                .map(|((_, m), _)| *m),
        )
    }

    /// Indexes of the messages that already existed: repeats within the batch and
    /// those the database already held, ascending.
    pub(crate) fn duplicates(&self, inserted: &[bool]) -> Vec<usize> {
        let mut dups: Vec<usize> = self
            .messages
            .iter()
            .zip(inserted)
            .filter(|(_, new)| !**new)
            .map(|((i, _), _)| *i)
            .chain(self.batch_duplicates.iter().copied())
            .collect();
        dups.sort_unstable();
        dups
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::message::MessageStatus;

    fn msg(id: &str) -> NewMessage {
        NewMessage {
            id: id.into(),
            chat: "c@s".into(),
            sender: "c@s".into(),
            from_me: false,
            timestamp: UNIX_EPOCH,
            kind: "text".into(),
            text: None,
            media: None,
            content: vec![1],
            push_name: None,
            status: MessageStatus::Received,
        }
    }

    #[test]
    fn repeats_fold_and_duplicates_are_reported_in_order() {
        let mut changes = Changes {
            messages: vec![msg("a"), msg("b"), msg("a"), msg("c")],
            ..Changes::default()
        };
        changes.signal.sessions = vec![("1.0".into(), vec![1]), ("1.0".into(), vec![2])];
        changes.signal.consumed_prekeys = vec![3, 3, 1];
        let plan = Plan::new(&changes);
        assert_eq!(plan.sessions, [("1.0", &[2u8][..])]);
        assert_eq!(plan.consumed_prekeys, [1, 3]);
        assert_eq!(plan.messages.len(), 3);
        assert_eq!(plan.batch_duplicates, [2]);
        // "b" (plan index 1, changes index 1) already existed.
        assert_eq!(plan.duplicates(&[true, false, true]), [1, 2]);
        assert_eq!(plan.chat_deltas(&[true, false, true])[0].added, 2);
    }
}
