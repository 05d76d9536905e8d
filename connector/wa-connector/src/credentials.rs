//! The device's credentials as stored: a versioned JSON document with keys as hex.
//!
//! `wa-proto` keeps `Credentials` free of any serialization; the connector owns the
//! stored form so it can evolve it with a format number (the store keeps the number
//! next to the bytes and never looks inside). Decoding checks every field, so a
//! damaged row becomes a typed error instead of a device that fails mysteriously.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use wa_proto::Credentials;
use wa_proto::binary::Jid;
use wa_proto::creds::SignedPreKey;
use wa_proto::keys::KeyPair;
use wa_store::DeviceCredentials;

/// The format this binary writes (and the only one it reads).
pub const FORMAT: u32 = 1;

/// Why stored credentials could not be read back.
#[derive(Debug, Error)]
pub enum CredentialsError {
    /// Written by a newer (or foreign) encoder.
    #[error("unsupported credentials format {0}")]
    UnknownFormat(u32),
    /// Not the JSON document this format describes.
    #[error("malformed credentials document: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A field holds a value of the wrong shape (bad hex, wrong length, bad JID).
    #[error("credentials field `{0}` is invalid")]
    Field(&'static str),
}

#[derive(Serialize, Deserialize)]
struct V1 {
    noise_private: String,
    identity_private: String,
    signed_pre_key_id: u32,
    signed_pre_key_private: String,
    signed_pre_key_signature: String,
    registration_id: u32,
    adv_secret: String,
    me: Option<String>,
    lid: Option<String>,
    account: Option<String>,
    platform: Option<String>,
    business_name: Option<String>,
}

/// Encodes credentials for [`wa_store::DeviceStore::save_device`].
pub fn encode(creds: &Credentials) -> DeviceCredentials {
    let spk = &creds.signed_pre_key;
    let doc = V1 {
        noise_private: hex::encode(creds.noise_key.private_bytes()),
        identity_private: hex::encode(creds.identity_key.private_bytes()),
        signed_pre_key_id: spk.id,
        signed_pre_key_private: hex::encode(spk.key.private_bytes()),
        signed_pre_key_signature: hex::encode(spk.signature),
        registration_id: creds.registration_id,
        adv_secret: hex::encode(creds.adv_secret),
        me: creds.me.as_ref().map(ToString::to_string),
        lid: creds.lid.as_ref().map(ToString::to_string),
        account: creds.account.as_ref().map(hex::encode),
        platform: creds.platform.clone(),
        business_name: creds.business_name.clone(),
    };
    DeviceCredentials {
        format: FORMAT,
        data: serde_json::to_vec(&doc).expect("plain strings and numbers always serialize"),
    }
}

fn bytes<const N: usize>(field: &'static str, hex_str: &str) -> Result<[u8; N], CredentialsError> {
    hex::decode(hex_str)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(CredentialsError::Field(field))
}

fn jid(field: &'static str, s: Option<String>) -> Result<Option<Jid>, CredentialsError> {
    s.map(|s| s.parse::<Jid>().map_err(|_| CredentialsError::Field(field)))
        .transpose()
}

/// Decodes what [`encode`] wrote.
pub fn decode(stored: &DeviceCredentials) -> Result<Credentials, CredentialsError> {
    if stored.format != FORMAT {
        return Err(CredentialsError::UnknownFormat(stored.format));
    }
    let doc: V1 = serde_json::from_slice(&stored.data)?;
    let identity_key = KeyPair::from_private(bytes("identity_private", &doc.identity_private)?);
    Ok(Credentials {
        noise_key: KeyPair::from_private(bytes("noise_private", &doc.noise_private)?),
        signed_pre_key: SignedPreKey {
            id: doc.signed_pre_key_id,
            key: KeyPair::from_private(bytes(
                "signed_pre_key_private",
                &doc.signed_pre_key_private,
            )?),
            signature: bytes("signed_pre_key_signature", &doc.signed_pre_key_signature)?,
        },
        identity_key,
        registration_id: doc.registration_id,
        adv_secret: bytes("adv_secret", &doc.adv_secret)?,
        me: jid("me", doc.me)?,
        lid: jid("lid", doc.lid)?,
        account: doc
            .account
            .map(|a| hex::decode(a).map_err(|_| CredentialsError::Field("account")))
            .transpose()?,
        platform: doc.platform,
        business_name: doc.business_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn round_trips_every_field() {
        let mut creds = Credentials::generate(&mut OsRng);
        creds.me = Some(Jid::device("15551234567", 3, "s.whatsapp.net"));
        creds.lid = Some(Jid::device("987654321", 3, "lid"));
        creds.account = Some(vec![1, 2, 3, 250]);
        creds.platform = Some("android".into());
        creds.business_name = Some("Shop".into());
        let back = decode(&encode(&creds)).unwrap();
        assert_eq!(
            back.noise_key.private_bytes(),
            creds.noise_key.private_bytes()
        );
        assert_eq!(back.noise_key.public, creds.noise_key.public);
        assert_eq!(back.identity_key.public, creds.identity_key.public);
        assert_eq!(back.signed_pre_key.id, creds.signed_pre_key.id);
        assert_eq!(
            back.signed_pre_key.key.public,
            creds.signed_pre_key.key.public
        );
        assert_eq!(
            back.signed_pre_key.signature,
            creds.signed_pre_key.signature
        );
        assert_eq!(back.registration_id, creds.registration_id);
        assert_eq!(back.adv_secret, creds.adv_secret);
        assert_eq!(back.me, creds.me);
        assert_eq!(back.lid, creds.lid);
        assert_eq!(back.account, creds.account);
        assert_eq!(back.platform, creds.platform);
        assert_eq!(back.business_name, creds.business_name);
        // Unpaired credentials round-trip too.
        let fresh = Credentials::generate(&mut OsRng);
        assert!(!decode(&encode(&fresh)).unwrap().is_paired());
    }

    #[test]
    fn damage_is_a_typed_error() {
        let good = encode(&Credentials::generate(&mut OsRng));
        let newer = DeviceCredentials {
            format: 99,
            ..good.clone()
        };
        assert!(matches!(
            decode(&newer),
            Err(CredentialsError::UnknownFormat(99))
        ));
        let garbage = DeviceCredentials {
            format: FORMAT,
            data: b"{not json".to_vec(),
        };
        assert!(matches!(
            decode(&garbage),
            Err(CredentialsError::Malformed(_))
        ));
        let mut doc: serde_json::Value = serde_json::from_slice(&good.data).unwrap();
        doc["adv_secret"] = "abcd".into();
        let short = DeviceCredentials {
            format: FORMAT,
            data: serde_json::to_vec(&doc).unwrap(),
        };
        assert!(matches!(
            decode(&short),
            Err(CredentialsError::Field("adv_secret"))
        ));
        // Errors never carry the secret material.
        let shown = format!("{:?}", decode(&short).unwrap_err());
        assert!(!shown.contains(&doc["noise_private"].as_str().unwrap()[..16]));
    }
}
