//! One account's messaging state, shared by the connection's event handler (receive)
//! and the outbox worker (send): the store, the Signal cache, the credentials of the
//! current login, and the wake-up for new sends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use prost::Message as _;
use rand_core::OsRng;
use thiserror::Error;
use tokio::sync::{Notify, Semaphore};
use tracing::Instrument;
use wa_media::DynMediaStore;
use wa_proto::Credentials;
use wa_proto::binary::Jid;
use wa_proto::content;
use wa_proto::proto::message::Message;
use wa_proto::send::generate_message_id;
use wa_store::{
    AccountId, DynStore, MediaInfo, MessageStatus, NewMessage, StoreError, StoredMessage,
};

use crate::media_http::MediaHttp;
use crate::requests::Requester;
use crate::signal_state::SignalCache;

/// Media downloads one account runs at once.
const MAX_CONCURRENT_DOWNLOADS: usize = 4;

/// Undecryptable message ids whose retries are counted (oldest forgotten first).
const MAX_TRACKED_RETRIES: usize = 1024;

/// Why a send could not be accepted.
#[derive(Debug, Error)]
pub enum SendRequestError {
    /// The account is not linked yet (no JID to send from).
    #[error("the account is not linked")]
    NotLinked,
    /// The recipient is not a user or group JID.
    #[error("invalid recipient `{0}`")]
    InvalidRecipient(String),
    /// The store refused or failed (a duplicate id is a `Conflict`).
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// See the module docs.
pub struct Messaging {
    /// The store everything is committed to.
    pub store: DynStore,
    /// The account.
    pub account: AccountId,
    /// Signal records in memory (lock order: take it last, never across a request).
    pub signal: Arc<tokio::sync::Mutex<SignalCache>>,
    /// Wakes the outbox worker after an enqueue or a login.
    pub outbox_wake: Notify,
    /// Media hosts and the HTTP client for uploads and downloads (shared with
    /// app-state sync, which downloads snapshots).
    pub media_http: Arc<MediaHttp>,
    /// Requests on the account's connection (iqs, sends).
    pub requester: Requester,
    /// Where sends and receipts of messages are counted.
    pub metrics: crate::metrics::Metrics,
    /// The account's app-state (chat actions) syncing and pushing.
    pub app_state: Arc<crate::appstate::AppStateSync>,
    /// Where downloaded media go, and whether received media are fetched at once.
    media: Option<DynMediaStore>,
    auto_download: bool,
    downloads: Arc<Semaphore>,
    credentials: Mutex<Option<Arc<Credentials>>>,
    retries: Mutex<HashMap<String, u32>>,
    resends: Mutex<VecDeque<Resend>>,
}

/// A peer device asked (with a retry receipt) for one of our messages again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resend {
    /// The chat the message was sent to.
    pub chat: String,
    /// The message id.
    pub id: String,
    /// The device that could not decrypt it.
    pub device: Jid,
}

/// Resend requests kept waiting at most (a flood of retry receipts drops the oldest).
const MAX_PENDING_RESENDS: usize = 1024;

impl std::fmt::Debug for Messaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messaging")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl Messaging {
    /// Messaging for `account` over `store`, with the chat server at `server_url`
    /// (it decides the media scheme); idle until credentials are set.
    pub fn new(
        store: DynStore,
        account: AccountId,
        server_url: &str,
        requester: Requester,
        media: Option<DynMediaStore>,
        auto_download: bool,
        metrics: crate::metrics::Metrics,
    ) -> Self {
        let media_http = Arc::new(MediaHttp::new(server_url));
        let app_state = Arc::new(crate::appstate::AppStateSync::new(
            store.clone(),
            account.clone(),
            requester.clone(),
            Arc::clone(&media_http),
        ));
        Self {
            store,
            account,
            metrics,
            app_state,
            media_http,
            requester,
            media,
            auto_download,
            downloads: Arc::new(Semaphore::new(MAX_CONCURRENT_DOWNLOADS)),
            signal: Arc::new(tokio::sync::Mutex::new(SignalCache::default())),
            outbox_wake: Notify::new(),
            credentials: Mutex::new(None),
            retries: Mutex::new(HashMap::new()),
            resends: Mutex::new(VecDeque::new()),
        }
    }

    /// The same, with media transfers made by a client built from `config`
    /// (for the chat server at `server_url`).
    #[must_use]
    pub fn with_http_client(
        mut self,
        server_url: &str,
        config: &crate::http_client::HttpClientConfig,
    ) -> Self {
        self.media_http = Arc::new(MediaHttp::with_config(server_url, config));
        self.app_state = Arc::new(crate::appstate::AppStateSync::new(
            self.store.clone(),
            self.account.clone(),
            self.requester.clone(),
            Arc::clone(&self.media_http),
        ));
        self
    }

    /// Records the credentials of the current login (what the sender encrypts with).
    pub fn set_credentials(&self, creds: &Credentials) {
        *self.credentials.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(creds.clone()));
    }

    /// The credentials of the current (or last) login.
    pub fn credentials(&self) -> Option<Arc<Credentials>> {
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Counts one more retry receipt for message `id`, returning the count.
    pub fn retry_count(&self, id: &str) -> u32 {
        let mut map = self.retries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED_RETRIES && !map.contains_key(id) {
            map.clear();
        }
        let n = map.entry(id.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    /// The media store downloads go to, if any.
    pub fn media_store(&self) -> Option<&DynMediaStore> {
        self.media.as_ref()
    }

    /// Downloads a just-received message's media in the background when automatic
    /// downloads are on (a failure is logged; the message keeps its reference, so it
    /// can be fetched on demand later).
    pub fn auto_download(self: &Arc<Self>, chat: &str, id: &str) {
        let Some(media) = self.media.clone().filter(|_| self.auto_download) else {
            return;
        };
        let (m, chat, id) = (self.clone(), chat.to_owned(), id.to_owned());
        tokio::spawn(
            async move {
                let Ok(_permit) = m.downloads.clone().acquire_owned().await else {
                    return;
                };
                if let Err(e) =
                    crate::download::download_message(&m, &m.requester, &media, &chat, &id).await
                {
                    tracing::warn!(id = %id, error = %e, "media download failed");
                }
            }
            .in_current_span(),
        );
    }

    /// Queues a resend for the outbox worker and wakes it.
    pub fn request_resend(&self, resend: Resend) {
        let mut q = self.resends.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= MAX_PENDING_RESENDS {
            q.pop_front();
        }
        if !q.contains(&resend) {
            q.push_back(resend);
        }
        drop(q);
        self.outbox_wake.notify_one();
    }

    /// Takes every queued resend.
    pub fn take_resends(&self) -> Vec<Resend> {
        self.resends
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect()
    }

    /// Commits `message` to the outbox for `to` and wakes the sender; returns the
    /// stored message (status `pending`). The API answers after this returns: a send
    /// it accepted survives a crash.
    pub async fn enqueue(
        &self,
        to: &Jid,
        message: Message,
    ) -> Result<StoredMessage, SendRequestError> {
        self.enqueue_as(to, message, None, None).await
    }

    /// [`enqueue`](Self::enqueue) with a caller-chosen message id (a retried API
    /// call with the same id returns the message already queued instead of sending
    /// twice) and the media store key of an attachment we uploaded (so our own
    /// media can be read back like received media).
    pub async fn enqueue_as(
        &self,
        to: &Jid,
        message: Message,
        id: Option<String>,
        stored_media: Option<String>,
    ) -> Result<StoredMessage, SendRequestError> {
        let me = self
            .credentials()
            .and_then(|c| c.me.clone())
            .ok_or(SendRequestError::NotLinked)?;
        if to.user.is_empty() || !(to.is_group() || to.server == wa_proto::binary::jid::USER_SERVER)
        {
            return Err(SendRequestError::InvalidRecipient(to.to_string()));
        }
        let summary = content::summarize(&message);
        let caller_id = id.is_some();
        let mut media = summary.media.map(media_info);
        if let Some(media) = media.as_mut() {
            media.stored_key = stored_media;
        }
        let new = NewMessage {
            id: id.unwrap_or_else(|| generate_message_id(&mut OsRng)),
            chat: to.to_non_ad().to_string(),
            sender: me.to_non_ad().to_string(),
            from_me: true,
            timestamp: SystemTime::now(),
            kind: summary.kind.to_owned(),
            text: summary.text,
            media,
            content: message.encode_to_vec(),
            push_name: None,
            status: MessageStatus::Pending,
        };
        let stored = match self.store.enqueue(&self.account, &new).await {
            Err(StoreError::Conflict { .. }) if caller_id => {
                let existing = self
                    .store
                    .get_message(&self.account, &new.chat, &new.id)
                    .await?;
                match existing {
                    Some(existing) if existing.message.from_me => return Ok(existing),
                    _ => {
                        return Err(SendRequestError::Store(StoreError::Conflict {
                            entity: "message",
                            key: new.id.clone(),
                        }));
                    }
                }
            }
            other => other?,
        };
        self.outbox_wake.notify_one();
        Ok(stored)
    }
}

/// What the store keeps of a message's media reference (enough to download it later).
pub fn media_info(r: content::MediaRef) -> MediaInfo {
    MediaInfo {
        mimetype: r.mimetype,
        direct_path: r.direct_path,
        media_key: Some(r.media_key),
        file_sha256: r.file_sha256,
        file_enc_sha256: r.file_enc_sha256,
        file_length: r.file_length,
        file_name: r.file_name,
        stored_key: None,
    }
}
