//! The server's certificate chain: root -> intermediate -> leaf (= the server's Noise
//! static key), each link an XEdDSA signature over serialized details.

use prost::Message;
use rand_core::{CryptoRng, RngCore};
use thiserror::Error;

use crate::keys::{self, KeyPair};
use crate::proto::handshake::{
    CertChain, cert_chain::NoiseCertificate, cert_chain::noise_certificate::Details,
};

/// WhatsApp's production root public key.
pub const WA_ROOT_KEY: [u8; 32] = [
    0x14, 0x23, 0x75, 0x57, 0x4d, 0x0a, 0x58, 0x71, 0x66, 0xaa, 0xe7, 0x1e, 0xbe, 0x51, 0x64, 0x37,
    0xc4, 0xa2, 0x8b, 0x73, 0xe3, 0x69, 0x5c, 0x6c, 0xe1, 0xf7, 0xf9, 0x54, 0x5d, 0xa8, 0xee, 0x6b,
];

/// Serial of the root, as the intermediate's issuer serial.
pub const WA_ROOT_SERIAL: u32 = 0;

/// Why the certificate chain was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CertError {
    /// The chain or a details message is not valid protobuf, or a field is missing.
    #[error("malformed certificate chain: {0}")]
    Malformed(&'static str),
    /// The intermediate is not signed by the configured root.
    #[error("intermediate certificate signature invalid")]
    BadIntermediateSignature,
    /// The leaf is not signed by the intermediate.
    #[error("leaf certificate signature invalid")]
    BadLeafSignature,
    /// Issuer serials do not link the chain.
    #[error("issuer serial {got} does not match {want}")]
    SerialMismatch {
        /// Serial in the certificate.
        got: u32,
        /// Serial expected.
        want: u32,
    },
    /// The leaf key is not the server's Noise static key.
    #[error("leaf key does not match the server static key")]
    KeyMismatch,
    /// `now` is outside a certificate's validity.
    #[error("certificate not valid at {now} (valid {not_before}..{not_after})")]
    Expired {
        /// Caller's time (Unix seconds).
        now: u64,
        /// Start of validity.
        not_before: u64,
        /// End of validity.
        not_after: u64,
    },
}

/// Which root to trust; the real one by default, a test root for simulators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustRoot {
    /// Root public key (32 bytes).
    pub key: [u8; 32],
    /// Serial the intermediate must name as issuer.
    pub serial: u32,
}

impl Default for TrustRoot {
    fn default() -> Self {
        Self {
            key: WA_ROOT_KEY,
            serial: WA_ROOT_SERIAL,
        }
    }
}

fn details(cert: &NoiseCertificate, which: &'static str) -> Result<Details, CertError> {
    Details::decode(cert.details.as_deref().ok_or(CertError::Malformed(which))?)
        .map_err(|_| CertError::Malformed(which))
}

fn check_time(d: &Details, now: u64) -> Result<(), CertError> {
    let (nb, na) = (d.not_before.unwrap_or(0), d.not_after.unwrap_or(u64::MAX));
    if now < nb || now > na {
        return Err(CertError::Expired {
            now,
            not_before: nb,
            not_after: na,
        });
    }
    Ok(())
}

impl TrustRoot {
    /// Verifies `chain` (serialized CertChain) for `server_static` at `now_unix`.
    pub fn verify(
        &self,
        chain: &[u8],
        server_static: &[u8; 32],
        now_unix: u64,
    ) -> Result<(), CertError> {
        let chain = CertChain::decode(chain).map_err(|_| CertError::Malformed("chain"))?;
        let inter = chain
            .intermediate
            .ok_or(CertError::Malformed("intermediate"))?;
        let leaf = chain.leaf.ok_or(CertError::Malformed("leaf"))?;
        let inter_d = details(&inter, "intermediate details")?;
        if !keys::verify(
            &self.key,
            inter.details.as_deref().unwrap_or_default(),
            inter.signature.as_deref().unwrap_or_default(),
        ) {
            return Err(CertError::BadIntermediateSignature);
        }
        let issuer = inter_d.issuer_serial.unwrap_or(0);
        if issuer != self.serial {
            return Err(CertError::SerialMismatch {
                got: issuer,
                want: self.serial,
            });
        }
        check_time(&inter_d, now_unix)?;
        let inter_key = inter_d
            .key
            .as_deref()
            .ok_or(CertError::Malformed("intermediate key"))?;
        let leaf_d = details(&leaf, "leaf details")?;
        if !keys::verify(
            inter_key,
            leaf.details.as_deref().unwrap_or_default(),
            leaf.signature.as_deref().unwrap_or_default(),
        ) {
            return Err(CertError::BadLeafSignature);
        }
        let (got, want) = (
            leaf_d.issuer_serial.unwrap_or(0),
            inter_d.serial.unwrap_or(0),
        );
        if got != want {
            return Err(CertError::SerialMismatch { got, want });
        }
        check_time(&leaf_d, now_unix)?;
        if keys::unprefix(leaf_d.key.as_deref().unwrap_or_default()).as_ref() != Some(server_static)
        {
            return Err(CertError::KeyMismatch);
        }
        Ok(())
    }
}

/// Issues a chain for a test server / simulator: `root` signs an intermediate, which signs
/// the leaf `server_static`. Validity `[not_before, not_after]` in Unix seconds.
pub fn issue_chain<R: RngCore + CryptoRng>(
    root: &KeyPair,
    root_serial: u32,
    intermediate: &KeyPair,
    server_static: &[u8; 32],
    not_before: u64,
    not_after: u64,
    rng: &mut R,
) -> Vec<u8> {
    let inter_serial = root_serial.wrapping_add(1);
    let inter_d = Details {
        serial: Some(inter_serial),
        issuer_serial: Some(root_serial),
        key: Some(intermediate.public.to_vec()),
        not_before: Some(not_before),
        not_after: Some(not_after),
    }
    .encode_to_vec();
    let leaf_d = Details {
        serial: Some(inter_serial.wrapping_add(1)),
        issuer_serial: Some(inter_serial),
        key: Some(server_static.to_vec()),
        not_before: Some(not_before),
        not_after: Some(not_after),
    }
    .encode_to_vec();
    CertChain {
        intermediate: Some(NoiseCertificate {
            signature: Some(root.sign(&inter_d, rng).to_vec()),
            details: Some(inter_d),
        }),
        leaf: Some(NoiseCertificate {
            signature: Some(intermediate.sign(&leaf_d, rng).to_vec()),
            details: Some(leaf_d),
        }),
    }
    .encode_to_vec()
}
