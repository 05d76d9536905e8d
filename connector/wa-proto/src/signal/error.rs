//! One error enum per Signal operation. Malformed input, wrong MACs, replays and bounds
//! are typed errors: nothing in this module panics on untrusted bytes.

use super::MAX_FORWARD_JUMP;

/// Why a `pkmsg` / `msg` could not be decrypted. The session record is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// The bytes are not a well-formed message (too short, bad protobuf, missing field).
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// The version byte is not protocol version 3.
    #[error("unsupported message version byte {0:#04x}")]
    BadVersion(u8),
    /// A key in the message is not a valid 33-byte `0x05` Curve25519 public key.
    #[error("invalid public key in message")]
    InvalidKey,
    /// There is no session with this peer (a `msg` needs an established session).
    #[error("no session for this peer")]
    NoSession,
    /// The message authentication code did not verify (wrong session or tampering).
    #[error("message MAC mismatch")]
    BadMac,
    /// The counter was already decrypted (a replay, or a redelivery after a restart).
    #[error("duplicate message: counter {counter} was already decrypted")]
    Duplicate {
        /// The replayed counter.
        counter: u32,
    },
    /// The counter is further ahead than the skipped-key bound allows.
    #[error("message counter {counter} is {jump} ahead of the chain (max {MAX_FORWARD_JUMP})")]
    TooFarAhead {
        /// The message's counter.
        counter: u32,
        /// How many keys would have to be skipped.
        jump: u32,
    },
    /// The AES-CBC padding was invalid after a MAC that verified (sender bug).
    #[error("invalid ciphertext padding")]
    BadPadding,
    /// A `pkmsg` names a one-time pre-key we do not have (already used or never issued).
    #[error("unknown one-time pre-key {0}")]
    UnknownPreKey(u32),
    /// A `pkmsg` names a signed pre-key we do not have.
    #[error("unknown signed pre-key {0}")]
    UnknownSignedPreKey(u32),
    /// The sender's identity key changed and the trust policy rejects the change.
    #[error("untrusted identity for {address}")]
    UntrustedIdentity {
        /// The peer (`name.device`).
        address: String,
    },
}

/// Why a message could not be encrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptError {
    /// No session with this peer: fetch a pre-key bundle and build one first.
    #[error("no session for this peer")]
    NoSession,
    /// The session has no sending chain yet (we are the responder and got no message).
    #[error("session has no sending chain yet")]
    NoSendingChain,
    /// The peer's identity changed and the trust policy rejects the change.
    #[error("untrusted identity for {address}")]
    UntrustedIdentity {
        /// The peer (`name.device`).
        address: String,
    },
}

/// Why a session could not be built from a pre-key bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// A key in the bundle is not a valid Curve25519 public key.
    #[error("invalid public key in pre-key bundle")]
    InvalidKey,
    /// The signed pre-key's XEdDSA signature does not verify under the identity key.
    #[error("signed pre-key signature does not verify")]
    BadSignature,
    /// The bundle's identity differs from the one we know and the policy rejects it.
    #[error("untrusted identity for {address}")]
    UntrustedIdentity {
        /// The peer (`name.device`).
        address: String,
    },
}

/// Why a group (`skmsg`) or sender-key distribution message could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// Not a well-formed message.
    #[error("malformed sender-key message: {0}")]
    Malformed(&'static str),
    /// The version byte is not protocol version 3.
    #[error("unsupported sender-key message version byte {0:#04x}")]
    BadVersion(u8),
    /// The signing key is not a valid Curve25519 public key.
    #[error("invalid signing key")]
    InvalidKey,
    /// No sender key state for this key id: the distribution message has not arrived.
    #[error("no sender key state for key id {0}")]
    NoSenderKey(u32),
    /// We hold no sender key of our own (or only a received one) for encryption.
    #[error("no own sender key to encrypt with")]
    NoOwnSenderKey,
    /// The XEdDSA signature over the message does not verify.
    #[error("sender-key message signature does not verify")]
    BadSignature,
    /// The iteration was already decrypted (a replay).
    #[error("duplicate group message: iteration {iteration} was already decrypted")]
    Duplicate {
        /// The replayed iteration.
        iteration: u32,
    },
    /// The iteration is further ahead than the skipped-key bound allows.
    #[error("iteration {iteration} is {jump} ahead of the chain (max {MAX_FORWARD_JUMP})")]
    TooFarAhead {
        /// The message's iteration.
        iteration: u32,
        /// How many keys would have to be skipped.
        jump: u32,
    },
    /// The AES-CBC padding was invalid.
    #[error("invalid ciphertext padding")]
    BadPadding,
}
