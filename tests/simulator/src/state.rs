//! The simulator's memory: accounts (phones) with their devices, live connections,
//! per-device offline queues, groups and media. One `State` behind one mutex; every
//! stanza handler runs with it locked and never awaits.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rand_core::{OsRng, RngCore};
use tokio::sync::{Notify, mpsc};
use tracing::{debug, warn};
use wa_proto::binary::{Jid, Node, jid::USER_SERVER};
use wa_proto::keys::KeyPair;

use crate::config::SimulatorConfig;
use crate::groups::Group;
use crate::media::MediaStore;
use crate::pairing::Registration;

/// An order to a connection task from elsewhere (another connection's handler or the
/// test API).
#[derive(Debug)]
pub(crate) enum ConnCmd {
    /// Encrypt and send a stanza.
    Send(Node),
    /// Send these bytes as one WebSocket message, unencrypted and unframed (fault injection).
    Raw(Vec<u8>),
    /// Send `<stream:error code=..>` then close.
    StreamError(String),
    /// Send `<stream:error><conflict type=replaced/>` (another login took the device) then close.
    Replaced,
}

/// How to reach one live connection task.
#[derive(Debug, Clone)]
pub(crate) struct ConnLink {
    /// Unique id of the connection (for logs and to unregister the right one).
    pub id: u64,
    /// Bounded command channel.
    pub tx: mpsc::Sender<ConnCmd>,
    /// Drops the socket at once (works even when `tx` is full).
    pub kill: Arc<Notify>,
}

impl ConnLink {
    /// Queues a command; a connection too slow to take it is dropped (its stanzas stay
    /// queued for redelivery at its next login).
    pub fn send(&self, cmd: ConnCmd) -> bool {
        match self.tx.try_send(cmd) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!(
                    conn = self.id,
                    "connection buffer full; dropping the connection"
                );
                self.kill.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// A stanza waiting in a device's queue until the device acknowledges it.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// The stanza as delivered.
    pub node: Node,
}

impl Pending {
    /// True when `ack` (from the device) acknowledges this stanza: same class and id, and
    /// every addressing attribute the ack carries (`to`, `participant`, `type`) matches.
    pub fn acked_by(&self, ack: &Node) -> bool {
        let attr = |n: &Node, k: &str| n.attr_str(k).map(|s| s.into_owned());
        if attr(ack, "class").as_deref() != Some(self.node.tag.as_str())
            || attr(ack, "id") != attr(&self.node, "id")
        {
            return false;
        }
        let same_jid = |a: Option<Jid>, b: Option<Jid>| match (a, b) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        same_jid(ack.attr_jid("to"), self.node.attr_jid("from"))
            && same_jid(
                ack.attr_jid("participant"),
                self.node.attr_jid("participant"),
            )
            && match attr(ack, "type") {
                None => true,
                // A call's ack names its signalling element (`offer`, …).
                t if self.node.tag == "call" => {
                    t.as_deref() == self.node.child_nodes().first().map(|c| c.tag.as_str())
                }
                t => t == attr(&self.node, "type"),
            }
    }
}

/// One public signing pre-key as the device uploaded it.
#[derive(Debug, Clone)]
pub(crate) struct SignedKey {
    /// 24-bit id.
    pub id: u32,
    /// Public key (32 bytes).
    pub public: Vec<u8>,
    /// Identity signature.
    pub signature: Vec<u8>,
}

/// A linked companion device.
#[derive(Debug)]
pub(crate) struct Device {
    /// `phone:n@s.whatsapp.net`.
    pub jid: Jid,
    /// Noise static key registered at pairing; login must present it.
    pub noise_pub: [u8; 32],
    /// Signal identity public key.
    pub identity: Vec<u8>,
    /// Signal registration id.
    pub registration_id: u32,
    /// Current signed pre-key.
    pub signed_prekey: SignedKey,
    /// One-time pre-keys, handed out (and removed) by bundle fetches.
    pub prekeys: VecDeque<(u32, Vec<u8>)>,
    /// Key index in the account's list.
    pub key_index: u32,
    /// Stanzas delivered but not yet acknowledged.
    pub queue: VecDeque<Pending>,
    /// Ids of the `message` stanzas the device acknowledged, in order (what a test
    /// compares with what the client stored: nothing may be acked before it is).
    pub acked_messages: Vec<String>,
}

/// A phone number with its simulated primary phone and linked devices.
#[derive(Debug)]
pub(crate) struct Account {
    /// The phone's account key (signs companions, answers pairing codes).
    pub key: KeyPair,
    /// The account's hidden-number user, sent at login.
    pub lid: String,
    /// Companion devices by device number (the phone itself, device 0, is not a client).
    pub devices: BTreeMap<u16, Device>,
    /// Next device number to assign.
    pub next_device: u16,
}

/// Everything the simulator knows.
#[derive(Debug)]
pub(crate) struct State {
    /// Settings.
    pub cfg: Arc<SimulatorConfig>,
    /// Address clients use for media (`host:port`).
    pub media_host: String,
    /// Accounts by phone number (digits).
    pub accounts: HashMap<String, Account>,
    /// Logged-in connections by device JID.
    pub online: HashMap<Jid, ConnLink>,
    /// Connections that registered and wait to be paired, by connection id.
    pub registrations: HashMap<u64, Registration>,
    /// Groups by id (user part of `id@g.us`).
    pub groups: HashMap<String, Group>,
    /// Media tokens and blobs.
    pub media: MediaStore,
    /// Each account's last presence (`available` / `unavailable`), by phone.
    pub presence: HashMap<String, String>,
    /// Chat states relayed, oldest first.
    pub chat_states: Vec<crate::presence::ChatStateSent>,
    /// Calls devices declined: (the declining account's phone, the call id).
    pub call_rejections: Vec<(String, String)>,
    /// Profile pictures of accounts and groups.
    pub pictures: crate::pictures::Pictures,
    /// Business profiles of the accounts that are businesses, by phone.
    pub business_profiles: crate::business::BusinessProfiles,
    /// Newsletters (channels) and who follows them.
    pub newsletters: crate::newsletters::Newsletters,
    /// App-state collections and the phones' sync keys, by account.
    pub app_state: crate::app_state::AppStates,
    next_lid: u64,
    next_group: u64,
}

/// Unix seconds now, for `t` attributes.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A random token of `n` bytes, URL-safe base64.
pub(crate) fn random_token(n: usize) -> String {
    use base64::Engine as _;
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

impl State {
    /// Empty state.
    pub fn new(cfg: Arc<SimulatorConfig>, media_host: String) -> Self {
        Self {
            cfg,
            media_host,
            accounts: HashMap::new(),
            online: HashMap::new(),
            registrations: HashMap::new(),
            groups: HashMap::new(),
            media: MediaStore::default(),
            presence: HashMap::new(),
            chat_states: Vec::new(),
            call_rejections: Vec::new(),
            pictures: Default::default(),
            business_profiles: Default::default(),
            newsletters: Default::default(),
            app_state: Default::default(),
            next_lid: 100_000_000_000_001,
            next_group: 120_363_000_000_000_001,
        }
    }

    /// The account for `phone`, created (with a fresh phone key) on first use.
    pub fn account_mut(&mut self, phone: &str) -> &mut Account {
        let lid = &mut self.next_lid;
        self.accounts.entry(phone.to_owned()).or_insert_with(|| {
            *lid += 1;
            Account {
                key: KeyPair::generate(&mut OsRng),
                lid: (*lid - 1).to_string(),
                devices: BTreeMap::new(),
                next_device: 1,
            }
        })
    }

    /// A fresh group id.
    pub fn next_group_id(&mut self) -> String {
        self.next_group += 1;
        (self.next_group - 1).to_string()
    }

    /// The device behind a device JID.
    pub fn device(&self, jid: &Jid) -> Option<&Device> {
        self.accounts.get(&jid.user)?.devices.get(&jid.device)
    }

    /// The device behind a device JID, mutable.
    pub fn device_mut(&mut self, jid: &Jid) -> Option<&mut Device> {
        self.accounts
            .get_mut(&jid.user)?
            .devices
            .get_mut(&jid.device)
    }

    /// All device JIDs of a user (phone number).
    pub fn devices_of(&self, user: &str) -> Vec<Jid> {
        self.accounts
            .get(user)
            .map(|a| a.devices.values().map(|d| d.jid.clone()).collect())
            .unwrap_or_default()
    }

    /// Queues `node` for `device` until acknowledged, and sends it now if the device is
    /// online. Returns false when the device does not exist or its queue is full.
    pub fn deliver(&mut self, device: &Jid, node: Node) -> bool {
        let max = self.cfg.max_queue_per_device;
        let Some(dev) = self.device_mut(device) else {
            debug!(%device, "no such device; stanza dropped");
            return false;
        };
        if dev.queue.len() >= max {
            warn!(%device, stanza = %node, "offline queue full; stanza dropped");
            return false;
        }
        dev.queue.push_back(Pending { node: node.clone() });
        if let Some(link) = self.online.get(device) {
            link.send(ConnCmd::Send(node));
        }
        true
    }

    /// Removes from `device`'s queue what `ack` acknowledges; returns how many.
    pub fn acknowledge(&mut self, device: &Jid, ack: &Node) -> usize {
        let Some(dev) = self.device_mut(device) else {
            return 0;
        };
        let before = dev.queue.len();
        let acked = &mut dev.acked_messages;
        dev.queue.retain(|p| {
            if !p.acked_by(ack) {
                return true;
            }
            if p.node.tag == "message"
                && let Some(id) = p.node.attr_str("id")
            {
                acked.push(id.into_owned());
            }
            false
        });
        before - dev.queue.len()
    }
}

/// `user@s.whatsapp.net`.
pub(crate) fn user_jid(user: &str) -> Jid {
    Jid::new(user, USER_SERVER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(tag: &str, attrs: &[(&str, &str)]) -> Pending {
        let mut node = Node::new(tag);
        for (k, v) in attrs {
            node.set_attr(*k, *v);
        }
        Pending { node }
    }

    #[test]
    fn acks_match_class_id_and_the_addressing_they_carry() {
        let receipt = queued(
            "receipt",
            &[
                ("id", "m1"),
                ("from", "1@g.us"),
                ("participant", "2:1@s.whatsapp.net"),
                ("type", "read"),
            ],
        );
        let ack = |attrs: &[(&str, &str)]| {
            let mut n = Node::new("ack");
            for (k, v) in attrs {
                n.set_attr(*k, *v);
            }
            n
        };
        assert!(receipt.acked_by(&ack(&[("class", "receipt"), ("id", "m1")])));
        assert!(receipt.acked_by(&ack(&[
            ("class", "receipt"),
            ("id", "m1"),
            ("to", "1@g.us"),
            ("participant", "2:1@s.whatsapp.net"),
            ("type", "read"),
        ])));
        assert!(!receipt.acked_by(&ack(&[("class", "message"), ("id", "m1")])));
        assert!(!receipt.acked_by(&ack(&[("class", "receipt"), ("id", "m2")])));
        assert!(!receipt.acked_by(&ack(&[
            ("class", "receipt"),
            ("id", "m1"),
            ("type", "played")
        ])));
        assert!(!receipt.acked_by(&ack(&[
            ("class", "receipt"),
            ("id", "m1"),
            ("to", "3@g.us")
        ])));
        // A delivery receipt (no type) is not acknowledged by an ack for the read one.
        let delivery = queued("receipt", &[("id", "m1"), ("from", "2:1@s.whatsapp.net")]);
        assert!(!delivery.acked_by(&ack(&[
            ("class", "receipt"),
            ("id", "m1"),
            ("type", "read")
        ])));
    }
}
