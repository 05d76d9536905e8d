//! Group sender keys: per (group, sender device) a chain key, an iteration and a signing
//! key; the SenderKeyDistributionMessage that hands them to each member (inside a
//! `pkmsg`/`msg`), and the record keeping up to [`MAX_SENDER_KEY_STATES`] states.

use std::collections::VecDeque;

use prost::Message;
use rand_core::{CryptoRng, RngCore};

use super::error::GroupError;
use super::keys::PublicKey;
use super::ratchet::{ChainKey, hkdf};
use super::session::RecordError;
use super::{ProtocolAddress, VERSION_BYTE};
use crate::keys::KeyPair;
use crate::proto::signal as pb;

/// Sender-key states kept per (group, sender): a sender that rotates keeps old ones
/// decryptable for a while.
pub const MAX_SENDER_KEY_STATES: usize = 5;

/// Which sender key: the group JID and the sending device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SenderKeyName {
    /// The group JID (e.g. `120363…@g.us`).
    pub group_id: String,
    /// The sending device.
    pub sender: ProtocolAddress,
}

/// `group/name.device`, as logs and errors name a sender key.
impl std::fmt::Display for SenderKeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.group_id, self.sender)
    }
}

/// Keys for one group message: HKDF(seed, zero salt, "WhisperGroup", 48) -> iv, key.
#[derive(Clone)]
pub(crate) struct SenderKeyMessageKeys {
    pub(crate) iv: [u8; 16],
    pub(crate) cipher_key: [u8; 32],
}

impl SenderKeyMessageKeys {
    pub(crate) fn derive(seed: &[u8; 32]) -> Self {
        let mut out = [0u8; 48];
        hkdf(&[0u8; 32], seed, b"WhisperGroup", &mut out);
        let mut k = Self {
            iv: [0; 16],
            cipher_key: [0; 32],
        };
        k.iv.copy_from_slice(&out[..16]);
        k.cipher_key.copy_from_slice(&out[16..]);
        k
    }
}

/// One sender-key state.
#[derive(Clone)]
pub struct SenderKeyState {
    pub(crate) key_id: u32,
    pub(crate) chain: ChainKey,
    pub(crate) signing_public: PublicKey,
    pub(crate) signing_private: Option<KeyPair>,
    pub(crate) skipped: VecDeque<(u32, [u8; 32])>,
}

impl std::fmt::Debug for SenderKeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderKeyState")
            .field("key_id", &self.key_id)
            .field("iteration", &self.chain.index)
            .field("own", &self.signing_private.is_some())
            .finish_non_exhaustive()
    }
}

impl SenderKeyState {
    /// The key id (random per state).
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The next iteration this state yields.
    pub fn iteration(&self) -> u32 {
        self.chain.index
    }
}

/// All sender-key states for one [`SenderKeyName`], newest last.
#[derive(Debug, Clone, Default)]
pub struct SenderKeyRecord {
    pub(crate) states: VecDeque<SenderKeyState>,
}

impl SenderKeyRecord {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// True if no state exists (no distribution received or created yet).
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// The newest state.
    pub fn current(&self) -> Option<&SenderKeyState> {
        self.states.back()
    }

    pub(crate) fn state_mut(&mut self, key_id: u32) -> Option<&mut SenderKeyState> {
        self.states.iter_mut().rev().find(|s| s.key_id == key_id)
    }

    pub(crate) fn add_state(&mut self, state: SenderKeyState) {
        self.states.retain(|s| s.key_id != state.key_id);
        self.states.push_back(state);
        while self.states.len() > MAX_SENDER_KEY_STATES {
            self.states.pop_front();
        }
    }

    /// Creates our own sender key if the record is empty; returns the distribution
    /// message to fan out to every member device.
    pub fn create_distribution<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
    ) -> SenderKeyDistributionMessage {
        if self.current().is_none_or(|s| s.signing_private.is_none()) {
            let mut chain = [0u8; 32];
            rng.fill_bytes(&mut chain);
            let signing = KeyPair::generate(rng);
            self.add_state(SenderKeyState {
                key_id: rng.next_u32() & 0x7fff_ffff,
                chain: ChainKey {
                    key: chain,
                    index: 0,
                },
                signing_public: PublicKey::from(&signing),
                signing_private: Some(signing),
                skipped: VecDeque::new(),
            });
        }
        let s = self.current().expect("state just ensured");
        SenderKeyDistributionMessage {
            key_id: s.key_id,
            iteration: s.chain.index,
            chain_key: s.chain.key,
            signing_key: s.signing_public,
        }
    }

    /// Installs a member's distribution message (replacing a state with the same id).
    pub fn process_distribution(&mut self, msg: &SenderKeyDistributionMessage) {
        self.add_state(SenderKeyState {
            key_id: msg.key_id,
            chain: ChainKey {
                key: msg.chain_key,
                index: msg.iteration,
            },
            signing_public: msg.signing_key,
            signing_private: None,
            skipped: VecDeque::new(),
        });
    }

    /// Installs one of our own sender keys (e.g. migrated from another client): the
    /// distribution message's state plus the private signing key.
    pub fn import_own(&mut self, msg: &SenderKeyDistributionMessage, signing: KeyPair) {
        self.process_distribution(msg);
        if let Some(s) = self.states.back_mut() {
            s.signing_public = PublicKey::from(&signing);
            s.signing_private = Some(signing);
        }
    }

    /// Serializes the record for a store.
    pub fn serialize(&self) -> Vec<u8> {
        pb::SenderKeyRecordData {
            states: self
                .states
                .iter()
                .map(|s| pb::SenderKeyStateRecord {
                    key_id: Some(s.key_id),
                    chain: Some(pb::ChainKeyRecord {
                        key: Some(s.chain.key.to_vec()),
                        index: Some(s.chain.index),
                    }),
                    signing_public: Some(s.signing_public.0.to_vec()),
                    signing_private: s
                        .signing_private
                        .as_ref()
                        .map(|k| k.private_bytes().to_vec()),
                    skipped: s
                        .skipped
                        .iter()
                        .map(|(i, k)| pb::SkippedKey {
                            index: Some(*i),
                            key: Some(k.to_vec()),
                        })
                        .collect(),
                })
                .collect(),
        }
        .encode_to_vec()
    }

    /// Parses a record written by [`SenderKeyRecord::serialize`].
    pub fn deserialize(bytes: &[u8]) -> Result<Self, RecordError> {
        fn k32(b: &Option<Vec<u8>>) -> Result<[u8; 32], RecordError> {
            b.as_deref()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(RecordError)
        }
        let d = pb::SenderKeyRecordData::decode(bytes).map_err(|_| RecordError)?;
        let states = d
            .states
            .iter()
            .map(|s| {
                let c = s.chain.as_ref().ok_or(RecordError)?;
                Ok(SenderKeyState {
                    key_id: s.key_id.unwrap_or(0),
                    chain: ChainKey {
                        key: k32(&c.key)?,
                        index: c.index.unwrap_or(0),
                    },
                    signing_public: PublicKey(k32(&s.signing_public)?),
                    signing_private: s
                        .signing_private
                        .as_ref()
                        .map(|_| k32(&s.signing_private).map(KeyPair::from_private))
                        .transpose()?,
                    skipped: s
                        .skipped
                        .iter()
                        .map(|k| Ok((k.index.unwrap_or(0), k32(&k.key)?)))
                        .collect::<Result<_, RecordError>>()?,
                })
            })
            .collect::<Result<_, RecordError>>()?;
        Ok(Self { states })
    }
}

/// A sender key handed to group members: key id, iteration, chain key, signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct SenderKeyDistributionMessage {
    /// The sender-key state id.
    pub key_id: u32,
    /// The chain's iteration at `chain_key`.
    pub iteration: u32,
    /// The chain key at `iteration`.
    pub chain_key: [u8; 32],
    /// The public signing key (messages are XEdDSA-signed by it).
    pub signing_key: PublicKey,
}

impl std::fmt::Debug for SenderKeyDistributionMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderKeyDistributionMessage")
            .field("key_id", &self.key_id)
            .field("iteration", &self.iteration)
            .finish_non_exhaustive()
    }
}

impl SenderKeyDistributionMessage {
    /// `0x33 || protobuf` (the `axolotlSenderKeyDistributionMessage` bytes).
    pub fn serialize(&self) -> Vec<u8> {
        let mut out = vec![VERSION_BYTE];
        pb::SenderKeyDistributionMessage {
            id: Some(self.key_id),
            iteration: Some(self.iteration),
            chain_key: Some(self.chain_key.to_vec()),
            signing_key: Some(self.signing_key.serialize().to_vec()),
        }
        .encode(&mut out)
        .expect("vec grows");
        out
    }

    /// Parses `0x33 || protobuf`.
    pub fn parse(bytes: &[u8]) -> Result<Self, GroupError> {
        let (&v, rest) = bytes
            .split_first()
            .ok_or(GroupError::Malformed("empty message"))?;
        if v != VERSION_BYTE {
            return Err(GroupError::BadVersion(v));
        }
        let m = pb::SenderKeyDistributionMessage::decode(rest)
            .map_err(|_| GroupError::Malformed("protobuf"))?;
        Ok(Self {
            key_id: m.id.ok_or(GroupError::Malformed("missing id"))?,
            iteration: m.iteration.unwrap_or(0),
            chain_key: m
                .chain_key
                .as_deref()
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
                .ok_or(GroupError::Malformed("chain key"))?,
            signing_key: PublicKey::from_slice(
                m.signing_key
                    .as_deref()
                    .ok_or(GroupError::Malformed("missing signing key"))?,
            )
            .ok_or(GroupError::InvalidKey)?,
        })
    }
}
