//! What a decrypted `Message` is, for storage and events ([`summarize`](crate::content::summarize)), and the
//! messages the gateway sends (text, media, sender-key distribution).

use crate::binary::Jid;
use crate::media::MediaType;
use crate::proto::message::Message;
use crate::proto::message::message::{
    AudioMessage, DocumentMessage, ImageMessage, SenderKeyDistributionMessage, StickerMessage,
    VideoMessage,
};

/// A media attachment's download reference: everything needed to fetch and decrypt it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRef {
    /// Selects the key derivation (and upload path).
    pub media_type: MediaType,
    /// MIME type as the sender declared it.
    pub mimetype: Option<String>,
    /// Server path of the encrypted blob (combine with a media host).
    pub direct_path: Option<String>,
    /// Full URL, when the sender gave one.
    pub url: Option<String>,
    /// The media key (secret; empty if the sender sent none).
    pub media_key: Vec<u8>,
    /// SHA-256 of the plain file.
    pub file_sha256: Option<Vec<u8>>,
    /// SHA-256 of the encrypted blob.
    pub file_enc_sha256: Option<Vec<u8>>,
    /// Plain size in bytes.
    pub file_length: Option<u64>,
    /// Document file name.
    pub file_name: Option<String>,
    /// Audio / video duration.
    pub seconds: Option<u32>,
    /// True for voice notes.
    pub ptt: bool,
}

/// What a message is, flattened for a database row or an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `text`, `image`, `audio`, `video`, `document`, `sticker`, `location`,
    /// `contact`, `poll`, `reaction`,
    /// `protocol` (edit, revoke, …), `sender_key_distribution` (key material only) or
    /// `unknown`.
    pub kind: &'static str,
    /// The text, caption or reaction emoji (for an edit, the new text).
    pub text: Option<String>,
    /// The attachment, for media kinds.
    pub media: Option<MediaRef>,
}

/// The message inside a view-once wrapper (v1, v2 or its extension), if `msg` is one.
pub fn view_once_inner(msg: &Message) -> Option<&Message> {
    [
        &msg.view_once_message,
        &msg.view_once_message_v2,
        &msg.view_once_message_v2_extension,
    ]
    .into_iter()
    .find_map(|wrapper| wrapper.as_ref().and_then(|w| w.message.as_deref()))
}

fn non_empty(s: Option<&String>) -> Option<String> {
    s.filter(|s| !s.is_empty()).cloned()
}

/// Classifies `msg`. A `DeviceSentMessage` and the view-once wrappers are
/// looked through; a sender-key distribution riding along with content is
/// ignored (the content is what the message is).
pub fn summarize(msg: &Message) -> Summary {
    if let Some(inner) = msg
        .device_sent_message
        .as_ref()
        .and_then(|d| d.message.as_deref())
        .or_else(|| view_once_inner(msg))
    {
        return summarize(inner);
    }
    let summary = |kind, text, media| Summary { kind, text, media };
    let media_ref = |media_type, fields: MediaFields<'_>| MediaRef {
        media_type,
        mimetype: fields.mimetype.cloned(),
        direct_path: fields.direct_path.cloned(),
        url: fields.url.cloned(),
        media_key: fields.media_key.cloned().unwrap_or_default(),
        file_sha256: fields.file_sha256.cloned(),
        file_enc_sha256: fields.file_enc_sha256.cloned(),
        file_length: fields.file_length,
        file_name: None,
        seconds: None,
        ptt: false,
    };
    if let Some(t) = &msg.conversation {
        return summary("text", Some(t.clone()), None);
    }
    if let Some(t) = &msg.extended_text_message {
        return summary("text", t.text.clone(), None);
    }
    if let Some(m) = &msg.image_message {
        let r = media_ref(MediaType::Image, MediaFields::image(m));
        return summary("image", non_empty(m.caption.as_ref()), Some(r));
    }
    if let Some(m) = &msg.video_message {
        let r = MediaRef {
            seconds: m.seconds,
            ..media_ref(MediaType::Video, MediaFields::video(m))
        };
        return summary("video", non_empty(m.caption.as_ref()), Some(r));
    }
    if let Some(m) = &msg.audio_message {
        let r = MediaRef {
            seconds: m.seconds,
            ptt: m.ptt(),
            ..media_ref(MediaType::Audio, MediaFields::audio(m))
        };
        return summary("audio", None, Some(r));
    }
    if let Some(m) = &msg.document_message {
        let r = MediaRef {
            file_name: m.file_name.clone(),
            ..media_ref(MediaType::Document, MediaFields::document(m))
        };
        return summary("document", non_empty(m.caption.as_ref()), Some(r));
    }
    if let Some(m) = &msg.sticker_message {
        let r = media_ref(MediaType::Sticker, MediaFields::sticker(m));
        return summary("sticker", None, Some(r));
    }
    if let Some(l) = &msg.location_message {
        return summary("location", non_empty(l.name.as_ref()), None);
    }
    if let Some(c) = &msg.contact_message {
        return summary("contact", non_empty(c.display_name.as_ref()), None);
    }
    if let Some(p) = &msg.poll_creation_message {
        return summary("poll", non_empty(p.name.as_ref()), None);
    }
    if let Some(r) = &msg.reaction_message {
        return summary("reaction", r.text.clone(), None);
    }
    if let Some(p) = &msg.protocol_message {
        let text = p.edited_message.as_deref().and_then(|m| summarize(m).text);
        return summary("protocol", text, None);
    }
    if let Some(e) = msg
        .edited_message
        .as_ref()
        .and_then(|f| f.message.as_deref())
    {
        return summary("protocol", summarize(e).text, None);
    }
    if msg.sender_key_distribution_message.is_some() {
        return summary("sender_key_distribution", None, None);
    }
    summary("unknown", None, None)
}

/// The download fields every media message has, under their per-type field numbers.
struct MediaFields<'a> {
    mimetype: Option<&'a String>,
    direct_path: Option<&'a String>,
    url: Option<&'a String>,
    media_key: Option<&'a Vec<u8>>,
    file_sha256: Option<&'a Vec<u8>>,
    file_enc_sha256: Option<&'a Vec<u8>>,
    file_length: Option<u64>,
}

/// One constructor per media message type, all reading the same named fields.
macro_rules! media_fields {
    ($($name:ident: $ty:ty),* $(,)?) => {
        impl<'a> MediaFields<'a> {
            $(
                fn $name(m: &'a $ty) -> Self {
                    Self {
                        mimetype: m.mimetype.as_ref(),
                        direct_path: m.direct_path.as_ref(),
                        url: m.url.as_ref(),
                        media_key: m.media_key.as_ref(),
                        file_sha256: m.file_sha256.as_ref(),
                        file_enc_sha256: m.file_enc_sha256.as_ref(),
                        file_length: m.file_length,
                    }
                }
            )*
        }
    };
}

media_fields!(
    image: ImageMessage,
    video: VideoMessage,
    audio: AudioMessage,
    document: DocumentMessage,
    sticker: StickerMessage,
);

/// A plain text message.
pub fn text_message(text: impl Into<String>) -> Message {
    Message {
        conversation: Some(text.into()),
        ..Message::default()
    }
}

/// Which media message to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaKind {
    /// A photo.
    Image,
    /// A video.
    Video,
    /// Audio; `ptt` makes it a voice note.
    Audio {
        /// Push-to-talk (voice note) rather than an audio file.
        ptt: bool,
    },
    /// A file, shown with its name.
    Document {
        /// The name recipients see.
        file_name: String,
    },
    /// A sticker (WebP).
    Sticker,
}

impl MediaKind {
    /// The media type whose keys encrypt it and whose path uploads it.
    pub fn media_type(&self) -> MediaType {
        match self {
            Self::Image => MediaType::Image,
            Self::Video => MediaType::Video,
            Self::Audio { .. } => MediaType::Audio,
            Self::Document { .. } => MediaType::Document,
            Self::Sticker => MediaType::Sticker,
        }
    }
}

/// An encrypted file as uploaded: where it is and how to decrypt and verify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedMedia {
    /// The URL the upload answer gave.
    pub url: String,
    /// The direct path the upload answer gave.
    pub direct_path: String,
    /// The media key the file was encrypted with.
    pub media_key: [u8; 32],
    /// SHA-256 of the plain file.
    pub file_sha256: [u8; 32],
    /// SHA-256 of the uploaded (encrypted) body.
    pub file_enc_sha256: [u8; 32],
    /// Plain size in bytes.
    pub file_length: u64,
    /// MIME type.
    pub mimetype: String,
}

/// Optional presentation details of a media message (unset ones are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaExtra {
    /// Duration of audio / video.
    pub seconds: Option<u32>,
    /// Pixel width (image, video, sticker).
    pub width: Option<u32>,
    /// Pixel height (image, video, sticker).
    pub height: Option<u32>,
    /// Voice-note waveform (64 samples, 0..=100).
    pub waveform: Option<Vec<u8>>,
    /// A small JPEG preview (image, video, document).
    pub thumbnail: Option<Vec<u8>>,
}

/// A media message for an uploaded file. `caption` applies to images, videos and
/// documents (audio and stickers have none).
pub fn media_message(
    kind: MediaKind,
    upload: &UploadedMedia,
    caption: Option<String>,
    extra: MediaExtra,
) -> Message {
    let u = upload;
    let (url, direct_path, mimetype) = (
        Some(u.url.clone()),
        Some(u.direct_path.clone()),
        Some(u.mimetype.clone()),
    );
    let (media_key, file_sha256, file_enc_sha256) = (
        Some(u.media_key.to_vec()),
        Some(u.file_sha256.to_vec()),
        Some(u.file_enc_sha256.to_vec()),
    );
    let file_length = Some(u.file_length);
    let mut msg = Message::default();
    match kind {
        MediaKind::Image => {
            msg.image_message = Some(Box::new(ImageMessage {
                url,
                mimetype,
                caption,
                file_sha256,
                file_length,
                height: extra.height,
                width: extra.width,
                media_key,
                file_enc_sha256,
                direct_path,
                jpeg_thumbnail: extra.thumbnail,
                ..Default::default()
            }));
        }
        MediaKind::Video => {
            msg.video_message = Some(Box::new(VideoMessage {
                url,
                mimetype,
                file_sha256,
                file_length,
                seconds: extra.seconds,
                media_key,
                caption,
                height: extra.height,
                width: extra.width,
                file_enc_sha256,
                direct_path,
                jpeg_thumbnail: extra.thumbnail,
                ..Default::default()
            }));
        }
        MediaKind::Audio { ptt } => {
            msg.audio_message = Some(Box::new(AudioMessage {
                url,
                mimetype,
                file_sha256,
                file_length,
                seconds: extra.seconds,
                ptt: Some(ptt),
                media_key,
                file_enc_sha256,
                direct_path,
                waveform: extra.waveform,
                ..Default::default()
            }));
        }
        MediaKind::Document { file_name } => {
            msg.document_message = Some(Box::new(DocumentMessage {
                url,
                mimetype,
                file_sha256,
                file_length,
                media_key,
                file_name: Some(file_name),
                file_enc_sha256,
                direct_path,
                jpeg_thumbnail: extra.thumbnail,
                caption,
                ..Default::default()
            }));
        }
        MediaKind::Sticker => {
            msg.sticker_message = Some(Box::new(StickerMessage {
                url,
                file_sha256,
                file_enc_sha256,
                media_key,
                mimetype,
                height: extra.height,
                width: extra.width,
                direct_path,
                file_length,
                ..Default::default()
            }));
        }
    }
    msg
}

/// The pairwise message that hands our sender key for `group` to a member device
/// (`skdm_bytes`: a serialized `SenderKeyDistributionMessage`).
pub fn skdm_message(group: &Jid, skdm_bytes: &[u8]) -> Message {
    Message {
        sender_key_distribution_message: Some(SenderKeyDistributionMessage {
            group_id: Some(group.to_string()),
            axolotl_sender_key_distribution_message: Some(skdm_bytes.to_vec()),
        }),
        ..Message::default()
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::proto::message::message::{
        DeviceSentMessage, ExtendedTextMessage, FutureProofMessage, ProtocolMessage,
        ReactionMessage,
    };

    fn upload() -> UploadedMedia {
        UploadedMedia {
            url: "https://mmg.whatsapp.net/v/t62/abc".into(),
            direct_path: "/v/t62/abc?oh=1".into(),
            media_key: [1; 32],
            file_sha256: [2; 32],
            file_enc_sha256: [3; 32],
            file_length: 1234,
            mimetype: "image/jpeg".into(),
        }
    }

    /// Through protobuf bytes, as a peer would receive it.
    fn reparse(m: &Message) -> Message {
        Message::decode(m.encode_to_vec().as_slice()).unwrap()
    }

    #[test]
    fn media_messages_summarize_back() {
        let extra = MediaExtra {
            seconds: Some(7),
            width: Some(640),
            height: Some(480),
            waveform: Some(vec![5; 64]),
            thumbnail: Some(vec![0xff, 0xd8]),
        };
        let cases = [
            (MediaKind::Image, "image", Some("look")),
            (MediaKind::Video, "video", Some("look")),
            (MediaKind::Audio { ptt: true }, "audio", None),
            (
                MediaKind::Document {
                    file_name: "a.pdf".into(),
                },
                "document",
                Some("look"),
            ),
            (MediaKind::Sticker, "sticker", None),
        ];
        for (kind, name, text) in cases {
            let mt = kind.media_type();
            let msg = reparse(&media_message(
                kind.clone(),
                &upload(),
                Some("look".into()),
                extra.clone(),
            ));
            let s = summarize(&msg);
            assert_eq!(s.kind, name);
            assert_eq!(s.text.as_deref(), text, "{name}");
            let r = s.media.expect("media");
            assert_eq!(r.media_type, mt);
            assert_eq!(r.media_key, vec![1; 32]);
            assert_eq!(r.file_sha256, Some(vec![2; 32]));
            assert_eq!(r.file_enc_sha256, Some(vec![3; 32]));
            assert_eq!(r.file_length, Some(1234));
            assert_eq!(r.direct_path.as_deref(), Some("/v/t62/abc?oh=1"));
            assert_eq!(r.url.as_deref(), Some("https://mmg.whatsapp.net/v/t62/abc"));
            assert_eq!(r.mimetype.as_deref(), Some("image/jpeg"));
            match kind {
                MediaKind::Audio { .. } => {
                    assert!(r.ptt);
                    assert_eq!(r.seconds, Some(7));
                    assert_eq!(msg.audio_message.unwrap().waveform, Some(vec![5; 64]));
                }
                MediaKind::Document { .. } => assert_eq!(r.file_name.as_deref(), Some("a.pdf")),
                MediaKind::Video => assert_eq!(r.seconds, Some(7)),
                MediaKind::Image => {
                    let i = msg.image_message.unwrap();
                    assert_eq!((i.width, i.height), (Some(640), Some(480)));
                    assert_eq!(i.jpeg_thumbnail, Some(vec![0xff, 0xd8]));
                }
                MediaKind::Sticker => assert_eq!(msg.sticker_message.unwrap().width, Some(640)),
            }
        }
    }

    #[test]
    fn text_kinds() {
        let s = summarize(&reparse(&text_message("hello")));
        assert_eq!(
            (s.kind, s.text.as_deref(), s.media),
            ("text", Some("hello"), None)
        );
        let ext = Message {
            extended_text_message: Some(Box::new(ExtendedTextMessage {
                text: Some("quoted reply".into()),
                ..Default::default()
            })),
            ..Message::default()
        };
        assert_eq!(summarize(&ext).text.as_deref(), Some("quoted reply"));
        let reaction = Message {
            reaction_message: Some(ReactionMessage {
                text: Some("👍".into()),
                ..Default::default()
            }),
            ..Message::default()
        };
        let s = summarize(&reaction);
        assert_eq!((s.kind, s.text.as_deref()), ("reaction", Some("👍")));
        let edit = Message {
            protocol_message: Some(Box::new(ProtocolMessage {
                r#type: Some(14),
                edited_message: Some(Box::new(text_message("fixed"))),
                ..Default::default()
            })),
            ..Message::default()
        };
        let s = summarize(&edit);
        assert_eq!((s.kind, s.text.as_deref()), ("protocol", Some("fixed")));
        let future = Message {
            edited_message: Some(Box::new(FutureProofMessage {
                message: Some(Box::new(edit)),
            })),
            ..Message::default()
        };
        assert_eq!(summarize(&future).text.as_deref(), Some("fixed"));
        assert_eq!(summarize(&Message::default()).kind, "unknown");
    }

    #[test]
    fn key_material_and_wrappers() {
        let group = Jid::new("120363000000000001", "g.us");
        let skdm = skdm_message(&group, &[0x33, 1, 2]);
        let d = skdm.sender_key_distribution_message.as_ref().unwrap();
        assert_eq!(d.group_id.as_deref(), Some("120363000000000001@g.us"));
        assert_eq!(
            d.axolotl_sender_key_distribution_message.as_deref(),
            Some(&[0x33, 1, 2][..])
        );
        assert_eq!(summarize(&skdm).kind, "sender_key_distribution");
        // Distribution riding along with content: the content wins.
        let both = Message {
            conversation: Some("hi all".into()),
            ..skdm
        };
        assert_eq!(summarize(&both).kind, "text");
        let dsm = Message {
            device_sent_message: Some(Box::new(DeviceSentMessage {
                destination_jid: Some("1@s.whatsapp.net".into()),
                message: Some(Box::new(text_message("from my phone"))),
                phash: None,
            })),
            ..Message::default()
        };
        assert_eq!(summarize(&dsm).text.as_deref(), Some("from my phone"));
    }
}
