//! The XX handshake, initiator (our client) and responder (test server / simulator).
//!
//! ```text
//! -> e                      ClientHello { ephemeral }
//! <- e, ee, s, es, payload  ServerHello { ephemeral, static*, CertChain* }
//! -> s, se, payload         ClientFinish { static*, ClientPayload* }
//! ```
//! `*` = encrypted with the handshake cipher (AAD = h). Afterwards both sides
//! [`split`](crate::noise::SymmetricState::split) into a [`Transport`].

use prost::Message;
use thiserror::Error;

use crate::cert::{CertError, TrustRoot};
use crate::keys::KeyPair;
use crate::noise::{CipherError, SymmetricState, Transport};
use crate::proto::handshake::{HandshakeMessage, handshake_message};

/// Why the handshake failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The message is not a valid HandshakeMessage protobuf.
    #[error("malformed handshake message")]
    Malformed,
    /// A required part (hello, key, payload) is missing or has the wrong length.
    #[error("handshake message lacks {0}")]
    Missing(&'static str),
    /// A handshake ciphertext did not authenticate.
    #[error("handshake decryption: {0}")]
    Cipher(#[from] CipherError),
    /// The server's certificate chain was rejected.
    #[error("certificate: {0}")]
    Cert(#[from] CertError),
}

fn key32(b: Option<Vec<u8>>, what: &'static str) -> Result<[u8; 32], HandshakeError> {
    b.and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
        .ok_or(HandshakeError::Missing(what))
}

/// Client side: create, send [`Initiator::client_hello`], feed the server hello to
/// [`Initiator::read_server_hello`], then [`Initiator::finish`] with the ClientPayload.
#[derive(Debug)]
pub struct Initiator {
    state: SymmetricState,
    ephemeral: KeyPair,
    noise_static: KeyPair,
    server_ephemeral: Option<[u8; 32]>,
    server_static: Option<[u8; 32]>,
}

impl Initiator {
    /// Starts a handshake; `prologue` is the connection header.
    pub fn new(prologue: &[u8], ephemeral: KeyPair, noise_static: KeyPair) -> Self {
        let mut state = SymmetricState::new(prologue);
        state.mix_hash(&ephemeral.public);
        Self {
            state,
            ephemeral,
            noise_static,
            server_ephemeral: None,
            server_static: None,
        }
    }

    /// Message 1, serialized HandshakeMessage.
    pub fn client_hello(&self) -> Vec<u8> {
        HandshakeMessage {
            client_hello: Some(handshake_message::ClientHello {
                ephemeral: Some(self.ephemeral.public.to_vec()),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }

    /// Processes message 2 and verifies the certificate chain against `root` at `now_unix`.
    /// Returns the server's static key.
    pub fn read_server_hello(
        &mut self,
        msg: &[u8],
        root: &TrustRoot,
        now_unix: u64,
    ) -> Result<[u8; 32], HandshakeError> {
        let hello = HandshakeMessage::decode(msg)
            .map_err(|_| HandshakeError::Malformed)?
            .server_hello
            .ok_or(HandshakeError::Missing("server hello"))?;
        let se = key32(hello.ephemeral, "server ephemeral")?;
        let enc_static = hello
            .r#static
            .ok_or(HandshakeError::Missing("server static"))?;
        let enc_payload = hello
            .payload
            .ok_or(HandshakeError::Missing("server payload"))?;
        self.state.mix_hash(&se);
        self.state.mix_key(&self.ephemeral.dh(&se));
        let ss = key32(
            Some(self.state.decrypt_and_hash(&enc_static)?),
            "server static key",
        )?;
        self.state.mix_key(&self.ephemeral.dh(&ss));
        let chain = self.state.decrypt_and_hash(&enc_payload)?;
        root.verify(&chain, &ss, now_unix)?;
        self.server_ephemeral = Some(se);
        self.server_static = Some(ss);
        Ok(ss)
    }

    /// Message 3 carrying `client_payload` (serialized ClientPayload), and the transport.
    /// Must follow a successful [`Initiator::read_server_hello`].
    pub fn finish(mut self, client_payload: &[u8]) -> Result<(Vec<u8>, Transport), HandshakeError> {
        let se = self
            .server_ephemeral
            .ok_or(HandshakeError::Missing("server hello"))?;
        let enc_static = self.state.encrypt_and_hash(&self.noise_static.public)?;
        self.state.mix_key(&self.noise_static.dh(&se));
        let enc_payload = self.state.encrypt_and_hash(client_payload)?;
        let msg = HandshakeMessage {
            client_finish: Some(handshake_message::ClientFinish {
                r#static: Some(enc_static),
                payload: Some(enc_payload),
            }),
            ..Default::default()
        }
        .encode_to_vec();
        let (write, read) = self.state.split();
        Ok((msg, Transport::new(write, read)))
    }

    /// The handshake hash so far (tests compare it with the oracle's).
    pub fn hash(&self) -> [u8; 32] {
        self.state.hash()
    }
}

/// Server side, for tests and the simulator: [`Responder::read_client_hello`], send
/// [`Responder::server_hello`], then [`Responder::read_client_finish`].
#[derive(Debug)]
pub struct Responder {
    state: SymmetricState,
    ephemeral: KeyPair,
    noise_static: KeyPair,
    cert_chain: Vec<u8>,
    client_ephemeral: Option<[u8; 32]>,
}

/// What the responder learns from a finished handshake.
#[derive(Debug)]
pub struct Accepted {
    /// The client's Noise static key.
    pub client_static: [u8; 32],
    /// The serialized ClientPayload.
    pub client_payload: Vec<u8>,
    /// Transport keyed for the server's direction.
    pub transport: Transport,
}

impl Responder {
    /// A responder presenting `cert_chain` (serialized CertChain for `noise_static`).
    pub fn new(
        prologue: &[u8],
        ephemeral: KeyPair,
        noise_static: KeyPair,
        cert_chain: Vec<u8>,
    ) -> Self {
        Self {
            state: SymmetricState::new(prologue),
            ephemeral,
            noise_static,
            cert_chain,
            client_ephemeral: None,
        }
    }

    /// Processes message 1.
    pub fn read_client_hello(&mut self, msg: &[u8]) -> Result<(), HandshakeError> {
        let hello = HandshakeMessage::decode(msg)
            .map_err(|_| HandshakeError::Malformed)?
            .client_hello
            .ok_or(HandshakeError::Missing("client hello"))?;
        let ce = key32(hello.ephemeral, "client ephemeral")?;
        self.state.mix_hash(&ce);
        self.client_ephemeral = Some(ce);
        Ok(())
    }

    /// Message 2. Must follow [`Responder::read_client_hello`].
    pub fn server_hello(&mut self) -> Result<Vec<u8>, HandshakeError> {
        let ce = self
            .client_ephemeral
            .ok_or(HandshakeError::Missing("client hello"))?;
        self.state.mix_hash(&self.ephemeral.public);
        self.state.mix_key(&self.ephemeral.dh(&ce));
        let enc_static = self.state.encrypt_and_hash(&self.noise_static.public)?;
        self.state.mix_key(&self.noise_static.dh(&ce));
        let enc_payload = self.state.encrypt_and_hash(&self.cert_chain)?;
        Ok(HandshakeMessage {
            server_hello: Some(handshake_message::ServerHello {
                ephemeral: Some(self.ephemeral.public.to_vec()),
                r#static: Some(enc_static),
                payload: Some(enc_payload),
            }),
            ..Default::default()
        }
        .encode_to_vec())
    }

    /// Processes message 3 and returns the client's static key, payload and the transport.
    pub fn read_client_finish(mut self, msg: &[u8]) -> Result<Accepted, HandshakeError> {
        let fin = HandshakeMessage::decode(msg)
            .map_err(|_| HandshakeError::Malformed)?
            .client_finish
            .ok_or(HandshakeError::Missing("client finish"))?;
        let enc_static = fin
            .r#static
            .ok_or(HandshakeError::Missing("client static"))?;
        let enc_payload = fin
            .payload
            .ok_or(HandshakeError::Missing("client payload"))?;
        let cs = key32(
            Some(self.state.decrypt_and_hash(&enc_static)?),
            "client static key",
        )?;
        self.state.mix_key(&self.ephemeral.dh(&cs));
        let client_payload = self.state.decrypt_and_hash(&enc_payload)?;
        let (c2s, s2c) = self.state.split();
        Ok(Accepted {
            client_static: cs,
            client_payload,
            transport: Transport::new(s2c, c2s),
        })
    }
}
