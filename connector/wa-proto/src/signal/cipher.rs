//! `pkmsg` / `msg` encryption and decryption as pure functions over a
//! [`SessionRecord`]: the caller loads the record, calls in, and persists the record it
//! gets back (with the message, in one transaction). On any error the record is left
//! exactly as it was, so a forged or corrupt message cannot damage a session.
//!
//! Wire format: `msg` = `0x33 || SignalMessage || MAC[8]`, the MAC being
//! HMAC-SHA256(mac key, sender identity(33) || receiver identity(33) || 0x33 || proto);
//! `pkmsg` = `0x33 || PreKeySignalMessage` wrapping such a `msg`.

use prost::Message;
use rand_core::{CryptoRng, RngCore};

use super::error::{DecryptError, EncryptError};
use super::keys::{LocalIdentity, PublicKey};
use super::ratchet::{MessageKeys, ct_eq, hmac};
use super::session::{SessionRecord, SessionState};
use super::{MAC_LEN, VERSION_BYTE};
use crate::cbc;
use crate::keys::KeyPair;
use crate::proto::signal as pb;

/// An encrypted message and its stanza type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiphertextMessage {
    /// `<enc type="pkmsg">`: carries the X3DH header; sent until the peer answers.
    PreKey(Vec<u8>),
    /// `<enc type="msg">`: an ordinary ratchet message.
    Whisper(Vec<u8>),
}

impl CiphertextMessage {
    /// The `type` attribute of the `<enc>` node.
    pub fn enc_type(&self) -> &'static str {
        match self {
            Self::PreKey(_) => "pkmsg",
            Self::Whisper(_) => "msg",
        }
    }

    /// The serialized bytes (content of the `<enc>` node).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::PreKey(b) | Self::Whisper(b) => b,
        }
    }

    /// Consumes the message, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Self::PreKey(b) | Self::Whisper(b) => b,
        }
    }
}

/// A parsed `msg`, with the bytes its MAC covers.
#[derive(Debug, Clone)]
pub struct SignalMessage {
    /// The sender's current ratchet key.
    pub ratchet_key: PublicKey,
    /// Index in the sender's chain.
    pub counter: u32,
    /// Length of the sender's previous chain (index of its last message).
    pub previous_counter: u32,
    /// AES-CBC ciphertext.
    pub ciphertext: Vec<u8>,
    serialized_proto: Vec<u8>,
    mac: [u8; MAC_LEN],
}

fn check_version(b: u8) -> Result<(), DecryptError> {
    // High nibble: message version; low nibble: the sender's current version. WhatsApp
    // only speaks version 3, and the version byte is not covered by the MAC: be strict.
    if b != VERSION_BYTE {
        return Err(DecryptError::BadVersion(b));
    }
    Ok(())
}

impl SignalMessage {
    /// Parses `0x33 || proto || mac`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecryptError> {
        if bytes.len() < 1 + MAC_LEN + 1 {
            return Err(DecryptError::Malformed("message too short"));
        }
        check_version(bytes[0])?;
        let proto = &bytes[1..bytes.len() - MAC_LEN];
        let m =
            pb::SignalMessage::decode(proto).map_err(|_| DecryptError::Malformed("protobuf"))?;
        let ratchet_key = m
            .ratchet_key
            .as_deref()
            .ok_or(DecryptError::Malformed("missing ratchet key"))?;
        let ratchet_key = PublicKey::deserialize(ratchet_key).ok_or(DecryptError::InvalidKey)?;
        let ciphertext = m
            .ciphertext
            .ok_or(DecryptError::Malformed("missing ciphertext"))?;
        let mut mac = [0u8; MAC_LEN];
        mac.copy_from_slice(&bytes[bytes.len() - MAC_LEN..]);
        Ok(Self {
            ratchet_key,
            counter: m
                .counter
                .ok_or(DecryptError::Malformed("missing counter"))?,
            previous_counter: m.previous_counter.unwrap_or(0),
            ciphertext,
            serialized_proto: proto.to_vec(),
            mac,
        })
    }
}

/// A parsed `pkmsg` header (what the caller needs to look up our pre-keys).
#[derive(Debug, Clone)]
pub struct PreKeySignalMessage {
    /// The sender's registration id.
    pub registration_id: u32,
    /// Our one-time pre-key the sender used, if any.
    pub pre_key_id: Option<u32>,
    /// Our signed pre-key the sender used.
    pub signed_pre_key_id: u32,
    /// The sender's X3DH base key.
    pub base_key: PublicKey,
    /// The sender's identity key.
    pub identity_key: PublicKey,
    /// The inner `msg`.
    pub message: SignalMessage,
}

impl PreKeySignalMessage {
    /// Parses `0x33 || PreKeySignalMessage`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecryptError> {
        let (&v, rest) = bytes
            .split_first()
            .ok_or(DecryptError::Malformed("empty message"))?;
        check_version(v)?;
        let m = pb::PreKeySignalMessage::decode(rest)
            .map_err(|_| DecryptError::Malformed("protobuf"))?;
        let key = |k: &Option<Vec<u8>>, what| {
            PublicKey::deserialize(k.as_deref().ok_or(DecryptError::Malformed(what))?)
                .ok_or(DecryptError::InvalidKey)
        };
        Ok(Self {
            registration_id: m.registration_id.unwrap_or(0),
            pre_key_id: m.pre_key_id,
            signed_pre_key_id: m
                .signed_pre_key_id
                .ok_or(DecryptError::Malformed("missing signed pre-key id"))?,
            base_key: key(&m.base_key, "missing base key")?,
            identity_key: key(&m.identity_key, "missing identity key")?,
            message: SignalMessage::parse(
                m.message
                    .as_deref()
                    .ok_or(DecryptError::Malformed("missing inner message"))?,
            )?,
        })
    }
}

fn mac_with(sender: &PublicKey, receiver: &PublicKey, proto: &[u8], key: &[u8; 32]) -> [u8; 32] {
    hmac(
        key,
        &[
            &sender.serialize(),
            &receiver.serialize(),
            &[VERSION_BYTE],
            proto,
        ],
    )
}

/// Encrypts `plaintext` (already padded) with the record's current session.
pub fn encrypt(
    record: &mut SessionRecord,
    plaintext: &[u8],
) -> Result<CiphertextMessage, EncryptError> {
    let state = record.current.as_mut().ok_or(EncryptError::NoSession)?;
    let chain = state
        .sending_chain
        .as_ref()
        .ok_or(EncryptError::NoSendingChain)?;
    let keys = MessageKeys::derive(&chain.message_key_seed());
    let ciphertext = cbc::encrypt(&keys.cipher_key, &keys.iv, plaintext);
    let proto = pb::SignalMessage {
        ratchet_key: Some(PublicKey::from(&state.sender_ratchet).serialize().to_vec()),
        counter: Some(chain.index),
        previous_counter: Some(state.previous_counter),
        ciphertext: Some(ciphertext),
    }
    .encode_to_vec();
    let mac = mac_with(
        &state.local_identity,
        &state.remote_identity,
        &proto,
        &keys.mac_key,
    );
    let mut msg = Vec::with_capacity(1 + proto.len() + MAC_LEN);
    msg.push(VERSION_BYTE);
    msg.extend_from_slice(&proto);
    msg.extend_from_slice(&mac[..MAC_LEN]);
    state.sending_chain = Some(chain.next());
    Ok(match &state.pending_pre_key {
        Some(p) => {
            let outer = pb::PreKeySignalMessage {
                registration_id: Some(state.local_registration_id),
                pre_key_id: p.pre_key_id,
                signed_pre_key_id: Some(p.signed_pre_key_id),
                base_key: Some(p.base_key.serialize().to_vec()),
                identity_key: Some(state.local_identity.serialize().to_vec()),
                message: Some(msg),
            };
            let mut out = vec![VERSION_BYTE];
            outer.encode(&mut out).expect("vec grows");
            CiphertextMessage::PreKey(out)
        }
        None => CiphertextMessage::Whisper(msg),
    })
}

/// Decrypts with one state, mutating it; the caller discards it on error.
fn decrypt_with_state<R: RngCore + CryptoRng>(
    state: &mut SessionState,
    msg: &SignalMessage,
    rng: &mut R,
) -> Result<Vec<u8>, DecryptError> {
    let seed = state.receive_key(msg.ratchet_key, msg.counter, msg.previous_counter, rng)?;
    let keys = MessageKeys::derive(&seed);
    let mac = mac_with(
        &state.remote_identity,
        &state.local_identity,
        &msg.serialized_proto,
        &keys.mac_key,
    );
    if !ct_eq(&mac[..MAC_LEN], &msg.mac) {
        return Err(DecryptError::BadMac);
    }
    let plain = cbc::decrypt(&keys.cipher_key, &keys.iv, &msg.ciphertext)
        .map_err(|_| DecryptError::BadPadding)?;
    state.pending_pre_key = None;
    Ok(plain)
}

/// Decrypts a `msg`: tries the current session, then previous ones (a match there
/// becomes current again). Returns the plaintext (still padded) and the sender identity.
pub fn decrypt_message<R: RngCore + CryptoRng>(
    record: &mut SessionRecord,
    bytes: &[u8],
    rng: &mut R,
) -> Result<(Vec<u8>, PublicKey), DecryptError> {
    let msg = SignalMessage::parse(bytes)?;
    decrypt_parsed(record, &msg, rng)
}

fn decrypt_parsed<R: RngCore + CryptoRng>(
    record: &mut SessionRecord,
    msg: &SignalMessage,
    rng: &mut R,
) -> Result<(Vec<u8>, PublicKey), DecryptError> {
    let mut first_err = None;
    if let Some(cur) = &record.current {
        let mut s = cur.clone();
        match decrypt_with_state(&mut s, msg, rng) {
            Ok(p) => {
                let id = s.remote_identity;
                record.current = Some(s);
                return Ok((p, id));
            }
            Err(e) => first_err = Some(e),
        }
    }
    for i in 0..record.previous.len() {
        let mut s = record.previous[i].clone();
        if let Ok(p) = decrypt_with_state(&mut s, msg, rng) {
            let id = s.remote_identity;
            record.previous.remove(i);
            record.promote(s);
            return Ok((p, id));
        }
    }
    Err(first_err.unwrap_or(DecryptError::NoSession))
}

/// The outcome of decrypting a `pkmsg`.
#[derive(Debug, Clone)]
pub struct PreKeyDecrypted {
    /// The plaintext (still padded).
    pub plaintext: Vec<u8>,
    /// The one-time pre-key this message consumed: delete it in the same transaction.
    pub consumed_pre_key: Option<u32>,
    /// The sender's identity key (check and save it).
    pub identity: PublicKey,
}

/// Decrypts a parsed `pkmsg`. If the record already has the session it names (a second
/// `pkmsg` before we answered), that session is used and no pre-key is consumed;
/// otherwise a new session is built from `signed_pre_key` and `one_time` (looked up by
/// the ids in `msg`) and becomes current.
pub fn decrypt_prekey_message<R: RngCore + CryptoRng>(
    record: &mut SessionRecord,
    local: &LocalIdentity,
    msg: &PreKeySignalMessage,
    signed_pre_key: Option<&KeyPair>,
    one_time: Option<&KeyPair>,
    rng: &mut R,
) -> Result<PreKeyDecrypted, DecryptError> {
    let existing = |s: &SessionState| !s.initiated_by_us && s.base_key == msg.base_key;
    if record.current.as_ref().is_some_and(existing) || record.previous.iter().any(existing) {
        let (plaintext, identity) = decrypt_parsed(record, &msg.message, rng)?;
        return Ok(PreKeyDecrypted {
            plaintext,
            consumed_pre_key: None,
            identity,
        });
    }
    let spk = signed_pre_key.ok_or(DecryptError::UnknownSignedPreKey(msg.signed_pre_key_id))?;
    let otk = match msg.pre_key_id {
        Some(id) => Some(one_time.ok_or(DecryptError::UnknownPreKey(id))?),
        None => None,
    };
    let mut state = SessionState::respond(
        local,
        spk,
        otk,
        msg.identity_key,
        msg.base_key,
        msg.registration_id,
    );
    let plaintext = decrypt_with_state(&mut state, &msg.message, rng)?;
    record.promote(state);
    Ok(PreKeyDecrypted {
        plaintext,
        consumed_pre_key: msg.pre_key_id,
        identity: msg.identity_key,
    })
}
