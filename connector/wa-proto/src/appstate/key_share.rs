//! App-state sync keys: the primary phone generates them and shares them with each
//! linked device in an end-to-end `ProtocolMessage` of type
//! `APP_STATE_SYNC_KEY_SHARE` (6). Every patch names the key it is MACed and
//! encrypted with, so a device keeps all the keys it was given.

use crate::proto::message as pb;

/// `ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE`.
pub const KEY_SHARE_TYPE: i32 = 6;

/// One app-state sync key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncKey {
    /// The key id patches refer to.
    pub id: Vec<u8>,
    /// The key material the mutation keys are expanded from.
    pub data: Vec<u8>,
    /// When the phone created it (ms); the newest key is the one to send with.
    pub timestamp: i64,
}

/// The keys a decrypted message shares, when it is an app-state key share; `None`
/// for every other message. Keys without an id or data are dropped.
pub fn shared_keys(message: &pb::Message) -> Option<Vec<SyncKey>> {
    let protocol = message.protocol_message.as_deref()?;
    if protocol.r#type != Some(KEY_SHARE_TYPE) {
        return None;
    }
    let share = protocol.app_state_sync_key_share.as_ref()?;
    Some(
        share
            .keys
            .iter()
            .filter_map(|k| {
                let id = k.key_id.as_ref()?.key_id.clone()?;
                let data = k.key_data.as_ref()?;
                Some(SyncKey {
                    id,
                    data: data.key_data.clone()?,
                    timestamp: data.timestamp.unwrap_or(0),
                })
            })
            .collect(),
    )
}

/// The message a primary device sends its linked devices to share `keys` (the
/// simulator plays the phone with it).
pub fn key_share_message(keys: &[SyncKey]) -> pb::Message {
    let keys = keys
        .iter()
        .map(|k| pb::message::AppStateSyncKey {
            key_id: Some(pb::message::AppStateSyncKeyId {
                key_id: Some(k.id.clone()),
            }),
            key_data: Some(pb::message::AppStateSyncKeyData {
                key_data: Some(k.data.clone()),
                fingerprint: None,
                timestamp: Some(k.timestamp),
            }),
        })
        .collect();
    pb::Message {
        protocol_message: Some(Box::new(pb::message::ProtocolMessage {
            r#type: Some(KEY_SHARE_TYPE),
            app_state_sync_key_share: Some(pb::message::AppStateSyncKeyShare { keys }),
            ..Default::default()
        })),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn share_round_trips_through_the_wire() {
        let keys = vec![
            SyncKey {
                id: vec![0, 0, 1, 2, 3, 4],
                data: vec![5; 32],
                timestamp: 1_700_000_000_000,
            },
            SyncKey {
                id: vec![0, 0, 1, 2, 3, 5],
                data: vec![6; 32],
                timestamp: 1_700_000_001_000,
            },
        ];
        let bytes = key_share_message(&keys).encode_to_vec();
        let decoded = pb::Message::decode(bytes.as_slice()).unwrap();
        assert_eq!(shared_keys(&decoded), Some(keys));
    }

    #[test]
    fn field_numbers_match_the_wire_format() {
        // ProtocolMessage (12) { type (2) = 6, appStateSyncKeyShare (7) { keys (1) {
        // keyId (1) { keyId (1) = 0x01 }, keyData (2) { keyData (1) = 0x02, timestamp (3) = 3 } } } }
        let share = key_share_message(&[SyncKey {
            id: vec![1],
            data: vec![2],
            timestamp: 3,
        }])
        .encode_to_vec();
        let key = [
            0x0a, 0x03, 0x0a, 0x01, 0x01, // keyId
            0x12, 0x05, 0x0a, 0x01, 0x02, 0x18, 0x03, // keyData
        ];
        let mut expected = vec![0x62, 2 + 2 + 2 + key.len() as u8, 0x10, 0x06, 0x3a];
        expected.push(2 + key.len() as u8);
        expected.extend([0x0a, key.len() as u8]);
        expected.extend(key);
        assert_eq!(share, expected);
    }

    #[test]
    fn other_messages_share_nothing() {
        let revoke = pb::Message {
            protocol_message: Some(Box::new(pb::message::ProtocolMessage {
                r#type: Some(0),
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(shared_keys(&revoke), None);
        assert_eq!(shared_keys(&pb::Message::default()), None);
        let keyless = pb::Message {
            protocol_message: Some(Box::new(pb::message::ProtocolMessage {
                r#type: Some(KEY_SHARE_TYPE),
                app_state_sync_key_share: Some(pb::message::AppStateSyncKeyShare {
                    keys: vec![pb::message::AppStateSyncKey::default()],
                }),
                ..Default::default()
            })),
            ..Default::default()
        };
        assert_eq!(shared_keys(&keyless), Some(Vec::new()));
    }
}
