//! Session states (one Double Ratchet each) and the per-peer record that keeps the
//! current state plus up to [`MAX_PREVIOUS_STATES`] previous ones, so messages sent on an
//! older session (a crossed `pkmsg`, a backlog) still decrypt. Records serialize to our
//! own protobuf (`proto/signal.proto`) for the connector's stores.

use std::collections::VecDeque;

use prost::Message;
use rand_core::{CryptoRng, RngCore};

use super::error::DecryptError;
use super::keys::{LocalIdentity, PreKeyBundle, PublicKey};
use super::ratchet::{ChainKey, root_step};
use super::x3dh;
use super::{MAX_FORWARD_JUMP, MAX_PREVIOUS_STATES, MAX_RECEIVER_CHAINS, MAX_SKIPPED_KEYS};
use crate::keys::KeyPair;
use crate::proto::signal as pb;

/// What an outgoing session still owes the peer: the header of the `pkmsg` that every
/// message carries until the peer first answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPreKey {
    /// The one-time pre-key used, if the bundle had one.
    pub pre_key_id: Option<u32>,
    /// The signed pre-key used.
    pub signed_pre_key_id: u32,
    /// Our X3DH base key.
    pub base_key: PublicKey,
}

/// One receiving chain: the peer's ratchet key, its chain (None once closed) and the
/// keys of messages skipped on it.
#[derive(Debug, Clone)]
pub(crate) struct ReceiverChain {
    pub(crate) ratchet_key: PublicKey,
    pub(crate) chain: Option<ChainKey>,
    pub(crate) skipped: VecDeque<(u32, [u8; 32])>,
}

impl ReceiverChain {
    /// Derives and stores skipped keys up to (excluding) `until`; errors beyond the bound.
    fn advance_to(&mut self, until: u32) -> Result<(), DecryptError> {
        let Some(chain) = self.chain.as_mut() else {
            return Ok(());
        };
        if until <= chain.index {
            return Ok(());
        }
        let jump = until - chain.index;
        if jump > MAX_FORWARD_JUMP {
            return Err(DecryptError::TooFarAhead {
                counter: until,
                jump,
            });
        }
        while chain.index < until {
            self.skipped
                .push_back((chain.index, chain.message_key_seed()));
            if self.skipped.len() > MAX_SKIPPED_KEYS {
                self.skipped.pop_front();
            }
            *chain = chain.next();
        }
        Ok(())
    }

    /// The message key seed for `counter`, consuming it (each key decrypts once).
    fn take_key(&mut self, counter: u32) -> Result<[u8; 32], DecryptError> {
        match &self.chain {
            Some(c) if counter >= c.index => {
                self.advance_to(counter)?;
                let c = self.chain.as_mut().expect("open chain");
                let seed = c.message_key_seed();
                *c = c.next();
                Ok(seed)
            }
            _ => {
                let pos = self
                    .skipped
                    .iter()
                    .position(|(i, _)| *i == counter)
                    .ok_or(DecryptError::Duplicate { counter })?;
                Ok(self.skipped.remove(pos).expect("present").1)
            }
        }
    }
}

/// One Double Ratchet session with a peer device.
#[derive(Clone)]
pub struct SessionState {
    pub(crate) local_identity: PublicKey,
    pub(crate) remote_identity: PublicKey,
    pub(crate) root_key: [u8; 32],
    pub(crate) sender_ratchet: KeyPair,
    pub(crate) sending_chain: Option<ChainKey>,
    pub(crate) receiver_chains: Vec<ReceiverChain>,
    pub(crate) previous_counter: u32,
    pub(crate) pending_pre_key: Option<PendingPreKey>,
    pub(crate) remote_registration_id: u32,
    pub(crate) local_registration_id: u32,
    pub(crate) base_key: PublicKey,
    pub(crate) initiated_by_us: bool,
}

impl std::fmt::Debug for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionState")
            .field("remote_identity", &self.remote_identity)
            .field("base_key", &self.base_key)
            .field("initiated_by_us", &self.initiated_by_us)
            .field("receiver_chains", &self.receiver_chains.len())
            .finish_non_exhaustive()
    }
}

impl SessionState {
    /// Alice's side: a session from a peer's bundle, with a fresh base key and sending
    /// ratchet key from `rng`. The caller has verified the bundle's signature.
    pub fn initiate<R: RngCore + CryptoRng>(
        local: &LocalIdentity,
        bundle: &PreKeyBundle,
        rng: &mut R,
    ) -> Self {
        let base = KeyPair::generate(rng);
        let root = x3dh::initiator_root(
            &local.key_pair,
            &base,
            &bundle.identity_key,
            &bundle.signed_pre_key,
            bundle.pre_key.as_ref().map(|(_, k)| k),
        );
        let sender_ratchet = KeyPair::generate(rng);
        let (root_key, chain) = root_step(&root, &sender_ratchet.dh(&bundle.signed_pre_key.0));
        Self {
            local_identity: PublicKey::from(&local.key_pair),
            remote_identity: bundle.identity_key,
            root_key,
            sender_ratchet,
            sending_chain: Some(chain),
            receiver_chains: Vec::new(),
            previous_counter: 0,
            pending_pre_key: Some(PendingPreKey {
                pre_key_id: bundle.pre_key.map(|(id, _)| id),
                signed_pre_key_id: bundle.signed_pre_key_id,
                base_key: PublicKey::from(&base),
            }),
            remote_registration_id: bundle.registration_id,
            local_registration_id: local.registration_id,
            base_key: PublicKey::from(&base),
            initiated_by_us: true,
        }
    }

    /// Bob's side: a session from a `pkmsg` header and our pre-keys.
    pub fn respond(
        local: &LocalIdentity,
        signed_pre_key: &KeyPair,
        one_time: Option<&KeyPair>,
        their_identity: PublicKey,
        their_base: PublicKey,
        their_registration_id: u32,
    ) -> Self {
        let root = x3dh::responder_root(
            &local.key_pair,
            signed_pre_key,
            one_time,
            &their_identity,
            &their_base,
        );
        Self {
            local_identity: PublicKey::from(&local.key_pair),
            remote_identity: their_identity,
            root_key: root,
            sender_ratchet: signed_pre_key.clone(),
            sending_chain: None,
            receiver_chains: Vec::new(),
            previous_counter: 0,
            pending_pre_key: None,
            remote_registration_id: their_registration_id,
            local_registration_id: local.registration_id,
            base_key: their_base,
            initiated_by_us: false,
        }
    }

    /// The peer's identity key.
    pub fn remote_identity(&self) -> PublicKey {
        self.remote_identity
    }

    /// The peer's registration id.
    pub fn remote_registration_id(&self) -> u32 {
        self.remote_registration_id
    }

    /// True while our messages still go out as `pkmsg` (the peer has not answered).
    pub fn has_pending_pre_key(&self) -> bool {
        self.pending_pre_key.is_some()
    }

    /// The X3DH base key that identifies this session.
    pub fn base_key(&self) -> PublicKey {
        self.base_key
    }

    /// The message key seed for (`ratchet_key`, `counter`), stepping the DH ratchet when
    /// the peer's ratchet key is new. Mutates `self`: callers work on a copy and keep it
    /// only if the MAC verifies.
    pub(crate) fn receive_key<R: RngCore + CryptoRng>(
        &mut self,
        ratchet_key: PublicKey,
        counter: u32,
        previous_counter: u32,
        rng: &mut R,
    ) -> Result<[u8; 32], DecryptError> {
        let idx = match self
            .receiver_chains
            .iter()
            .position(|c| c.ratchet_key == ratchet_key)
        {
            Some(i) => i,
            None => {
                // Close the newest receiving chain after keeping its tail keys.
                if let Some(last) = self.receiver_chains.last_mut() {
                    last.advance_to(previous_counter.saturating_add(1))?;
                    last.chain = None;
                }
                let (root, recv) =
                    root_step(&self.root_key, &self.sender_ratchet.dh(&ratchet_key.0));
                let new_ratchet = KeyPair::generate(rng);
                let (root, send) = root_step(&root, &new_ratchet.dh(&ratchet_key.0));
                self.root_key = root;
                if let Some(old) = &self.sending_chain {
                    self.previous_counter = old.index.saturating_sub(1);
                }
                self.sender_ratchet = new_ratchet;
                self.sending_chain = Some(send);
                self.receiver_chains.push(ReceiverChain {
                    ratchet_key,
                    chain: Some(recv),
                    skipped: VecDeque::new(),
                });
                if self.receiver_chains.len() > MAX_RECEIVER_CHAINS {
                    self.receiver_chains.remove(0);
                }
                self.receiver_chains.len() - 1
            }
        };
        self.receiver_chains[idx].take_key(counter)
    }

    fn to_pb(&self) -> pb::SessionStateRecord {
        let chain = |c: &ChainKey| pb::ChainKeyRecord {
            key: Some(c.key.to_vec()),
            index: Some(c.index),
        };
        pb::SessionStateRecord {
            local_identity: Some(self.local_identity.0.to_vec()),
            remote_identity: Some(self.remote_identity.0.to_vec()),
            root_key: Some(self.root_key.to_vec()),
            sender_ratchet_private: Some(self.sender_ratchet.private_bytes().to_vec()),
            sending_chain: self.sending_chain.as_ref().map(chain),
            receiver_chains: self
                .receiver_chains
                .iter()
                .map(|r| pb::ReceiverChainRecord {
                    ratchet_key: Some(r.ratchet_key.0.to_vec()),
                    chain: r.chain.as_ref().map(chain),
                    skipped: r
                        .skipped
                        .iter()
                        .map(|(i, k)| pb::SkippedKey {
                            index: Some(*i),
                            key: Some(k.to_vec()),
                        })
                        .collect(),
                })
                .collect(),
            previous_counter: Some(self.previous_counter),
            pending_pre_key: self
                .pending_pre_key
                .as_ref()
                .map(|p| pb::PendingPreKeyRecord {
                    pre_key_id: p.pre_key_id,
                    signed_pre_key_id: Some(p.signed_pre_key_id),
                    base_key: Some(p.base_key.0.to_vec()),
                }),
            remote_registration_id: Some(self.remote_registration_id),
            local_registration_id: Some(self.local_registration_id),
            base_key: Some(self.base_key.0.to_vec()),
            initiated_by_us: Some(self.initiated_by_us),
        }
    }

    fn from_pb(p: &pb::SessionStateRecord) -> Result<Self, RecordError> {
        fn k32(b: &Option<Vec<u8>>) -> Result<[u8; 32], RecordError> {
            b.as_deref()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(RecordError)
        }
        let chain = |c: &pb::ChainKeyRecord| -> Result<ChainKey, RecordError> {
            Ok(ChainKey {
                key: k32(&c.key)?,
                index: c.index.unwrap_or(0),
            })
        };
        Ok(Self {
            local_identity: PublicKey(k32(&p.local_identity)?),
            remote_identity: PublicKey(k32(&p.remote_identity)?),
            root_key: k32(&p.root_key)?,
            sender_ratchet: KeyPair::from_private(k32(&p.sender_ratchet_private)?),
            sending_chain: p.sending_chain.as_ref().map(chain).transpose()?,
            receiver_chains: p
                .receiver_chains
                .iter()
                .map(|r| {
                    Ok(ReceiverChain {
                        ratchet_key: PublicKey(k32(&r.ratchet_key)?),
                        chain: r.chain.as_ref().map(chain).transpose()?,
                        skipped: r
                            .skipped
                            .iter()
                            .map(|s| Ok((s.index.unwrap_or(0), k32(&s.key)?)))
                            .collect::<Result<_, RecordError>>()?,
                    })
                })
                .collect::<Result<_, RecordError>>()?,
            previous_counter: p.previous_counter.unwrap_or(0),
            pending_pre_key: p
                .pending_pre_key
                .as_ref()
                .map(|q| {
                    Ok::<_, RecordError>(PendingPreKey {
                        pre_key_id: q.pre_key_id,
                        signed_pre_key_id: q.signed_pre_key_id.unwrap_or(0),
                        base_key: PublicKey(k32(&q.base_key)?),
                    })
                })
                .transpose()?,
            remote_registration_id: p.remote_registration_id.unwrap_or(0),
            local_registration_id: p.local_registration_id.unwrap_or(0),
            base_key: PublicKey(k32(&p.base_key)?),
            initiated_by_us: p.initiated_by_us.unwrap_or(false),
        })
    }
}

/// A stored session record could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("corrupt session or sender-key record")]
pub struct RecordError;

/// All sessions with one peer device: the current one and previous ones, newest first.
#[derive(Debug, Clone, Default)]
pub struct SessionRecord {
    pub(crate) current: Option<SessionState>,
    pub(crate) previous: VecDeque<SessionState>,
}

impl SessionRecord {
    /// An empty record (no session yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// The current session, if any.
    pub fn current(&self) -> Option<&SessionState> {
        self.current.as_ref()
    }

    /// Number of archived previous states.
    pub fn previous_count(&self) -> usize {
        self.previous.len()
    }

    /// True if there is a current session to encrypt with.
    pub fn has_session(&self) -> bool {
        self.current.is_some()
    }

    /// Makes `state` current and archives the old current state (bounded).
    pub fn promote(&mut self, state: SessionState) {
        if let Some(old) = self.current.replace(state) {
            self.previous.push_front(old);
            self.previous.truncate(MAX_PREVIOUS_STATES);
        }
    }

    /// Archives the current session (e.g. after a retry receipt asks for a new one).
    pub fn archive_current(&mut self) {
        if let Some(old) = self.current.take() {
            self.previous.push_front(old);
            self.previous.truncate(MAX_PREVIOUS_STATES);
        }
    }

    /// Serializes the record for a store.
    pub fn serialize(&self) -> Vec<u8> {
        pb::SessionRecordData {
            current: self.current.as_ref().map(SessionState::to_pb),
            previous: self.previous.iter().map(SessionState::to_pb).collect(),
        }
        .encode_to_vec()
    }

    /// Parses a record written by [`SessionRecord::serialize`].
    pub fn deserialize(bytes: &[u8]) -> Result<Self, RecordError> {
        let d = pb::SessionRecordData::decode(bytes).map_err(|_| RecordError)?;
        Ok(Self {
            current: d.current.as_ref().map(SessionState::from_pb).transpose()?,
            previous: d
                .previous
                .iter()
                .map(SessionState::from_pb)
                .collect::<Result<_, _>>()?,
        })
    }
}
