//! The outbox worker: takes committed sends in order and delivers them to the server.
//!
//! For each due entry: find the recipient's devices (and our own other devices) from
//! the device-list cache or a usync query; start Signal sessions from pre-key bundles
//! where none exist; encrypt the message per device (groups: one sender-key `skmsg`,
//! plus the sender-key distribution pairwise to devices that do not hold it yet);
//! commit the Signal state that encryption advanced; only then put the stanza on the
//! wire, and wait for the server's ack. The ack commits the entry as `sent`.
//!
//! A crash anywhere leaves the entry pending and it is sent again after restart with
//! the same message id (recipients drop the duplicate); a refusal by the server fails
//! it for good; anything else is retried with exponential back-off.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prost::Message as _;
use rand_core::OsRng;
use thiserror::Error;
use tokio::sync::watch;
use tracing::{debug, info, warn};
use wa_proto::binary::{Jid, Node};
use wa_proto::content;
use wa_proto::proto::message::Message;
use wa_proto::send::{self as wa_send, MessageStanza};
use wa_proto::signal::CiphertextMessage;
use wa_proto::signal::sender_key::SenderKeyName;
use wa_proto::signal::store::{self as signal_store, TrustPolicy};
use wa_proto::{prekeys, usync};
use wa_store::{
    Changes, DeviceList, OutboxEntry, OutboxOutcome, OutboxUpdate, SignalWrites, StoreError,
};

use crate::accounts::{AccountState, AccountStatus};
use crate::events;
use crate::messaging::Messaging;
use crate::rate_limit::Pacer;
use crate::receive::address;
use crate::requests::{DEFAULT_REQUEST_TIMEOUT, Expect, RequestError, Requester};
use crate::signal_state::Needs;

/// Entries taken per round.
const BATCH: u32 = 32;
/// Attempts before an entry is failed for good.
pub const MAX_ATTEMPTS: u32 = 12;
/// How long a cached device list is trusted.
pub const DEVICE_LIST_TTL: Duration = Duration::from_secs(3600);
/// Idle wake-up, in case a wake was missed.
const IDLE_POLL: Duration = Duration::from_secs(30);

/// Why one send attempt failed.
#[derive(Debug, Error)]
enum SendFailure {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Request(#[from] RequestError),
    /// Will not succeed by retrying (bad content, refused recipient).
    #[error("{0}")]
    Permanent(String),
}

impl SendFailure {
    fn is_permanent(&self) -> bool {
        matches!(
            self,
            SendFailure::Permanent(_)
                | SendFailure::Request(RequestError::Refused { .. } | RequestError::Invalid(_))
        )
    }
}

/// Back-off before attempt `attempts + 1`: 1 s doubling, at most 5 min.
fn retry_delay(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.min(8)).min(Duration::from_secs(300))
}

/// Runs until the account's status channel closes (the account task ended).
/// Sends are paced by `pacer` (the account's messages-per-minute budget): an
/// entry beyond it stays queued until a token is there, then goes out.
pub async fn run_outbox(
    m: Arc<Messaging>,
    requester: Requester,
    mut status: watch::Receiver<AccountStatus>,
    mut pacer: Pacer,
) {
    loop {
        if status
            .wait_for(|s| s.state == AccountState::LoggedIn)
            .await
            .is_err()
        {
            return;
        }
        for r in m.take_resends() {
            match resend(&m, &requester, &r).await {
                Ok(()) => info!(id = %r.id, device = %r.device, "message sent again"),
                Err(e) => warn!(id = %r.id, device = %r.device, error = %e, "resend failed"),
            }
        }
        let due = match m
            .store
            .due_outbox(&m.account, SystemTime::now(), BATCH)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                warn!(error = %e, "cannot read the outbox");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if due.is_empty() {
            tokio::select! {
                () = m.outbox_wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
                changed = status.changed() => if changed.is_err() { return },
            }
            continue;
        }
        for entry in due {
            pacer.wait().await;
            let result = send_entry(&m, &requester, &entry).await;
            let connection_lost = matches!(
                result,
                Err(SendFailure::Request(
                    RequestError::NotConnected | RequestError::Disconnected
                ))
            );
            if let Err(e) = record_outcome(&m, &entry, result).await {
                warn!(error = %e, "cannot record a send outcome");
            }
            if connection_lost {
                break;
            }
        }
    }
}

async fn record_outcome(
    m: &Messaging,
    entry: &OutboxEntry,
    result: Result<SignalWrites, SendFailure>,
) -> Result<(), StoreError> {
    let msg = &entry.message.message;
    let mut changes = Changes::default();
    let outcome = match result {
        Ok(after_ack) => {
            info!(id = %msg.id, chat = %msg.chat, "message sent");
            changes.signal = after_ack;
            OutboxOutcome::Sent
        }
        Err(e) if e.is_permanent() || entry.attempts + 1 >= MAX_ATTEMPTS => {
            warn!(id = %msg.id, error = %e, "send failed for good");
            changes.events.push(events::send_failed_event(
                &msg.id,
                &msg.chat,
                &e.to_string(),
                SystemTime::now(),
            ));
            OutboxOutcome::Failed {
                error: e.to_string(),
            }
        }
        Err(e) => {
            debug!(id = %msg.id, error = %e, attempts = entry.attempts + 1, "send will be retried");
            OutboxOutcome::Retry {
                next_attempt_at: SystemTime::now() + retry_delay(entry.attempts),
                error: e.to_string(),
            }
        }
    };
    let (sent, failed) = (
        matches!(outcome, OutboxOutcome::Sent),
        matches!(outcome, OutboxOutcome::Failed { .. }),
    );
    changes.outbox.push(OutboxUpdate {
        chat: msg.chat.clone(),
        id: msg.id.clone(),
        outcome,
    });
    m.store.commit(&m.account, &changes).await?;
    // Counted once committed: an outcome that was not is attempted again.
    if sent {
        m.metrics.message_sent(m.account.as_str());
    } else if failed {
        m.metrics.message_failed(m.account.as_str());
    }
    Ok(())
}

/// What every send needs: who we are, where it goes, and the content.
struct Outgoing {
    creds: Arc<wa_proto::Credentials>,
    me: Jid,
    chat: Jid,
    id: String,
    content: Message,
}

impl Outgoing {
    fn new(m: &Messaging, msg: &wa_store::NewMessage) -> Result<Self, SendFailure> {
        let creds = m
            .credentials()
            .ok_or_else(|| SendFailure::Permanent("the account is not linked".into()))?;
        let me = creds
            .me
            .clone()
            .ok_or_else(|| SendFailure::Permanent("the account is not linked".into()))?;
        let chat: Jid = msg
            .chat
            .parse()
            .map_err(|_| SendFailure::Permanent(format!("invalid chat JID {}", msg.chat)))?;
        let content = Message::decode(msg.content.as_slice())
            .map_err(|e| SendFailure::Permanent(format!("stored content unreadable: {e}")))?;
        Ok(Self {
            creds,
            me,
            chat,
            id: msg.id.clone(),
            content,
        })
    }
}

/// One attempt; on success returns what to commit with the `sent` outcome (the
/// devices that now hold our sender key).
async fn send_entry(
    m: &Messaging,
    requester: &Requester,
    entry: &OutboxEntry,
) -> Result<SignalWrites, SendFailure> {
    let out = Outgoing::new(m, &entry.message.message)?;
    // Who receives it: every device of every member, and our other devices.
    let mut users: BTreeSet<String> = BTreeSet::new();
    if out.chat.is_group() {
        let info = crate::groups::info(requester, &out.chat).await?;
        users.extend(
            info.participants
                .iter()
                .map(|p| p.jid.to_non_ad().to_string()),
        );
    } else {
        users.insert(out.chat.to_non_ad().to_string());
    }
    users.insert(out.me.to_non_ad().to_string());
    let devices: Vec<Jid> = device_jids(m, requester, &users)
        .await?
        .into_iter()
        .filter(|d| !(d.user == out.me.user && d.device == out.me.device))
        .collect();
    if devices.is_empty() {
        return Err(SendFailure::Permanent(
            "the recipient has no devices".into(),
        ));
    }
    let bundles = fetch_bundles(m, requester, &out, &devices, false).await?;
    deliver(m, requester, &out, &devices, &bundles, out.chat.is_group()).await
}

/// Sends our message `r.id` again to the one device that could not decrypt it,
/// pairwise over a fresh session (groups included: the content goes pairwise).
async fn resend(
    m: &Messaging,
    requester: &Requester,
    r: &crate::messaging::Resend,
) -> Result<(), SendFailure> {
    let Some(stored) = m.store.get_message(&m.account, &r.chat, &r.id).await? else {
        return Err(SendFailure::Permanent("no such message".into()));
    };
    if !stored.message.from_me {
        return Err(SendFailure::Permanent("not our message".into()));
    }
    let out = Outgoing::new(m, &stored.message)?;
    let devices = [r.device.clone()];
    let bundles = fetch_bundles(m, requester, &out, &devices, true).await?;
    deliver(m, requester, &out, &devices, &bundles, false)
        .await
        .map(|_| ())
}

/// Pre-key bundles for `devices` that have no session (or for all of them when
/// `fresh`: a peer that asked for a retry lost its session).
async fn fetch_bundles(
    m: &Messaging,
    requester: &Requester,
    out: &Outgoing,
    devices: &[Jid],
    fresh: bool,
) -> Result<Vec<prekeys::DeviceBundle>, SendFailure> {
    let wanted: Vec<Jid> = if fresh {
        devices.to_vec()
    } else {
        let addrs: Vec<_> = devices.iter().map(address).collect();
        let mut cache = m.signal.lock().await;
        cache.bind(&out.creds);
        cache
            .load(
                &m.store,
                &m.account,
                &Needs {
                    devices: addrs.clone(),
                    ..Needs::default()
                },
            )
            .await?;
        let staged = cache.staged().expect("bound above");
        devices
            .iter()
            .zip(&addrs)
            .filter(|(_, a)| !has_session(staged, a))
            .map(|(d, _)| d.clone())
            .collect()
    };
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let node = requester
        .iq(|id| prekeys::bundle_query(id, &wanted))
        .await?;
    prekeys::parse_bundles(&node)
        .map_err(|e| SendFailure::Permanent(format!("malformed pre-key answer: {e}")))
}

fn has_session(
    staged: &mut wa_proto::signal::staged::StagedStore,
    addr: &wa_proto::signal::ProtocolAddress,
) -> bool {
    matches!(
        wa_proto::signal::store::SessionStore::load_session(staged, addr),
        Ok(Some(r)) if r.has_session()
    )
}

/// Encrypts for `devices` under the Signal lock, commits the state that advanced,
/// puts the stanza on the wire and waits for the server's ack.
async fn deliver(
    m: &Messaging,
    requester: &Requester,
    out: &Outgoing,
    devices: &[Jid],
    bundles: &[prekeys::DeviceBundle],
    use_sender_key: bool,
) -> Result<SignalWrites, SendFailure> {
    let chat = &out.chat;
    let addrs: Vec<_> = devices.iter().map(address).collect();
    let (parts, after_ack) = {
        let mut cache = m.signal.lock().await;
        cache.bind(&out.creds);
        let group_name = use_sender_key.then(|| SenderKeyName {
            group_id: chat.to_string(),
            sender: address(&out.me),
        });
        let holders: BTreeSet<String> = match &group_name {
            Some(_) => m
                .store
                .sender_key_holders(&m.account, &chat.to_string())
                .await?
                .into_iter()
                .collect(),
            None => BTreeSet::new(),
        };
        cache
            .load(
                &m.store,
                &m.account,
                &Needs {
                    devices: addrs,
                    sender_keys: group_name.iter().cloned().collect(),
                    ..Needs::default()
                },
            )
            .await?;
        let parts = match encrypt_all(
            &mut cache,
            &out.content,
            chat,
            &out.me,
            devices,
            bundles,
            group_name.as_ref(),
            &holders,
        ) {
            Ok(p) => p,
            Err(e) => {
                cache.discard();
                return Err(e);
            }
        };
        let writes = cache.take_writes();
        if let Err(e) = m
            .store
            .commit(
                &m.account,
                &Changes {
                    signal: writes,
                    ..Changes::default()
                },
            )
            .await
        {
            cache.discard();
            return Err(e.into());
        }
        let after_ack = SignalWrites {
            sender_key_shared: parts
                .distributed_to
                .iter()
                .map(|a| (chat.to_string(), a.clone()))
                .collect(),
            ..SignalWrites::default()
        };
        (parts, after_ack)
    };
    let has_pkmsg = parts
        .participants
        .iter()
        .any(|(_, c)| matches!(c, CiphertextMessage::PreKey(_)));
    let node: Node = wa_send::message_node(&MessageStanza {
        id: &out.id,
        to: chat,
        kind: wa_send::stanza_kind(&out.content),
        participants: parts.participants,
        skmsg: parts.skmsg,
        device_identity: if has_pkmsg {
            out.creds.account.clone()
        } else {
            None
        },
    });
    requester
        .request(node, Expect::MessageAck, DEFAULT_REQUEST_TIMEOUT)
        .await?;
    Ok(after_ack)
}

/// Encrypted parts of one stanza.
struct StanzaParts {
    participants: Vec<(Jid, CiphertextMessage)>,
    skmsg: Option<Vec<u8>>,
    /// Devices that got our sender key in this stanza (recorded once the server acked).
    distributed_to: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
fn encrypt_all(
    cache: &mut crate::signal_state::SignalCache,
    content: &Message,
    chat: &Jid,
    me: &Jid,
    devices: &[Jid],
    bundles: &[prekeys::DeviceBundle],
    group: Option<&SenderKeyName>,
    holders: &BTreeSet<String>,
) -> Result<StanzaParts, SendFailure> {
    let staged = cache
        .staged()
        .ok_or_else(|| SendFailure::Permanent("no Signal identity".into()))?;
    let protocol = |e: &dyn std::fmt::Display| SendFailure::Permanent(e.to_string());
    for (jid, bundle) in bundles {
        match bundle {
            Ok(b) => {
                signal_store::process_bundle(
                    staged,
                    &address(jid),
                    b,
                    TrustPolicy::AcceptAndReport,
                    &mut OsRng,
                )
                .map_err(|e| protocol(&e))?;
            }
            Err(e) => debug!(device = %jid, error = %e, "no pre-key bundle; device skipped"),
        }
    }
    let mut parts = StanzaParts {
        participants: Vec::new(),
        skmsg: None,
        distributed_to: Vec::new(),
    };
    // What each device gets pairwise: the content itself (1:1), or in a group only the
    // sender-key distribution, to devices that lack it.
    let pairwise_for_peer: Option<Message>;
    let pairwise_for_me: Option<Message>;
    if let Some(name) = group {
        let dist = signal_store::create_distribution(staged, name, &mut OsRng)
            .map_err(|e| protocol(&e))?;
        let plain = wa_send::encode_plaintext(content, &mut OsRng);
        parts.skmsg = Some(
            signal_store::group_encrypt(staged, name, &plain, &mut OsRng)
                .map_err(|e| protocol(&e))?,
        );
        let skdm = content::skdm_message(chat, &dist.serialize());
        pairwise_for_peer = Some(skdm.clone());
        pairwise_for_me = Some(skdm);
    } else {
        pairwise_for_peer = Some(content.clone());
        pairwise_for_me = Some(wa_send::device_sent(content.clone(), chat));
    }
    for device in devices {
        let addr = address(device);
        if group.is_some() && holders.contains(&addr.to_string()) {
            continue;
        }
        if !has_session(staged, &addr) {
            continue; // no bundle either: the device is skipped
        }
        let plain = if device.user == me.user {
            pairwise_for_me.as_ref()
        } else {
            pairwise_for_peer.as_ref()
        }
        .expect("set above");
        let padded = wa_send::encode_plaintext(plain, &mut OsRng);
        let ct = signal_store::encrypt(staged, &addr, &padded, TrustPolicy::AcceptAndReport)
            .map_err(|e| protocol(&e))?;
        if group.is_some() {
            parts.distributed_to.push(addr.to_string());
        }
        parts.participants.push((device.clone(), ct));
    }
    if group.is_none() && parts.participants.is_empty() {
        return Err(SendFailure::Permanent(
            "no device of the recipient could be reached".into(),
        ));
    }
    Ok(parts)
}

/// Every device of `users`, from the cache when fresh, else from a usync query (whose
/// answer is cached).
async fn device_jids(
    m: &Messaging,
    requester: &Requester,
    users: &BTreeSet<String>,
) -> Result<Vec<Jid>, SendFailure> {
    let wanted: Vec<String> = users.iter().cloned().collect();
    let now = SystemTime::now();
    let cached = m.store.load_device_lists(&m.account, &wanted).await?;
    let mut out = Vec::new();
    let mut fresh: BTreeSet<String> = BTreeSet::new();
    for list in cached {
        if now
            .duration_since(list.updated_at)
            .is_ok_and(|age| age < DEVICE_LIST_TTL)
            && let Ok(user) = list.user.parse::<Jid>()
        {
            out.extend(
                list.devices
                    .iter()
                    .filter_map(|&d| u16::try_from(d).ok())
                    .map(|d| Jid::device(user.user.clone(), d, user.server.clone())),
            );
            fresh.insert(list.user);
        }
    }
    let stale: Vec<Jid> = users
        .iter()
        .filter(|u| !fresh.contains(*u))
        .filter_map(|u| u.parse().ok())
        .collect();
    if !stale.is_empty() {
        let node = requester.iq(|id| usync::device_query(id, &stale)).await?;
        let lists = usync::parse_devices(&node)
            .map_err(|e| SendFailure::Permanent(format!("malformed device list: {e}")))?;
        let mut changes = Changes::default();
        for list in lists {
            out.extend(usync::device_jids(&list.user, &list.devices));
            changes.device_lists.push(DeviceList {
                user: list.user.to_non_ad().to_string(),
                devices: list.devices.iter().map(|&d| u32::from(d)).collect(),
                updated_at: now,
            });
        }
        m.store.commit(&m.account, &changes).await?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_caps() {
        assert_eq!(retry_delay(0), Duration::from_secs(1));
        assert_eq!(retry_delay(3), Duration::from_secs(8));
        assert_eq!(retry_delay(40), Duration::from_secs(256));
    }
}
