//! App-state sync (chat actions: archive, pin, mute, star, …) crypto, pure and
//! I/O-free like whatsmeow's `appstate` package: the caller downloads patches and
//! snapshots and passes key lookups in.
//!
//! * [`keys`]: the five mutation keys expanded from an app-state sync key;
//! * [`lthash`]: the 128-byte LT-hash ("WhatsApp Patch Integrity");
//! * [`mac`]: value, index, snapshot and patch MACs;
//! * [`patch`]: decoding (verify + decrypt + LT-hash update) and encoding of patches;
//! * [`snapshot`]: whole-collection snapshots and external blobs (snapshot bodies and
//!   external mutations), fetched by the caller and verified here, and built and
//!   sealed for a server;
//! * [`sync`]: the `w:sync:app:state` stanzas (fetch, upload, answers, `server_sync`);
//! * [`actions`]: the chat actions (star, pin, archive, …) as mutations;
//! * [`key_share`]: the sync keys the phone shares with linked devices.

pub mod actions;
pub mod key_share;
pub mod keys;
pub mod lthash;
pub mod mac;
pub mod patch;
pub mod snapshot;
pub mod sync;

pub use actions::{ChatAction, MessageRef};
pub use key_share::{SyncKey, key_share_message, shared_keys};
pub use keys::MutationKeys;
pub use lthash::LtHash;
pub use patch::{
    AppStateError, CollectionState, DecodedMutation, EncodedMutation, PatchInput, decode_patch,
    encode_mutation, encode_patch, encode_patch_batch,
};
pub use snapshot::{
    decode_patch_with, decode_snapshot, decode_snapshot_reference, encode_snapshot,
    inline_external_mutations, open_external_blob, open_snapshot, seal_external_blob,
};
pub use sync::{Collection, CollectionAnswer, CollectionRequest};
