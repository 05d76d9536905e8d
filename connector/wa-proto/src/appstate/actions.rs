//! The chat actions the gateway sends and understands, as app-state mutations:
//! which collection each lives in, its index (the JSON array the index MAC is
//! computed over), its action value and API version. These are WhatsApp's facts;
//! a device that gets one wrong is ignored by the phone.
//!
//! | action | collection | index | version |
//! |---|---|---|---|
//! | star | `regular_high` | `["star", chat, id, fromMe, participant]` | 2 |
//! | delete for me | `regular_high` | `["deleteMessageForMe", chat, id, fromMe, participant]` | 3 |
//! | pin | `regular_low` | `["pin_v1", chat]` | 5 |
//! | archive | `regular_low` | `["archive", chat]` | 3 |
//! | push name | `critical_block` | `["setting_pushName"]` | 1 |
//!
//! `fromMe` is `"1"`/`"0"`; `participant` is the sender in a group for a message
//! not from us, else `"0"`.

use super::mac::Operation;
use super::patch::{DecodedMutation, PatchInput};
use super::sync::Collection;
use crate::proto::appstate as pb;

/// The message a per-message action is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    /// The chat JID (user or group), as text.
    pub chat: String,
    /// The message id.
    pub id: String,
    /// Whether we sent it.
    pub from_me: bool,
    /// The sender in a group, for a message not from us.
    pub participant: Option<String>,
}

impl MessageRef {
    fn index_tail(&self) -> [String; 4] {
        let participant = match (&self.participant, self.from_me) {
            (Some(p), false) => p.clone(),
            _ => "0".to_owned(),
        };
        [
            self.chat.clone(),
            self.id.clone(),
            if self.from_me { "1" } else { "0" }.to_owned(),
            participant,
        ]
    }

    fn from_index(parts: &[String]) -> Option<Self> {
        let [chat, id, from_me, participant] = parts else {
            return None;
        };
        Some(MessageRef {
            chat: chat.clone(),
            id: id.clone(),
            from_me: from_me == "1",
            participant: (participant != "0").then(|| participant.clone()),
        })
    }
}

/// One chat action, sent as a SET mutation or read from one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatAction {
    /// Star or unstar a message.
    Star {
        /// The message.
        message: MessageRef,
        /// Starred after the action.
        starred: bool,
    },
    /// Delete a message on our devices only.
    DeleteForMe {
        /// The message.
        message: MessageRef,
        /// The message's timestamp (seconds).
        message_timestamp: i64,
        /// Also delete its downloaded media.
        delete_media: bool,
    },
    /// Pin or unpin a chat.
    Pin {
        /// The chat JID.
        chat: String,
        /// Pinned after the action.
        pinned: bool,
    },
    /// Archive or unarchive a chat.
    Archive {
        /// The chat JID.
        chat: String,
        /// Archived after the action.
        archived: bool,
    },
    /// The account's push name (the name others see).
    PushName {
        /// The new name.
        name: String,
    },
}

impl ChatAction {
    /// The collection WhatsApp keeps this action in.
    pub fn collection(&self) -> Collection {
        match self {
            ChatAction::Star { .. } | ChatAction::DeleteForMe { .. } => Collection::RegularHigh,
            ChatAction::Pin { .. } | ChatAction::Archive { .. } => Collection::RegularLow,
            ChatAction::PushName { .. } => Collection::CriticalBlock,
        }
    }

    /// The action's API version (`SyncActionData.version`).
    pub fn api_version(&self) -> i32 {
        match self {
            ChatAction::Star { .. } => 2,
            ChatAction::DeleteForMe { .. } | ChatAction::Archive { .. } => 3,
            ChatAction::Pin { .. } => 5,
            ChatAction::PushName { .. } => 1,
        }
    }

    /// The index as its parts.
    pub fn index(&self) -> Vec<String> {
        let head = |s: &str, rest: &[String]| {
            std::iter::once(s.to_owned())
                .chain(rest.iter().cloned())
                .collect()
        };
        match self {
            ChatAction::Star { message, .. } => head("star", &message.index_tail()),
            ChatAction::DeleteForMe { message, .. } => {
                head("deleteMessageForMe", &message.index_tail())
            }
            ChatAction::Pin { chat, .. } => head("pin_v1", std::slice::from_ref(chat)),
            ChatAction::Archive { chat, .. } => head("archive", std::slice::from_ref(chat)),
            ChatAction::PushName { .. } => head("setting_pushName", &[]),
        }
    }

    /// The index as the JSON bytes the index MAC covers (`["pin_v1","…"]`).
    pub fn index_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.index()).expect("strings serialize")
    }

    /// The action value, stamped `timestamp_ms` (when the user acted).
    pub fn value(&self, timestamp_ms: i64) -> pb::SyncActionValue {
        use pb::sync_action_value as v;
        let mut value = pb::SyncActionValue {
            timestamp: Some(timestamp_ms),
            ..Default::default()
        };
        match self {
            ChatAction::Star { starred, .. } => {
                value.star_action = Some(v::StarAction {
                    starred: Some(*starred),
                });
            }
            ChatAction::DeleteForMe {
                message_timestamp,
                delete_media,
                ..
            } => {
                value.delete_message_for_me_action = Some(v::DeleteMessageForMeAction {
                    delete_media: Some(*delete_media),
                    message_timestamp: Some(*message_timestamp),
                });
            }
            ChatAction::Pin { pinned, .. } => {
                value.pin_action = Some(v::PinAction {
                    pinned: Some(*pinned),
                });
            }
            ChatAction::Archive { archived, .. } => {
                value.archive_chat_action = Some(v::ArchiveChatAction {
                    archived: Some(*archived),
                    message_range: None,
                });
            }
            ChatAction::PushName { name } => {
                value.push_name_setting = Some(v::PushNameSetting {
                    name: Some(name.clone()),
                });
            }
        }
        value
    }

    /// The mutation to encode with [`encode_patch`](super::encode_patch); `index`
    /// must be [`index_json`](Self::index_json) (borrowed from the caller).
    pub fn patch_input<'a>(&self, index: &'a [u8], timestamp_ms: i64) -> PatchInput<'a> {
        PatchInput {
            name: self.collection().name(),
            index,
            value: self.value(timestamp_ms),
            api_version: self.api_version(),
            operation: Operation::Set,
        }
    }

    /// Reads a decoded mutation as a chat action; `None` for REMOVEs, actions this
    /// gateway does not keep (mute, labels, …) and malformed indexes.
    pub fn from_mutation(m: &DecodedMutation) -> Option<Self> {
        if m.operation != Operation::Set {
            return None;
        }
        let parts: Vec<String> = serde_json::from_str(&m.index).ok()?;
        let (kind, rest) = parts.split_first()?;
        let value = m.action.value.as_ref()?;
        Some(match kind.as_str() {
            "star" => ChatAction::Star {
                message: MessageRef::from_index(rest)?,
                starred: value.star_action.as_ref()?.starred.unwrap_or(false),
            },
            "deleteMessageForMe" => {
                let action = value.delete_message_for_me_action.as_ref()?;
                ChatAction::DeleteForMe {
                    message: MessageRef::from_index(rest)?,
                    message_timestamp: action.message_timestamp.unwrap_or(0),
                    delete_media: action.delete_media.unwrap_or(false),
                }
            }
            "pin_v1" => ChatAction::Pin {
                chat: single(rest)?,
                pinned: value.pin_action.as_ref()?.pinned.unwrap_or(false),
            },
            "archive" => ChatAction::Archive {
                chat: single(rest)?,
                archived: value
                    .archive_chat_action
                    .as_ref()?
                    .archived
                    .unwrap_or(false),
            },
            "setting_pushName" if rest.is_empty() => ChatAction::PushName {
                name: value.push_name_setting.as_ref()?.name.clone()?,
            },
            _ => return None,
        })
    }
}

fn single(parts: &[String]) -> Option<String> {
    match parts {
        [one] => Some(one.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appstate::{CollectionState, decode_patch, encode_patch};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn msg(from_me: bool, participant: Option<&str>) -> MessageRef {
        MessageRef {
            chat: "120363000000000001@g.us".into(),
            id: "3EB0AA".into(),
            from_me,
            participant: participant.map(str::to_owned),
        }
    }

    fn all_actions() -> Vec<ChatAction> {
        vec![
            ChatAction::Star {
                message: msg(false, Some("491701111111@s.whatsapp.net")),
                starred: true,
            },
            ChatAction::DeleteForMe {
                message: msg(true, None),
                message_timestamp: 1_700_000_000,
                delete_media: true,
            },
            ChatAction::Pin {
                chat: "491702222222@s.whatsapp.net".into(),
                pinned: true,
            },
            ChatAction::Archive {
                chat: "491702222222@s.whatsapp.net".into(),
                archived: false,
            },
            ChatAction::PushName {
                name: "Gateway".into(),
            },
        ]
    }

    #[test]
    fn indexes_collections_and_versions() {
        let [star, delete, pin, archive, push] = &all_actions()[..] else {
            unreachable!()
        };
        assert_eq!(
            String::from_utf8(star.index_json()).unwrap(),
            r#"["star","120363000000000001@g.us","3EB0AA","0","491701111111@s.whatsapp.net"]"#
        );
        assert_eq!(
            delete.index(),
            [
                "deleteMessageForMe",
                "120363000000000001@g.us",
                "3EB0AA",
                "1",
                "0"
            ]
        );
        assert_eq!(
            String::from_utf8(pin.index_json()).unwrap(),
            r#"["pin_v1","491702222222@s.whatsapp.net"]"#
        );
        assert_eq!(archive.index()[0], "archive");
        assert_eq!(push.index(), ["setting_pushName"]);
        let meta: Vec<_> = all_actions()
            .iter()
            .map(|a| (a.collection(), a.api_version()))
            .collect();
        assert_eq!(
            meta,
            [
                (Collection::RegularHigh, 2),
                (Collection::RegularHigh, 3),
                (Collection::RegularLow, 5),
                (Collection::RegularLow, 3),
                (Collection::CriticalBlock, 1),
            ]
        );
        // Our own message never names a participant, even if one is given.
        let own = ChatAction::Star {
            message: msg(true, Some("491701111111@s.whatsapp.net")),
            starred: true,
        };
        assert_eq!(own.index()[4], "0");
    }

    #[test]
    fn every_action_survives_encode_and_decode() {
        let key_id = b"key-1".to_vec();
        let key_data = vec![9u8; 32];
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for action in all_actions() {
            let index = action.index_json();
            let input = action.patch_input(&index, 1_700_000_000_123);
            let state = CollectionState::default();
            let (mut patch, after) =
                encode_patch(&input, &key_id, &key_data, &state, &mut rng).unwrap();
            patch.version = Some(pb::SyncdVersion {
                version: Some(after.version),
            });
            let (decoded_state, mutations) =
                decode_patch(&patch, action.collection().name(), &state, |id| {
                    (id == key_id.as_slice()).then(|| key_data.clone())
                })
                .unwrap();
            assert_eq!(decoded_state, after);
            assert_eq!(mutations[0].action.version, Some(action.api_version()));
            assert_eq!(
                mutations[0].action.value.as_ref().unwrap().timestamp,
                Some(1_700_000_000_123)
            );
            assert_eq!(ChatAction::from_mutation(&mutations[0]), Some(action));
        }
    }

    #[test]
    fn unknown_removed_and_malformed_mutations_are_skipped() {
        let pin = &all_actions()[2];
        let mutation = |index: &str, op| DecodedMutation {
            operation: op,
            index: index.into(),
            action: pb::SyncActionData {
                value: Some(pin.value(1)),
                ..Default::default()
            },
        };
        let good = mutation(
            r#"["pin_v1","491702222222@s.whatsapp.net"]"#,
            Operation::Set,
        );
        assert_eq!(ChatAction::from_mutation(&good).as_ref(), Some(pin));
        for m in [
            mutation(
                r#"["pin_v1","491702222222@s.whatsapp.net"]"#,
                Operation::Remove,
            ),
            mutation(r#"["mute","491702222222@s.whatsapp.net"]"#, Operation::Set),
            mutation(r#"["pin_v1"]"#, Operation::Set),
            mutation("not json", Operation::Set),
            mutation(r#"["star","a@s.whatsapp.net","id"]"#, Operation::Set),
        ] {
            assert_eq!(ChatAction::from_mutation(&m), None, "{}", m.index);
        }
    }
}
