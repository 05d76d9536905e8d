//! Typed errors: starting the simulator, calling its test API, and rejecting a stanza.

use thiserror::Error;

/// Why [`crate::Simulator::start`] failed.
#[derive(Debug, Error)]
pub enum StartError {
    /// A configured address is not loopback: the simulator must never face a network.
    #[error("address {0} is not a loopback address")]
    NotLoopback(std::net::SocketAddr),
    /// A listener could not bind.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a test-API call on [`crate::SimulatorHandle`] was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The QR string does not have the `ref,noise,identity,adv` shape.
    #[error("malformed QR string")]
    MalformedQr,
    /// No waiting connection issued this QR ref (expired, already used, or closed).
    #[error("unknown or expired QR ref")]
    UnknownRef,
    /// The keys in the QR do not belong to the connection that showed the ref.
    #[error("QR keys do not match the connection that registered")]
    QrKeyMismatch,
    /// The phone number is not digits only.
    #[error("phone number must be digits only")]
    BadPhone,
    /// No connection asked for a pairing code for this phone number.
    #[error("no pairing-code request for this phone")]
    NoPairingRequest,
    /// The code is not 8 characters of the code alphabet.
    #[error("malformed pairing code")]
    BadCode,
    /// The device has no live connection.
    #[error("device {0} is not connected")]
    NotConnected(String),
    /// The connection's buffer is full (it is being dropped as too slow).
    #[error("connection buffer full")]
    Busy,
    /// The device does not exist, or its offline queue is full.
    #[error("cannot queue for device {0}")]
    Undeliverable(String),
}

/// Why a client stanza was refused; becomes an `<iq type=error>` (or an `<ack error=..>`
/// for messages) with [`StanzaError::code`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StanzaError {
    /// A required attribute or child is missing or malformed.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The stanza needs a logged-in device.
    #[error("not authorized")]
    NotAuthorized,
    /// The device may not do this (not a member, not an admin).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The addressed group or user does not exist.
    #[error("item not found")]
    NotFound,
    /// Already done (participant already in the group).
    #[error("conflict")]
    Conflict,
    /// A bound was reached.
    #[error("resource constraint: {0}")]
    ResourceLimit(&'static str),
    /// The simulator does not implement this namespace.
    #[error("feature not implemented")]
    NotImplemented,
}

impl StanzaError {
    /// The numeric error code WhatsApp uses for this kind of refusal.
    pub fn code(&self) -> u16 {
        match self {
            StanzaError::BadRequest(_) => 400,
            StanzaError::NotAuthorized => 401,
            StanzaError::Forbidden(_) => 403,
            StanzaError::NotFound => 404,
            StanzaError::Conflict => 409,
            StanzaError::ResourceLimit(_) => 500,
            StanzaError::NotImplemented => 501,
        }
    }

    /// The short error text sent with the code.
    pub fn text(&self) -> &'static str {
        match self {
            StanzaError::BadRequest(_) => "bad-request",
            StanzaError::NotAuthorized => "not-authorized",
            StanzaError::Forbidden(_) => "forbidden",
            StanzaError::NotFound => "item-not-found",
            StanzaError::Conflict => "conflict",
            StanzaError::ResourceLimit(_) => "resource-constraint",
            StanzaError::NotImplemented => "feature-not-implemented",
        }
    }
}
