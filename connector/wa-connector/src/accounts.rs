//! Many accounts in one process: one task per account, each connecting, linking,
//! staying connected (reconnect with back-off), and stopping or logging out on
//! request. State is published on a `watch` channel behind an [`AccountHandle`].
//!
//! An account's life: no credentials → register and show QR codes (or a pairing
//! code) until the phone links it → credentials committed → the server asks for a
//! restart (515) → reconnect at once and log in → connected for as long as possible,
//! reconnecting with back-off after every loss → logout deletes the credentials.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rand_core::OsRng;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, error, info, info_span, warn};
use wa_proto::binary::{Jid, Node};
use wa_proto::cert::TrustRoot;
use wa_proto::payload::ClientConfig;
use wa_proto::{CloseReason, Config, Connection, Credentials, Event, SendError};
use wa_store::{AccountId, DynStore, NewAccount, StoreError, StoredMessage};

use crate::clock::{Clock, SystemClock};
use crate::credentials::{self, CredentialsError};
use crate::driver::{self, Command, DriveEnd, DriveOptions, EventHandler, WaConnection};
use crate::messaging::{Messaging, SendRequestError};
use crate::pairing;
use crate::prekeys::{self, PendingUpload};
use crate::reconnect::Backoff;
use crate::requests::{RequestError, Requester};
use crate::{contacts, groups, presence, receipts, receive, send, socket};

/// Where an account is, as its handle reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountState {
    /// Opening the socket and doing the handshake.
    Connecting,
    /// Not linked: a QR code (or pairing code) is waiting for the phone.
    WaitingForPairing,
    /// Handshake done, login not yet confirmed.
    Connected,
    /// Logged in: the connection is usable.
    LoggedIn,
    /// Lost the connection; a reconnect is scheduled.
    Disconnected,
    /// Unlinked (by the phone, the server or [`AccountHandle::logout`]); credentials
    /// are deleted and the task has ended.
    LoggedOut,
    /// Stopped by shutdown (credentials kept), replaced by another connection of the
    /// same device, or failed beyond retrying (unreadable credentials).
    Stopped,
}

impl AccountState {
    /// The API spelling (`logged_in`, `waiting_for_pairing`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Connecting => "connecting",
            AccountState::WaitingForPairing => "waiting_for_pairing",
            AccountState::Connected => "connected",
            AccountState::LoggedIn => "logged_in",
            AccountState::Disconnected => "disconnected",
            AccountState::LoggedOut => "logged_out",
            AccountState::Stopped => "stopped",
        }
    }
}

impl fmt::Display for AccountState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of an account, as published on its `watch` channel.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountStatus {
    /// The state.
    pub state: AccountState,
    /// The QR payload to show while [`AccountState::WaitingForPairing`] (secret:
    /// carries the ADV key; never logged).
    pub qr_code: Option<String>,
    /// The device JID once linked.
    pub jid: Option<String>,
    /// Consecutive failed connection attempts (0 after a login).
    pub reconnect_attempt: u32,
    /// Logins since the task started (tests and metrics see reconnects).
    pub logins: u64,
    /// Why the last connection ended, if one did.
    pub last_disconnect: Option<String>,
}

impl fmt::Debug for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountStatus")
            .field("state", &self.state)
            .field("qr_code", &self.qr_code.as_ref().map(|_| "<redacted>"))
            .field("jid", &self.jid)
            .field("reconnect_attempt", &self.reconnect_attempt)
            .field("logins", &self.logins)
            .field("last_disconnect", &self.last_disconnect)
            .finish()
    }
}

impl AccountStatus {
    fn new(jid: Option<String>) -> Self {
        Self {
            state: AccountState::Connecting,
            qr_code: None,
            jid,
            reconnect_attempt: 0,
            logins: 0,
            last_disconnect: None,
        }
    }
}

/// Why a request on an account or the manager failed.
#[derive(Debug, Error)]
pub enum AccountError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Stored credentials could not be decoded.
    #[error("stored credentials: {0}")]
    Credentials(#[from] CredentialsError),
    /// The account's task has ended (stopped or logged out).
    #[error("the account is not running")]
    NotRunning,
    /// The account is already linked (pairing needs an unlinked one).
    #[error("the account is already linked")]
    AlreadyLinked,
    /// The phone number is not 6–15 digits.
    #[error("phone number must be 6 to 15 digits, international format")]
    InvalidPhone,
    /// The connection refused the request.
    #[error("connection: {0}")]
    Connection(#[from] SendError),
    /// The server did not register the pairing code (its error code, or `timeout`).
    #[error("the server refused the pairing code request ({0})")]
    PairingRefused(String),
    /// A pairing code request is already waiting for the server.
    #[error("a pairing code request is already in progress")]
    PairingInProgress,
    /// The state asked for did not come in time.
    #[error("timed out waiting for the account (state {0})")]
    Timeout(AccountState),
}

/// Settings shared by every account of a manager.
#[derive(Debug, Clone)]
pub struct ConnectorOptions {
    /// The chat WebSocket URL (`wss://web.whatsapp.com/ws/chat`, or a simulator's).
    pub server_url: String,
    /// The Noise certificate root the server must present.
    pub trust_root: TrustRoot,
    /// What we tell WhatsApp about this client.
    pub client: ClientConfig,
    /// Reconnect schedule.
    pub backoff: Backoff,
    /// Time allowed for TCP + TLS + WebSocket upgrade.
    pub connect_timeout: Duration,
    /// Time allowed for the Noise handshake once the socket is open.
    pub handshake_timeout: Duration,
    /// Draw QR codes on the terminal while an account waits to be linked.
    pub print_qr: bool,
    /// Where downloaded media go (plain files, content-addressed); without it media
    /// are not downloaded.
    pub media: Option<wa_media::DynMediaStore>,
    /// Download received media as they arrive (needs `media`).
    pub auto_download_media: bool,
    /// Decline every incoming call as it rings (`call.offer` still tells the
    /// webhooks, with `auto_rejected`).
    pub auto_reject_calls: bool,
    /// Where messages sent, received and failed, and reconnects, are counted.
    pub metrics: crate::metrics::Metrics,
    /// How fast each account's outbox may send (protects the number from
    /// WhatsApp's spam detection); `None`: as fast as the server acks.
    pub send_rate: Option<crate::rate_limit::RateLimit>,
    /// Timeout and connection reuse of media transfers.
    pub http_client: crate::http_client::HttpClientConfig,
}

impl Default for ConnectorOptions {
    fn default() -> Self {
        Self {
            server_url: DEFAULT_SERVER_URL.to_owned(),
            trust_root: TrustRoot::default(),
            client: ClientConfig::default(),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(20),
            handshake_timeout: Duration::from_secs(20),
            print_qr: false,
            media: None,
            auto_download_media: true,
            auto_reject_calls: false,
            metrics: crate::metrics::Metrics::default(),
            send_rate: None,
            http_client: crate::http_client::HttpClientConfig::default(),
        }
    }
}

/// WhatsApp's chat endpoint.
pub const DEFAULT_SERVER_URL: &str = "wss://web.whatsapp.com/ws/chat";

/// A cheap, cloneable view of one running account: its state and its requests.
#[derive(Clone)]
pub struct AccountHandle {
    id: AccountId,
    status: watch::Receiver<AccountStatus>,
    cmds: mpsc::Sender<Command>,
    messaging: Arc<Messaging>,
    requester: Requester,
}

impl fmt::Debug for AccountHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountHandle")
            .field("id", &self.id)
            .field("status", &*self.status.borrow())
            .finish()
    }
}

impl AccountHandle {
    /// The account's id.
    pub fn id(&self) -> &AccountId {
        &self.id
    }

    /// The account's iq channel, for feature modules that need only request
    /// and answer (e.g. [`crate::group_requests`]).
    pub fn requester(&self) -> &Requester {
        &self.requester
    }

    /// The account's app-state syncing: chat actions shared with its other devices.
    pub fn app_state(&self) -> &Arc<crate::appstate::AppStateSync> {
        &self.messaging.app_state
    }

    /// The latest status.
    pub fn status(&self) -> AccountStatus {
        self.status.borrow().clone()
    }

    /// The latest state.
    pub fn state(&self) -> AccountState {
        self.status.borrow().state
    }

    /// The QR payload to show, while waiting for pairing.
    pub fn qr_code(&self) -> Option<String> {
        self.status.borrow().qr_code.clone()
    }

    /// A receiver that sees every status change (for APIs that stream it).
    pub fn subscribe(&self) -> watch::Receiver<AccountStatus> {
        self.status.clone()
    }

    /// Waits until `pred` accepts the status, up to `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&AccountStatus) -> bool,
    ) -> Result<AccountStatus, AccountError> {
        let mut rx = self.status.clone();
        let wait = async {
            let status = rx.wait_for(|s| pred(s)).await;
            status.map(|s| s.clone())
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(s)) => Ok(s),
            // The task ended: report whatever it left if it matches, else not running.
            Ok(Err(_)) => {
                let last = self.status();
                if pred(&last) {
                    Ok(last)
                } else {
                    Err(AccountError::NotRunning)
                }
            }
            Err(_) => Err(AccountError::Timeout(self.state())),
        }
    }

    /// Waits for `state`.
    pub async fn wait_for_state(
        &self,
        state: AccountState,
        timeout: Duration,
    ) -> Result<AccountStatus, AccountError> {
        self.wait_for(timeout, |s| s.state == state).await
    }

    /// Asks for a pairing code for `phone` (international format, digits): the
    /// owner types it on the phone instead of scanning the QR. Waits (up to 30 s)
    /// for the connection to be ready for it.
    pub async fn request_pairing_code(&self, phone: &str) -> Result<String, AccountError> {
        let phone = pairing::validate_phone(phone)?.to_owned();
        let status = self
            .wait_for(Duration::from_secs(30), |s| {
                matches!(s.state, AccountState::WaitingForPairing) || s.jid.is_some()
            })
            .await?;
        if status.jid.is_some() {
            return Err(AccountError::AlreadyLinked);
        }
        let (reply, rx) = oneshot::channel();
        self.cmds
            .send(Command::PairingCode { phone, reply })
            .await
            .map_err(|_| AccountError::NotRunning)?;
        rx.await.map_err(|_| AccountError::NotRunning)?
    }

    /// Commits a message for `to` (a user or group JID) to the outbox and returns it
    /// (status `pending`, with its WhatsApp id); the account's sender delivers it
    /// while connected, retrying across reconnects and restarts.
    pub async fn send_message(
        &self,
        to: &Jid,
        message: wa_proto::proto::message::Message,
    ) -> Result<StoredMessage, SendRequestError> {
        self.messaging.enqueue(to, message).await
    }

    /// [`send_message`](Self::send_message) with a caller-chosen id (idempotent
    /// retries) and, for media we uploaded, its media store key.
    pub async fn send_message_as(
        &self,
        to: &Jid,
        message: wa_proto::proto::message::Message,
        id: Option<String>,
        stored_media: Option<String>,
    ) -> Result<StoredMessage, SendRequestError> {
        self.messaging
            .enqueue_as(to, message, id, stored_media)
            .await
    }

    /// Sends a text message; see [`send_message`](Self::send_message).
    pub async fn send_text(&self, to: &Jid, text: &str) -> Result<StoredMessage, SendRequestError> {
        self.send_message(to, wa_proto::content::text_message(text))
            .await
    }

    /// Creates a group with `participants` (user JIDs); this account is its admin.
    pub async fn create_group(
        &self,
        subject: &str,
        participants: &[Jid],
    ) -> Result<wa_proto::groups::GroupInfo, RequestError> {
        groups::create(&self.requester, subject, participants).await
    }

    /// Adds members to a group this account administers.
    pub async fn add_group_members(
        &self,
        group: &Jid,
        members: &[Jid],
    ) -> Result<(), RequestError> {
        groups::change_participants(
            &self.requester,
            group,
            wa_proto::groups::ParticipantAction::Add,
            members,
        )
        .await
        .map(|_| ())
    }

    /// Adds, removes, promotes or demotes members of a group this account
    /// administers; each member with WhatsApp's error code where it failed.
    pub async fn change_group_participants(
        &self,
        group: &Jid,
        action: wa_proto::groups::ParticipantAction,
        members: &[Jid],
    ) -> Result<Vec<(Jid, Option<String>)>, RequestError> {
        groups::change_participants(&self.requester, group, action, members).await
    }

    /// Renames a group.
    pub async fn set_group_name(&self, group: &Jid, name: &str) -> Result<(), RequestError> {
        groups::set_name(&self.requester, group, name).await
    }

    /// Sets (or, with an empty one, removes) a group's topic.
    pub async fn set_group_topic(&self, group: &Jid, topic: &str) -> Result<(), RequestError> {
        groups::set_topic(&self.requester, group, topic).await
    }

    /// Turns an admin-only group setting on or off.
    pub async fn set_group_setting(
        &self,
        group: &Jid,
        setting: wa_proto::groups::GroupSetting,
        on: bool,
    ) -> Result<(), RequestError> {
        groups::set_setting(&self.requester, group, setting, on).await
    }

    /// A group's invite code (`reset`: revoke the old one first).
    pub async fn group_invite_code(
        &self,
        group: &Jid,
        reset: bool,
    ) -> Result<String, RequestError> {
        groups::invite_code(&self.requester, group, reset).await
    }

    /// Joins the group an invite code leads to.
    pub async fn join_group(&self, code: &str) -> Result<Jid, RequestError> {
        groups::join(&self.requester, code).await
    }

    /// The group an invite code leads to, without joining.
    pub async fn preview_group(
        &self,
        code: &str,
    ) -> Result<wa_proto::groups::GroupInfo, RequestError> {
        groups::preview(&self.requester, code).await
    }

    /// Every group this account is in, as the server has them now.
    pub async fn joined_groups(&self) -> Result<Vec<wa_proto::groups::GroupInfo>, RequestError> {
        groups::joined(&self.requester).await
    }

    /// Sets how long a group's messages stay (0: forever).
    pub async fn set_group_disappearing(
        &self,
        group: &Jid,
        seconds: u32,
    ) -> Result<(), RequestError> {
        groups::set_disappearing(&self.requester, group, seconds).await
    }

    /// Leaves a group.
    pub async fn leave_group(&self, group: &Jid) -> Result<(), RequestError> {
        groups::leave(&self.requester, group).await
    }

    /// A group's metadata and members, as the server has them now.
    pub async fn group_info(
        &self,
        group: &Jid,
    ) -> Result<wa_proto::groups::GroupInfo, RequestError> {
        groups::info(&self.requester, group).await
    }

    /// Shows the account online or offline to its contacts.
    pub async fn send_presence(&self, available: bool) -> Result<(), RequestError> {
        let push_name = match self.store().get_account(&self.id).await {
            Ok(account) => account.push_name,
            Err(_) => None,
        };
        presence::send_presence(&self.requester, available, push_name.as_deref()).await
    }

    /// Shows typing, recording or stopped in the chat `to`.
    pub async fn send_chat_state(
        &self,
        to: &Jid,
        state: wa_proto::presence::ChatState,
    ) -> Result<(), RequestError> {
        presence::send_chat_state(&self.requester, to, state).await
    }

    /// Marks received messages read; see [`receipts::mark_read`].
    pub async fn mark_read(
        &self,
        chat: &Jid,
        sender: Option<&Jid>,
        ids: &[String],
    ) -> Result<(), RequestError> {
        receipts::mark_read(&self.requester, chat, sender, ids).await
    }

    /// Which of `phones` are on WhatsApp.
    pub async fn check_contacts(
        &self,
        phones: &[String],
    ) -> Result<Vec<wa_proto::usync::ContactStatus>, RequestError> {
        contacts::check(&self.requester, phones).await
    }

    /// This account's privacy settings, as `(category, value)` pairs.
    pub async fn privacy_settings(&self) -> Result<Vec<(String, String)>, RequestError> {
        contacts::privacy(&self.requester).await
    }

    /// Where a user's or group's picture is; `None` when there is none.
    pub async fn picture(
        &self,
        owner: &Jid,
        preview: bool,
    ) -> Result<Option<wa_proto::picture::PictureInfo>, RequestError> {
        contacts::picture(&self.requester, owner, preview).await
    }

    /// Sets this account's picture, or a group's.
    pub async fn set_picture(
        &self,
        group: Option<&Jid>,
        jpeg: &[u8],
    ) -> Result<String, RequestError> {
        contacts::set_picture(&self.requester, group, jpeg).await
    }

    /// The devices users have linked.
    pub async fn user_devices(
        &self,
        users: &[Jid],
    ) -> Result<Vec<wa_proto::usync::UserDevices>, RequestError> {
        contacts::devices(&self.requester, users).await
    }

    /// Uploads the plain file `key` of `media` (encrypting it on the way) for a media
    /// message; see [`crate::upload`].
    pub async fn upload_media(
        &self,
        media: &wa_media::DynMediaStore,
        key: &wa_media::MediaKey,
        ty: wa_proto::media::MediaType,
        mimetype: &str,
    ) -> Result<wa_proto::content::UploadedMedia, crate::media_http::MediaTransferError> {
        crate::upload::upload(
            &self.messaging.media_http,
            &self.requester,
            media,
            key,
            ty,
            mimetype,
        )
        .await
    }

    /// Downloads a received message's media into `media` (verified, content-addressed)
    /// and records where it is; see [`crate::download`].
    pub async fn download_media(
        &self,
        media: &wa_media::DynMediaStore,
        chat: &str,
        message_id: &str,
    ) -> Result<wa_media::MediaKey, crate::media_http::MediaTransferError> {
        crate::download::download_message(&self.messaging, &self.requester, media, chat, message_id)
            .await
    }

    /// The store this account writes to (messages, chats, events are read there).
    pub fn store(&self) -> &DynStore {
        &self.messaging.store
    }

    /// Unlinks the device: tells the server when connected, deletes the stored
    /// credentials and pre-keys, and ends the account's task (state `logged_out`).
    pub async fn logout(&self) -> Result<(), AccountError> {
        let (reply, rx) = oneshot::channel();
        self.cmds
            .send(Command::Logout { reply })
            .await
            .map_err(|_| AccountError::NotRunning)?;
        rx.await.map_err(|_| AccountError::NotRunning)?
    }
}

struct Running {
    handle: AccountHandle,
    task: JoinHandle<()>,
}

/// Runs every account of one connector process.
pub struct AccountManager {
    store: DynStore,
    opts: Arc<ConnectorOptions>,
    clock: Arc<dyn Clock>,
    running: Mutex<HashMap<AccountId, Running>>,
}

impl fmt::Debug for AccountManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountManager")
            .field("store", &self.store.kind())
            .field("server_url", &self.opts.server_url)
            .finish_non_exhaustive()
    }
}

impl AccountManager {
    /// A manager over `store` on the system clock.
    pub fn new(store: DynStore, opts: ConnectorOptions) -> Self {
        Self::with_clock(store, opts, Arc::new(SystemClock))
    }

    /// A manager reading time from `clock` (tests pass a [`crate::clock::ManualClock`]).
    pub fn with_clock(store: DynStore, opts: ConnectorOptions, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            opts: Arc::new(opts),
            clock,
            running: Mutex::new(HashMap::new()),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts every account that has stored credentials (what a restart does), and
    /// returns their handles.
    pub async fn resume_all(&self) -> Result<Vec<AccountHandle>, AccountError> {
        let mut handles = Vec::new();
        for account in self.store.list_accounts().await? {
            if self.store.load_device(&account.id).await?.is_some() {
                handles.push(self.start(&account.id).await?);
            }
        }
        info!(accounts = handles.len(), "resumed linked accounts");
        Ok(handles)
    }

    /// Starts `id` (creating the account if needed): it logs in with its stored
    /// credentials, or starts linking when it has none. Returns the running handle
    /// if it is already started.
    pub async fn start(&self, id: &AccountId) -> Result<AccountHandle, AccountError> {
        if let Some(r) = self.running().get(id)
            && !r.task.is_finished()
        {
            return Ok(r.handle.clone());
        }
        let account = match self.store.get_account(id).await {
            Ok(a) => a,
            Err(StoreError::NotFound { .. }) => {
                match self.store.create_account(NewAccount::new(id.clone())).await {
                    Ok(a) => a,
                    Err(StoreError::Conflict { .. }) => self.store.get_account(id).await?,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let (status_tx, status_rx) = watch::channel(AccountStatus::new(account.jid.clone()));
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let requester = Requester::new(cmd_tx.clone());
        let messaging = Arc::new(
            Messaging::new(
                self.store.clone(),
                id.clone(),
                &self.opts.server_url,
                requester.clone(),
                self.opts.media.clone(),
                self.opts.auto_download_media,
                self.opts.metrics.clone(),
            )
            .with_http_client(&self.opts.server_url, &self.opts.http_client),
        );
        // Known before the first login, so sends can be accepted while connecting.
        if let Some(stored) = self.store.load_device(id).await?
            && let Ok(creds) = credentials::decode(&stored)
        {
            messaging.set_credentials(&creds);
        }
        let handle = AccountHandle {
            id: id.clone(),
            status: status_rx.clone(),
            cmds: cmd_tx.clone(),
            messaging: messaging.clone(),
            requester,
        };
        let task = AccountTask {
            id: id.clone(),
            store: self.store.clone(),
            opts: self.opts.clone(),
            clock: self.clock.clone(),
            status: status_tx,
            messaging: messaging.clone(),
        };
        let span = info_span!("account", account = %id);
        // The sender lives as long as the account's status channel: it ends with the task.
        let _outbox = tokio::spawn(
            send::run_outbox(
                messaging,
                handle.requester.clone(),
                status_rx.clone(),
                crate::rate_limit::Pacer::new(self.opts.send_rate, self.clock.clone()),
            )
            .instrument(span.clone()),
        );
        let _events = tokio::spawn(
            crate::connection_events::watch_account(self.store.clone(), id.clone(), status_rx)
                .instrument(span.clone()),
        );
        let join = tokio::spawn(task.run(cmd_rx).instrument(span));
        let mut running = self.running();
        // Two concurrent starts: keep the first, stop the second.
        if let Some(r) = running.get(id)
            && !r.task.is_finished()
        {
            join.abort();
            return Ok(r.handle.clone());
        }
        running.insert(
            id.clone(),
            Running {
                handle: handle.clone(),
                task: join,
            },
        );
        Ok(handle)
    }

    /// The handle of a started account.
    pub fn handle(&self, id: &AccountId) -> Option<AccountHandle> {
        self.running().get(id).map(|r| r.handle.clone())
    }

    /// Handles of every started account, by id.
    pub fn handles(&self) -> Vec<AccountHandle> {
        let mut v: Vec<_> = self.running().values().map(|r| r.handle.clone()).collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Stops one account (connection closed, credentials kept) and waits for its
    /// task; false if it was not running.
    pub async fn stop(&self, id: &AccountId) -> bool {
        let Some(r) = self.running().remove(id) else {
            return false;
        };
        let _ = r.handle.cmds.send(Command::Shutdown).await;
        let abort = r.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(10), r.task)
            .await
            .is_err()
        {
            warn!(account = %id, "account task did not stop in time; aborted");
            abort.abort();
        }
        true
    }

    /// Stops every account (connections closed, credentials kept) and waits for
    /// their tasks.
    pub async fn shutdown(&self) {
        let running: Vec<Running> = self.running().drain().map(|(_, r)| r).collect();
        for r in &running {
            let _ = r.handle.cmds.send(Command::Shutdown).await;
        }
        for r in running {
            let abort = r.task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), r.task)
                .await
                .is_err()
            {
                warn!(account = %r.handle.id, "account task did not stop in time; aborted");
                abort.abort();
            }
        }
    }
}

impl Drop for AccountManager {
    fn drop(&mut self) {
        for r in self.running().values() {
            r.task.abort();
        }
    }
}

/// One account's task.
struct AccountTask {
    id: AccountId,
    store: DynStore,
    opts: Arc<ConnectorOptions>,
    clock: Arc<dyn Clock>,
    status: watch::Sender<AccountStatus>,
    messaging: Arc<Messaging>,
}

/// What the wait between two connections was cut short by.
enum Interrupt {
    Elapsed,
    Shutdown,
    Logout(oneshot::Sender<Result<(), AccountError>>),
}

impl AccountTask {
    fn publish(&self, f: impl FnOnce(&mut AccountStatus)) {
        self.status.send_modify(f);
    }

    fn set_state(&self, state: AccountState) {
        self.publish(|s| {
            s.state = state;
            if state != AccountState::WaitingForPairing {
                s.qr_code = None;
            }
        });
    }

    async fn run(self, mut cmds: mpsc::Receiver<Command>) {
        // Credentials of a device not yet linked: kept in memory only until the phone
        // links it, so that QR codes stay valid across reconnects.
        let mut unlinked: Option<Credentials> = None;
        let mut attempt: u32 = 0;
        // Numbers this account's connections in the logs (`connection{n=3}`).
        let mut connection: u64 = 0;
        loop {
            let creds = match self.store.load_device(&self.id).await {
                Ok(Some(stored)) => match credentials::decode(&stored) {
                    Ok(c) => c,
                    Err(e) => {
                        error!(error = %e, "stored credentials are unreadable; account stopped");
                        self.publish(|s| {
                            s.state = AccountState::Stopped;
                            s.last_disconnect = Some(e.to_string());
                        });
                        return;
                    }
                },
                Ok(None) => unlinked
                    .get_or_insert_with(|| Credentials::generate(&mut OsRng))
                    .clone(),
                Err(e) => {
                    warn!(error = %e, "cannot read credentials; retrying");
                    match self.wait_backoff(&mut attempt, &mut cmds).await {
                        Interrupt::Elapsed => continue,
                        other => return self.finish(other).await,
                    }
                }
            };
            let paired = creds.is_paired();
            self.set_state(AccountState::Connecting);
            debug!(url = %self.opts.server_url, paired, attempt, "connecting");
            let connecting = self.connect_or_interrupt(&mut cmds).await;
            let ws = match connecting {
                Ok(ws) => ws,
                Err(Err(how)) => return self.finish(how).await,
                Err(Ok(e)) => {
                    warn!(error = %e, attempt, "connect failed");
                    self.publish(|s| {
                        s.state = AccountState::Disconnected;
                        s.last_disconnect = Some(e.to_string());
                    });
                    match self.wait_backoff(&mut attempt, &mut cmds).await {
                        Interrupt::Elapsed => continue,
                        other => return self.finish(other).await,
                    }
                }
            };
            let cfg = Config {
                client: self.opts.client.clone(),
                trust_root: self.opts.trust_root,
                ..Config::default()
            };
            let conn = Connection::new(cfg, creds, OsRng, self.clock.now(), self.clock.unix_now());
            let mut session = Session {
                task: &self,
                logged_in: false,
                replaced: false,
                prekey_upload: None,
                batch: receive::InboundBatch::default(),
            };
            let end = driver::drive(
                ws,
                conn,
                &*self.clock,
                &mut session,
                &mut cmds,
                DriveOptions {
                    handshake_timeout: self.opts.handshake_timeout,
                },
            )
            .instrument(info_span!("connection", n = connection))
            .await;
            connection += 1;
            if session.logged_in {
                attempt = 0;
            }
            if session.replaced {
                // Another connection (another connector with the same credentials)
                // took this device over. Reconnecting would take it back and start a
                // tug of war between the two; stop and let the operator decide.
                warn!("another connection replaced this one; account stopped");
                self.publish(|s| {
                    s.state = AccountState::Stopped;
                    s.last_disconnect = Some("replaced by another connection".into());
                });
                return;
            }
            let why = match end {
                DriveEnd::Closed(CloseReason::RestartRequired) => {
                    info!("server asked for a restart; reconnecting now");
                    unlinked = None;
                    continue;
                }
                DriveEnd::Closed(CloseReason::LoggedOut) => {
                    warn!("the server logged this device out");
                    let _ = self.forget_device().await;
                    return;
                }
                DriveEnd::Logout(reply) => return self.finish(Interrupt::Logout(reply)).await,
                DriveEnd::Shutdown => return self.finish(Interrupt::Shutdown).await,
                DriveEnd::Closed(CloseReason::QrExhausted) => {
                    // Nobody scanned in time: not a failure, just fetch new codes.
                    info!("QR codes expired unscanned; asking for new ones");
                    attempt = 0;
                    "QR codes expired".to_owned()
                }
                DriveEnd::Closed(reason) => format!("{reason:?}"),
                DriveEnd::Socket(e) => e,
                DriveEnd::HandshakeTimeout => "handshake timed out".to_owned(),
                DriveEnd::Handler(e) => {
                    error!(error = %e, "event handling failed; reconnecting");
                    e.to_string()
                }
            };
            info!(reason = %why, "connection lost");
            self.publish(|s| {
                s.state = AccountState::Disconnected;
                s.qr_code = None;
                s.last_disconnect = Some(why);
            });
            match self.wait_backoff(&mut attempt, &mut cmds).await {
                Interrupt::Elapsed => {}
                other => return self.finish(other).await,
            }
        }
    }

    /// Opens the socket, still answering commands meanwhile: a shutdown or logout
    /// does not wait for a slow or unreachable server. `Err(Ok(_))` is a failed
    /// connect, `Err(Err(_))` an interruption.
    async fn connect_or_interrupt(
        &self,
        cmds: &mut mpsc::Receiver<Command>,
    ) -> Result<socket::WsStream, Result<socket::SocketError, Interrupt>> {
        let connect = socket::connect(&self.opts.server_url, self.opts.connect_timeout);
        tokio::pin!(connect);
        loop {
            tokio::select! {
                result = &mut connect => return result.map_err(Ok),
                cmd = cmds.recv() => match cmd {
                    None | Some(Command::Shutdown) => return Err(Err(Interrupt::Shutdown)),
                    Some(Command::Logout { reply }) => return Err(Err(Interrupt::Logout(reply))),
                    Some(other) => other.refuse_offline(),
                },
            }
        }
    }

    /// Sleeps the back-off of `attempt` (then counts it), answering commands.
    async fn wait_backoff(
        &self,
        attempt: &mut u32,
        cmds: &mut mpsc::Receiver<Command>,
    ) -> Interrupt {
        let delay = self.opts.backoff.delay(*attempt, &mut OsRng);
        *attempt = attempt.saturating_add(1);
        let n = *attempt;
        self.publish(|s| s.reconnect_attempt = n);
        debug!(
            delay_ms = delay.as_millis() as u64,
            attempt = n,
            "reconnecting after back-off"
        );
        let until = self.clock.now() + delay;
        let mut sleep = self.clock.sleep_until(until);
        loop {
            tokio::select! {
                () = &mut sleep => return Interrupt::Elapsed,
                cmd = cmds.recv() => match cmd {
                    None | Some(Command::Shutdown) => return Interrupt::Shutdown,
                    Some(Command::Logout { reply }) => return Interrupt::Logout(reply),
                    Some(other) => other.refuse_offline(),
                },
            }
        }
    }

    async fn finish(&self, how: Interrupt) {
        match how {
            Interrupt::Elapsed => {}
            Interrupt::Shutdown => {
                info!("stopped");
                self.set_state(AccountState::Stopped);
            }
            Interrupt::Logout(reply) => {
                info!("logging out");
                let result = self.forget_device().await;
                let _ = reply.send(result);
            }
        }
    }

    /// Deletes credentials and pre-keys; the account ends `logged_out`.
    async fn forget_device(&self) -> Result<(), AccountError> {
        let result = self.store.delete_device(&self.id).await;
        if let Err(e) = &result {
            error!(error = %e, "could not delete the credentials");
        }
        self.publish(|s| {
            s.state = AccountState::LoggedOut;
            s.qr_code = None;
            s.jid = None;
        });
        result.map(|_| ()).map_err(Into::into)
    }
}

/// Failures while handling a connection's events.
#[derive(Debug, Error)]
pub enum SessionError {
    /// Something could not be committed; the connection is dropped rather than
    /// going on with state that is not durable.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Handles one connection's events for an account.
struct Session<'a> {
    task: &'a AccountTask,
    logged_in: bool,
    /// The server said another connection took over this device.
    replaced: bool,
    prekey_upload: Option<PendingUpload>,
    /// Messages and receipts handled but not committed yet (group commit).
    batch: receive::InboundBatch,
}

#[async_trait]
impl EventHandler for Session<'_> {
    type Error = SessionError;

    async fn on_event(
        &mut self,
        conn: &mut WaConnection,
        event: Event,
    ) -> Result<(), SessionError> {
        let t = self.task;
        // Anything but a stanza commits the pending batch first, so state changes
        // (pairing, login) never overtake messages that arrived before them.
        if !matches!(event, Event::Node(_)) {
            self.flush(conn).await?;
        }
        match event {
            Event::Connected => {
                debug!("handshake done");
                t.set_state(AccountState::Connected);
            }
            Event::QrCode { code, expires_in } => {
                info!(
                    expires_in_s = expires_in.as_secs(),
                    "waiting for the phone to scan the QR code"
                );
                if t.opts.print_qr {
                    pairing::print_qr(t.id.as_str(), &code);
                }
                t.publish(|s| {
                    s.state = AccountState::WaitingForPairing;
                    s.qr_code = Some(code);
                });
            }
            Event::Paired { jid, platform, .. } => {
                // Committed before anything else happens on this connection: the
                // phone now lists the device, so losing these keys would orphan it.
                let stored = credentials::encode(conn.credentials());
                let jid_text = jid.to_string();
                t.store.save_device(&t.id, &stored, Some(&jid_text)).await?;
                t.messaging.set_credentials(conn.credentials());
                info!(jid = %jid_text, platform = platform.as_deref().unwrap_or("?"), "device linked");
                t.publish(|s| {
                    s.qr_code = None;
                    s.jid = Some(jid_text);
                });
            }
            Event::LoggedIn { .. } => {
                // Login may have taught us our LID: keep the credentials current.
                t.store
                    .save_device(&t.id, &credentials::encode(conn.credentials()), None)
                    .await?;
                t.messaging.set_credentials(conn.credentials());
                self.logged_in = true;
                info!("logged in");
                // What other devices changed while we were away (no-op before the
                // phone shared a key).
                t.messaging
                    .app_state
                    .spawn_sync(wa_proto::appstate::Collection::ALL.to_vec());
                t.publish(|s| {
                    s.state = AccountState::LoggedIn;
                    s.qr_code = None;
                    s.reconnect_attempt = 0;
                    s.logins += 1;
                    s.last_disconnect = None;
                });
                if t.status.borrow().logins > 1 {
                    t.opts.metrics.reconnected(t.id.as_str());
                }
            }
            Event::PreKeyCount { count, low } => {
                debug!(count, low, "server pre-key count");
                if low && self.prekey_upload.is_none() {
                    self.prekey_upload = Some(prekeys::upload(&t.store, &t.id, conn).await?);
                }
            }
            Event::StreamError { code, node } => {
                self.replaced = node
                    .get_child("conflict")
                    .is_some_and(|c| c.attr_str("type").as_deref() == Some("replaced"));
                warn!(
                    code = code.as_deref().unwrap_or("none"),
                    replaced = self.replaced,
                    "stream error from the server"
                );
            }
            Event::Node(node) => self.on_node(conn, node).await?,
            Event::Closed(reason) => debug!(?reason, "connection closed"),
        }
        Ok(())
    }

    async fn flush(&mut self, conn: &mut WaConnection) -> Result<(), SessionError> {
        receive::flush(&self.task.messaging, conn, &mut self.batch).await
    }
}

impl Session<'_> {
    /// Stanzas for the layers above. Each handler commits what the stanza carries
    /// before acknowledging it; what is not acknowledged the server redelivers at the
    /// next login, so nothing is lost before it is stored.
    async fn on_node(&mut self, conn: &mut WaConnection, node: Node) -> Result<(), SessionError> {
        if let Some(pending) = &self.prekey_upload
            && prekeys::handle_answer(&self.task.store, &self.task.id, pending, &node).await?
        {
            self.prekey_upload = None;
            return Ok(());
        }
        let m = &self.task.messaging;
        match node.tag.as_str() {
            "message" => {
                receive::handle_message(m, conn, &node, &mut self.batch).await?;
                if self.batch.len() >= receive::MAX_BATCH {
                    receive::flush(m, conn, &mut self.batch).await?;
                }
            }
            "receipt" => receipts::handle_receipt(m, conn, &node, &mut self.batch)?,
            "chatstate" => crate::chat_presence::handle_chat_state(&node, &mut self.batch),
            "call" => {
                let reject_as = (self.task.opts.auto_reject_calls)
                    .then(|| conn.credentials().me.clone())
                    .flatten();
                crate::calls::handle_call(&node, reject_as.as_ref(), &mut self.batch);
            }
            "notification" if crate::group_events::is_group_notification(&node) => {
                let me = conn.credentials().me.clone();
                crate::group_events::handle_group_notification(&node, me.as_ref(), &mut self.batch);
            }
            "notification" => {
                debug!(
                    kind = node.attr_str("type").as_deref().unwrap_or(""),
                    "notification"
                );
                if let Ok(changed) = wa_proto::appstate::sync::parse_server_sync(&node) {
                    m.app_state
                        .spawn_sync(changed.into_iter().map(|(c, _)| c).collect());
                }
                receive::send(conn, &wa_proto::receipt::message_ack(&node));
            }
            "ib" | "iq" => debug!(tag = %node.tag, "stanza"),
            tag => debug!(
                tag,
                id = node.attr_str("id").as_deref().unwrap_or(""),
                "stanza not handled yet"
            ),
        }
        Ok(())
    }
}
