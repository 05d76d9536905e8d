//! The server's side of a connection, for tests and the server simulator: Noise
//! responder, framing and stanza encryption, no I/O and no policy.

use std::collections::VecDeque;

use prost::Message;
use thiserror::Error;

use crate::binary::{self, DecodeError, EncodeError, Node};
use crate::frame::{CONNECTION_HEADER, FrameDecoder, FrameEncoder, FrameError};
use crate::handshake::{HandshakeError, Responder};
use crate::keys::KeyPair;
use crate::noise::{CipherError, Transport};
use crate::proto::payload::ClientPayload;

/// Why the server session failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ServerError {
    /// Bad framing or connection header.
    #[error("frame: {0}")]
    Frame(#[from] FrameError),
    /// The handshake failed.
    #[error("handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// A transport frame did not decrypt.
    #[error("transport: {0}")]
    Cipher(#[from] CipherError),
    /// A stanza did not decode.
    #[error("decode: {0}")]
    Decode(#[from] DecodeError),
    /// A stanza did not encode.
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
    /// The ClientPayload is not valid protobuf.
    #[error("client payload does not decode")]
    BadPayload,
    /// Used before the handshake finished, or after a failure.
    #[error("session not ready")]
    NotReady,
}

/// What the client sent.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The handshake finished.
    Authenticated {
        /// Client's Noise static key.
        client_static: [u8; 32],
        /// The registration or login payload.
        payload: Box<ClientPayload>,
    },
    /// A stanza.
    Node(Node),
}

enum Stage {
    Hello(Box<Responder>),
    Finish(Box<Responder>),
    Ready(Box<Transport>),
    Failed,
}

/// One accepted client connection, server side.
pub struct ServerSession {
    frames_in: FrameDecoder,
    frames_out: FrameEncoder,
    stage: Stage,
    out: VecDeque<Vec<u8>>,
}

impl std::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession").finish_non_exhaustive()
    }
}

impl ServerSession {
    /// A session presenting `noise_static` with `cert_chain` (see [`crate::cert::issue_chain`]).
    pub fn new(ephemeral: KeyPair, noise_static: KeyPair, cert_chain: Vec<u8>) -> Self {
        Self {
            frames_in: FrameDecoder::server(CONNECTION_HEADER),
            frames_out: FrameEncoder::server(),
            stage: Stage::Hello(Box::new(Responder::new(
                &CONNECTION_HEADER,
                ephemeral,
                noise_static,
                cert_chain,
            ))),
            out: VecDeque::new(),
        }
    }

    /// Feeds bytes from the client; returns what they carried.
    pub fn handle_data(&mut self, data: &[u8]) -> Result<Vec<ServerEvent>, ServerError> {
        self.frames_in.push(data);
        let mut events = Vec::new();
        while let Some(frame) = self.frames_in.next_frame()? {
            match std::mem::replace(&mut self.stage, Stage::Failed) {
                Stage::Hello(mut r) => {
                    r.read_client_hello(&frame)?;
                    let hello = r.server_hello()?;
                    self.push_frame(&hello)?;
                    self.stage = Stage::Finish(r);
                }
                Stage::Finish(r) => {
                    let acc = r.read_client_finish(&frame)?;
                    let payload = ClientPayload::decode(&acc.client_payload[..])
                        .map_err(|_| ServerError::BadPayload)?;
                    self.stage = Stage::Ready(Box::new(acc.transport));
                    events.push(ServerEvent::Authenticated {
                        client_static: acc.client_static,
                        payload: Box::new(payload),
                    });
                }
                Stage::Ready(mut t) => {
                    let plain = t.decrypt(&frame)?;
                    self.stage = Stage::Ready(t);
                    events.push(ServerEvent::Node(binary::unmarshal(&plain)?));
                }
                Stage::Failed => return Err(ServerError::NotReady),
            }
        }
        Ok(events)
    }

    /// Encrypts and queues a stanza for the client.
    pub fn send_node(&mut self, node: &Node) -> Result<(), ServerError> {
        let Stage::Ready(t) = &mut self.stage else {
            return Err(ServerError::NotReady);
        };
        let ct = t.encrypt(&binary::marshal(node)?)?;
        self.push_frame(&ct)
    }

    fn push_frame(&mut self, payload: &[u8]) -> Result<(), ServerError> {
        let mut out = Vec::new();
        self.frames_out.encode(payload, &mut out)?;
        self.out.push_back(out);
        Ok(())
    }

    /// The next message to deliver to the client.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }
}
