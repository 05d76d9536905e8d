//! Incoming messages: decrypt, store, and only then acknowledge.
//!
//! For each `<message>` stanza: if the message is already stored (a redelivery after
//! a crash between commit and ack: its keys are used up, so decryption fails and the
//! store is asked) it is acknowledged again and nothing else happens. Otherwise it is
//! decrypted against the account's Signal state, and the message, its
//! event, the sender's push name and the Signal state changes are committed in one
//! transaction. The delivery receipt and the server ack are queued on the connection
//! after that commit returns, never before: a crash at any point leaves either nothing
//! (the server redelivers) or everything (the redelivery is recognised). Stanzas that
//! arrive together are folded into one transaction ([`InboundBatch`], at most
//! [`MAX_BATCH`]): the driver flushes the batch before it waits for more input.
//!
//! A message that cannot be decrypted is recorded as a `message.undecryptable` event,
//! the sender is asked to send it again (a retry receipt, as WhatsApp clients do, at
//! most [`MAX_RETRIES`] times per message) and the stanza is acknowledged.

use std::collections::HashSet;
use std::sync::Arc;

use prost::Message as _;
use rand_core::OsRng;
use tokio::sync::OwnedMutexGuard;
use tracing::{debug, info, warn};
use wa_proto::appstate::Collection;
use wa_proto::binary::{Jid, Node};
use wa_proto::content;
use wa_proto::proto::message::Message;
use wa_proto::receipt;
use wa_proto::receive::{self, EncKind, IncomingMessage, MessageInfo};
use wa_proto::signal::ProtocolAddress;
use wa_proto::signal::cipher::PreKeySignalMessage;
use wa_proto::signal::error::{DecryptError, GroupError};
use wa_proto::signal::sender_key::{SenderKeyDistributionMessage, SenderKeyName};
use wa_proto::signal::store::{self as signal_store, StoreOpError, TrustPolicy};
use wa_store::{Changes, ContactUpdate, MessageStatus, NewMessage};

use crate::accounts::SessionError;
use crate::driver::WaConnection;
use crate::events;
use crate::messaging::{Messaging, media_info};
use crate::signal_state::{Needs, SignalCache};

/// Retry receipts sent for one message before it is left undecryptable.
pub const MAX_RETRIES: u32 = 5;

/// Most stanzas folded into one transaction.
pub const MAX_BATCH: usize = 128;

/// Stanzas handled but not committed yet: their changes, and what to send once the
/// commit returned. Consecutive stanzas that arrived together share one transaction
/// (group commit); the account's Signal lock is held from the first decrypt to that
/// commit, so no other writer commits Signal state ahead of the messages it belongs to.
#[derive(Default)]
pub struct InboundBatch {
    guard: Option<OwnedMutexGuard<SignalCache>>,
    changes: Changes,
    /// Receipts and acks, in stanza order, sent after the commit.
    after: Vec<Node>,
    /// Messages in this batch, to recognise a second copy before it is committed.
    seen: HashSet<(String, String, String)>,
    downloads: Vec<(String, String)>,
    stanzas: usize,
}

impl std::fmt::Debug for InboundBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundBatch")
            .field("stanzas", &self.stanzas)
            .field("locked", &self.guard.is_some())
            .finish_non_exhaustive()
    }
}

impl InboundBatch {
    /// How many stanzas wait for the commit.
    pub fn len(&self) -> usize {
        self.stanzas
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.stanzas == 0
    }

    /// The changes so far, for handlers that add their own (receipts).
    pub fn changes_mut(&mut self) -> &mut Changes {
        &mut self.changes
    }

    /// Queues `node` to be sent once the batch is committed, and counts the stanza.
    pub fn after_commit(&mut self, node: Node) {
        self.after.push(node);
        self.stanzas += 1;
    }

    /// Queues `node` to be sent once the batch is committed, as part of a stanza
    /// already counted (a second answer to it).
    pub fn also_after_commit(&mut self, node: Node) {
        self.after.push(node);
    }

    /// Counts a stanza whose changes go out with the batch but that is not
    /// answered (a chat state).
    pub fn count_unanswered(&mut self) {
        self.stanzas += 1;
    }

    async fn signal(&mut self, m: &Messaging) -> &mut SignalCache {
        if self.guard.is_none() {
            self.guard = Some(m.signal.clone().lock_owned().await);
        }
        self.guard.as_mut().expect("locked above")
    }
}

/// Commits everything in `batch` in one transaction, then sends its receipts and
/// acks. On a store error nothing is sent and the Signal changes are forgotten: the
/// server redelivers the stanzas.
pub async fn flush(
    m: &Arc<Messaging>,
    conn: &mut WaConnection,
    batch: &mut InboundBatch,
) -> Result<(), SessionError> {
    if batch.is_empty() && batch.guard.is_none() {
        return Ok(());
    }
    let mut b = std::mem::take(batch);
    if let Some(cache) = b.guard.as_mut() {
        b.changes.signal = cache.take_writes();
    }
    if !b.changes.is_empty() {
        match m.store.commit(&m.account, &b.changes).await {
            Ok(outcome) => count_received(m, &b.changes, &outcome.duplicate_messages),
            Err(e) => {
                if let Some(cache) = b.guard.as_mut() {
                    cache.discard();
                }
                return Err(e.into());
            }
        }
    }
    drop(b.guard);
    for node in &b.after {
        send(conn, node);
    }
    for (chat, id) in &b.downloads {
        m.auto_download(chat, id);
    }
    Ok(())
}

/// Counts the messages a commit stored for the first time, from others (our
/// own messages synced from the phone are not received ones).
fn count_received(m: &Messaging, changes: &Changes, duplicates: &[usize]) {
    let received = changes
        .messages
        .iter()
        .enumerate()
        .filter(|(i, message)| !message.from_me && !duplicates.contains(i))
        .count();
    m.metrics
        .messages_received(m.account.as_str(), received as u64);
}

/// Handles one `<message>` stanza into `batch`; see the module docs.
pub async fn handle_message(
    m: &Arc<Messaging>,
    conn: &mut WaConnection,
    node: &Node,
    batch: &mut InboundBatch,
) -> Result<(), SessionError> {
    let creds = conn.credentials();
    let Some(me) = creds.me.clone() else {
        return Ok(());
    };
    let my_lid = creds.lid.clone();
    let incoming = match receive::parse_message(node, &me, my_lid.as_ref()) {
        Ok(msg) => msg,
        Err(e) => {
            // Unusable now and forever: acknowledge so it is not redelivered endlessly.
            warn!(error = %e, id = node.attr_str("id").as_deref().unwrap_or(""), "malformed message stanza dropped");
            send(conn, &receipt::message_ack(node));
            return Ok(());
        }
    };
    let info = &incoming.info;
    let chat = info.chat.to_string();
    let sender_user = info.sender.to_non_ad().to_string();
    let key = (chat.clone(), sender_user.clone(), info.id.clone());
    if batch.seen.contains(&key) {
        return redelivered(batch, node, info);
    }

    let cache = batch.signal(m).await;
    cache.bind(conn.credentials());
    cache.load(&m.store, &m.account, &needs(&incoming)).await?;
    let mut outcome = decrypt(cache, &incoming);
    // A message whose keys were used up was either stored before (a redelivery after
    // a crash between commit and ack) or is a replay. Only then is the store asked:
    // a message that decrypts cannot have been committed before, since the commit
    // that stored it also consumed its key.
    if outcome.is_err()
        && m.store
            .message_exists(&m.account, &chat, &sender_user, &info.id)
            .await?
    {
        return redelivered(batch, node, info);
    }
    if let Err(Failure::Duplicate) = outcome {
        // Never stored: a replayed ciphertext; nothing to store, acknowledge it.
        outcome = Ok(None);
    }
    // The phone sharing app-state keys: key material, not a message to store.
    if let Ok(Some(msg)) = &outcome
        && info.from_me
        && crate::appstate::remember_shared_keys(&m.store, &m.account, msg).await?
    {
        m.app_state.spawn_sync(Collection::ALL.to_vec());
        outcome = Ok(None);
    }
    let at = events::from_unix(info.timestamp);
    let changes = &mut batch.changes;
    let result = match outcome {
        Ok(Some(msg)) => {
            let stored = to_stored(info, &chat, &sender_user, &msg);
            let reacted = msg
                .reaction_message
                .as_ref()
                .and_then(|r| r.key.as_ref())
                .and_then(|k| k.id.clone());
            let change = wa_proto::message_change::message_change(&msg);
            changes.events.push(match &change {
                Some(change) => events::message_change_event(&stored, change),
                None => events::message_event(&stored, None, reacted.as_deref()),
            });
            changes
                .message_edits
                .extend(change.and_then(|c| events::stored_edit(&stored, &c)));
            if let Some(name) = info.push_name.clone().filter(|_| !info.from_me) {
                changes.contacts.push(ContactUpdate {
                    jid: sender_user.clone(),
                    push_name: Some(name),
                    lid: None,
                });
            }
            debug!(id = %info.id, kind = %stored.kind, "message received");
            if stored.media.is_some() {
                batch.downloads.push((chat.clone(), info.id.clone()));
            }
            changes.messages.push(stored);
            batch.seen.insert(key);
            Handled::Stored
        }
        // Only key material (a sender-key distribution): state, no message.
        Ok(None) | Err(Failure::Duplicate) => Handled::Stored,
        Err(Failure::Undecryptable(reason)) => {
            warn!(id = %info.id, from = %info.sender, error = %reason, "could not decrypt message");
            changes.events.push(events::undecryptable_event(
                &info.id,
                &chat,
                &sender_user,
                at,
                &reason,
            ));
            Handled::Retry
        }
    };
    match result {
        Handled::Stored => {
            batch.after_commit(receipt::delivery_receipt(info));
            batch.after.push(receipt::message_ack(node));
        }
        Handled::Retry => {
            let count = m.retry_count(&info.id);
            if count <= MAX_RETRIES {
                let registration = conn.credentials().registration_id;
                batch.after_commit(receipt::retry_receipt(
                    info,
                    count,
                    registration,
                    info.timestamp,
                ));
            } else {
                info!(id = %info.id, "giving up on an undecryptable message");
                batch.stanzas += 1;
            }
            batch.after.push(receipt::message_ack(node));
        }
    }
    Ok(())
}

/// Acknowledges a message that is already stored (or already in this batch).
fn redelivered(
    batch: &mut InboundBatch,
    node: &Node,
    info: &MessageInfo,
) -> Result<(), SessionError> {
    debug!(id = %info.id, "message already stored; acknowledging the redelivery");
    batch.after_commit(receipt::delivery_receipt(info));
    batch.after.push(receipt::message_ack(node));
    Ok(())
}

enum Handled {
    /// Stored (or nothing to store): delivery receipt and ack.
    Stored,
    /// Undecryptable: retry receipt and ack.
    Retry,
}

enum Failure {
    /// Already decrypted before (its state is committed): just acknowledge.
    Duplicate,
    /// Cannot be read; the text says why.
    Undecryptable(String),
}

/// The records decrypting `msg` reads.
fn needs(msg: &IncomingMessage) -> Needs {
    let addr = address(&msg.info.sender);
    let mut needs = Needs {
        devices: vec![addr.clone()],
        ..Needs::default()
    };
    for enc in &msg.encs {
        match enc.kind {
            EncKind::Pkmsg => {
                if let Ok(p) = PreKeySignalMessage::parse(&enc.ciphertext)
                    && let Some(id) = p.pre_key_id
                {
                    needs.pre_keys.push(id);
                }
            }
            EncKind::Skmsg => needs.sender_keys.push(SenderKeyName {
                group_id: msg.info.chat.to_string(),
                sender: addr.clone(),
            }),
            EncKind::Msg => {}
        }
    }
    needs
}

/// A device JID as a Signal address.
pub fn address(device: &Jid) -> ProtocolAddress {
    ProtocolAddress::new(device.user.clone(), u32::from(device.device))
}

/// Decrypts every `<enc>`: pairwise first (it may carry the sender key the group part
/// needs), then the group part. Returns the content message, or `None` when the
/// stanza only carried key material.
fn decrypt(cache: &mut SignalCache, msg: &IncomingMessage) -> Result<Option<Message>, Failure> {
    let Some(staged) = cache.staged() else {
        return Err(Failure::Undecryptable("no Signal identity".into()));
    };
    let addr = address(&msg.info.sender);
    let mut content: Option<Message> = None;
    let mut pairwise: Vec<_> = msg
        .encs
        .iter()
        .filter(|e| e.kind != EncKind::Skmsg)
        .collect();
    pairwise.extend(msg.encs.iter().filter(|e| e.kind == EncKind::Skmsg));
    for enc in pairwise {
        let plaintext = match enc.kind {
            EncKind::Pkmsg | EncKind::Msg => signal_store::decrypt(
                staged,
                &addr,
                enc.kind == EncKind::Pkmsg,
                &enc.ciphertext,
                TrustPolicy::AcceptAndReport,
                &mut OsRng,
            )
            .map(|d| d.plaintext)
            .map_err(|e| match e {
                StoreOpError::Protocol(DecryptError::Duplicate { .. }) => Failure::Duplicate,
                other => Failure::Undecryptable(other.to_string()),
            })?,
            EncKind::Skmsg => {
                let name = SenderKeyName {
                    group_id: msg.info.chat.to_string(),
                    sender: addr.clone(),
                };
                signal_store::group_decrypt(staged, &name, &enc.ciphertext).map_err(
                    |e| match e {
                        StoreOpError::Protocol(GroupError::Duplicate { .. }) => Failure::Duplicate,
                        other => Failure::Undecryptable(other.to_string()),
                    },
                )?
            }
        };
        let decoded = receive::decode_plaintext(&plaintext)
            .map_err(|e| Failure::Undecryptable(e.to_string()))?;
        if let Some(skdm) = decoded
            .sender_key_distribution_message
            .as_ref()
            .and_then(|d| d.axolotl_sender_key_distribution_message.as_deref())
        {
            match SenderKeyDistributionMessage::parse(skdm) {
                Ok(dist) => {
                    let name = SenderKeyName {
                        group_id: msg.info.chat.to_string(),
                        sender: addr.clone(),
                    };
                    signal_store::process_distribution(staged, &name, &dist)
                        .map_err(|e| Failure::Undecryptable(e.to_string()))?;
                }
                Err(e) => warn!(error = %e, "malformed sender key distribution ignored"),
            }
        }
        let decoded = receive::unwrap_device_sent(decoded);
        if content::summarize(&decoded).kind != "sender_key_distribution" {
            content = Some(decoded);
        }
    }
    Ok(content)
}

/// The row stored for a decrypted message.
fn to_stored(info: &MessageInfo, chat: &str, sender: &str, msg: &Message) -> NewMessage {
    let summary = content::summarize(msg);
    let media = summary.media.map(media_info);
    NewMessage {
        id: info.id.clone(),
        chat: chat.to_owned(),
        sender: sender.to_owned(),
        from_me: info.from_me,
        timestamp: events::from_unix(info.timestamp),
        kind: summary.kind.to_owned(),
        text: summary.text,
        media,
        content: msg.encode_to_vec(),
        push_name: info.push_name.clone(),
        status: if info.from_me {
            MessageStatus::Sent
        } else {
            MessageStatus::Received
        },
    }
}

/// Queues `node`; a closed connection loses nothing (the server redelivers what was
/// not acknowledged).
pub fn send(conn: &mut WaConnection, node: &Node) {
    if let Err(e) = conn.send_node(node) {
        debug!(error = %e, tag = %node.tag, "not sent: connection closing");
    }
}
