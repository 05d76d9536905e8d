//! The store as the connector uses it: every operation timed into
//! `whatsapp_db_query_duration_seconds{operation}`, and chat history kept or not
//! (`WHATSAPP_CHAT_STORAGE`).
//!
//! With chat storage off, incoming messages are not written at all and an outgoing
//! one lives only while its send is pending (the outbox entry needs it for
//! durability): once the server took it or the send was given up, the row is
//! deleted. Everything else — Signal state, receipts, contacts, the event log that
//! feeds webhooks — is stored as usual. The costs: message and chat listings are
//! empty apart from sends in flight, a stanza the server redelivers is not
//! recognised as a duplicate (at-least-once instead of exactly-once), and a send
//! retried with the same id after it finished is sent again.

use std::future::Future;
use std::time::{Instant, SystemTime};

use async_trait::async_trait;
use wa_store::{
    Account, AccountId, AccountPatch, AccountStatus, AccountStore, ChangeStore, Changes, Chat,
    ChatQuery, CommitOutcome, Contact, ContactStore, Delivery, DeliveryAttempt, DeliveryQuery,
    DeliveryState, DeviceCredentials, DeviceList, DeviceStore, DueDelivery, DynStore, EventStore,
    MessageQuery, MessageStore, NewAccount, NewDelivery, NewEvent, NewMessage, OutboxEntry,
    OutboxOutcome, OutboxStore, Reclaimed, Result, RetentionStore, SenderKeyId, SettingsStore,
    SignalStateStore, Store, StoredEvent, StoredMessage, StoredPreKey, WebhookSettings,
    WebhookStore,
};

use crate::metrics::storage::StorageMetrics;

/// A store that times every operation and honours the chat storage setting.
#[derive(Debug)]
pub struct ConnectorStore {
    inner: DynStore,
    metrics: StorageMetrics,
    chat_storage: bool,
}

impl ConnectorStore {
    /// Wraps `inner`; `chat_storage: false` stops storing message history.
    pub fn new(inner: DynStore, metrics: StorageMetrics, chat_storage: bool) -> Self {
        ConnectorStore {
            inner,
            metrics,
            chat_storage,
        }
    }

    /// Runs `operation`, recording how long it took under `label`.
    async fn timed<T>(&self, label: &'static str, operation: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = operation.await;
        self.metrics.db_operation(label, started.elapsed());
        out
    }
}

impl Store for ConnectorStore {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}

#[async_trait]
impl AccountStore for ConnectorStore {
    async fn create_account(&self, new: NewAccount) -> Result<Account> {
        self.timed("account", self.inner.create_account(new)).await
    }

    async fn get_account(&self, id: &AccountId) -> Result<Account> {
        self.timed("account", self.inner.get_account(id)).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.timed("account", self.inner.list_accounts()).await
    }

    async fn update_account(&self, id: &AccountId, patch: AccountPatch) -> Result<Account> {
        self.timed("account", self.inner.update_account(id, patch))
            .await
    }

    async fn delete_account(&self, id: &AccountId) -> Result<()> {
        self.timed("account", self.inner.delete_account(id)).await
    }

    async fn set_account_status(&self, id: &AccountId, status: AccountStatus) -> Result<Account> {
        self.timed("account", self.inner.set_account_status(id, status))
            .await
    }
}

#[async_trait]
impl SettingsStore for ConnectorStore {
    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        self.timed("settings", self.inner.get_setting(key)).await
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.timed("settings", self.inner.set_setting(key, value))
            .await
    }

    async fn delete_setting(&self, key: &str) -> Result<bool> {
        self.timed("settings", self.inner.delete_setting(key)).await
    }

    async fn list_settings(&self) -> Result<Vec<(String, String)>> {
        self.timed("settings", self.inner.list_settings()).await
    }
}

#[async_trait]
impl DeviceStore for ConnectorStore {
    async fn save_device(
        &self,
        account: &AccountId,
        credentials: &DeviceCredentials,
        jid: Option<&str>,
    ) -> Result<()> {
        self.timed("device", self.inner.save_device(account, credentials, jid))
            .await
    }

    async fn load_device(&self, account: &AccountId) -> Result<Option<DeviceCredentials>> {
        self.timed("device", self.inner.load_device(account)).await
    }

    async fn delete_device(&self, account: &AccountId) -> Result<bool> {
        self.timed("device", self.inner.delete_device(account))
            .await
    }

    async fn save_prekeys(&self, account: &AccountId, keys: &[StoredPreKey]) -> Result<()> {
        self.timed("device", self.inner.save_prekeys(account, keys))
            .await
    }

    async fn mark_prekeys_uploaded(&self, account: &AccountId, ids: &[u32]) -> Result<()> {
        self.timed("device", self.inner.mark_prekeys_uploaded(account, ids))
            .await
    }

    async fn get_prekey(&self, account: &AccountId, id: u32) -> Result<Option<StoredPreKey>> {
        self.timed("device", self.inner.get_prekey(account, id))
            .await
    }

    async fn remove_prekey(&self, account: &AccountId, id: u32) -> Result<bool> {
        self.timed("device", self.inner.remove_prekey(account, id))
            .await
    }

    async fn next_prekey_id(&self, account: &AccountId) -> Result<u32> {
        self.timed("device", self.inner.next_prekey_id(account))
            .await
    }

    async fn count_prekeys(&self, account: &AccountId) -> Result<u64> {
        self.timed("device", self.inner.count_prekeys(account))
            .await
    }
}

#[async_trait]
impl SignalStateStore for ConnectorStore {
    async fn load_sessions(
        &self,
        account: &AccountId,
        addresses: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>> {
        self.timed("signal", self.inner.load_sessions(account, addresses))
            .await
    }

    async fn load_identities(
        &self,
        account: &AccountId,
        addresses: &[String],
    ) -> Result<Vec<(String, Vec<u8>)>> {
        self.timed("signal", self.inner.load_identities(account, addresses))
            .await
    }

    async fn load_sender_key(
        &self,
        account: &AccountId,
        id: &SenderKeyId,
    ) -> Result<Option<Vec<u8>>> {
        self.timed("signal", self.inner.load_sender_key(account, id))
            .await
    }

    async fn sender_key_holders(&self, account: &AccountId, group: &str) -> Result<Vec<String>> {
        self.timed("signal", self.inner.sender_key_holders(account, group))
            .await
    }

    async fn delete_session(&self, account: &AccountId, address: &str) -> Result<bool> {
        self.timed("signal", self.inner.delete_session(account, address))
            .await
    }
}

#[async_trait]
impl MessageStore for ConnectorStore {
    async fn message_exists(
        &self,
        account: &AccountId,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<bool> {
        self.timed(
            "message",
            self.inner.message_exists(account, chat, sender, id),
        )
        .await
    }

    async fn get_message(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
    ) -> Result<Option<StoredMessage>> {
        self.timed("message", self.inner.get_message(account, chat, id))
            .await
    }

    async fn find_message(&self, account: &AccountId, id: &str) -> Result<Option<StoredMessage>> {
        self.timed("message", self.inner.find_message(account, id))
            .await
    }

    async fn list_messages(
        &self,
        account: &AccountId,
        query: &MessageQuery,
    ) -> Result<Vec<StoredMessage>> {
        self.timed("message", self.inner.list_messages(account, query))
            .await
    }

    async fn list_chats(&self, account: &AccountId, query: &ChatQuery) -> Result<Vec<Chat>> {
        self.timed("message", self.inner.list_chats(account, query))
            .await
    }

    async fn set_media_stored_key(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
        stored_key: &str,
    ) -> Result<()> {
        self.timed(
            "message",
            self.inner
                .set_media_stored_key(account, chat, id, stored_key),
        )
        .await
    }

    async fn count_messages(&self, account: &AccountId) -> Result<u64> {
        self.timed("message", self.inner.count_messages(account))
            .await
    }
}

#[async_trait]
impl OutboxStore for ConnectorStore {
    async fn enqueue(&self, account: &AccountId, message: &NewMessage) -> Result<StoredMessage> {
        // Stored whatever the chat storage setting: the outbox entry needs its message
        // until the send is finished (see `commit`).
        self.timed("outbox", self.inner.enqueue(account, message))
            .await
    }

    async fn due_outbox(
        &self,
        account: &AccountId,
        now: SystemTime,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>> {
        self.timed("outbox", self.inner.due_outbox(account, now, limit))
            .await
    }

    async fn count_outbox(&self, account: &AccountId) -> Result<u64> {
        self.timed("outbox", self.inner.count_outbox(account)).await
    }
}

#[async_trait]
impl EventStore for ConnectorStore {
    async fn append_event(&self, account: &AccountId, event: &NewEvent) -> Result<i64> {
        self.timed("event", self.inner.append_event(account, event))
            .await
    }

    async fn events_after(
        &self,
        account: Option<&AccountId>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        self.timed("event", self.inner.events_after(account, after, limit))
            .await
    }

    async fn last_event_seq(&self) -> Result<i64> {
        self.timed("event", self.inner.last_event_seq()).await
    }
}

#[async_trait]
impl ContactStore for ConnectorStore {
    async fn get_contact(&self, account: &AccountId, jid: &str) -> Result<Option<Contact>> {
        self.timed("contact", self.inner.get_contact(account, jid))
            .await
    }

    async fn list_contacts(&self, account: &AccountId) -> Result<Vec<Contact>> {
        self.timed("contact", self.inner.list_contacts(account))
            .await
    }

    async fn load_device_lists(
        &self,
        account: &AccountId,
        users: &[String],
    ) -> Result<Vec<DeviceList>> {
        self.timed("contact", self.inner.load_device_lists(account, users))
            .await
    }
}

#[async_trait]
impl ChangeStore for ConnectorStore {
    async fn commit(&self, account: &AccountId, changes: &Changes) -> Result<CommitOutcome> {
        if self.chat_storage {
            return self
                .timed("commit", self.inner.commit(account, changes))
                .await;
        }
        // History off: the messages are not stored (their events, receipts and the
        // rest are), and finished sends are forgotten once their outcome is in.
        let without_messages = Changes {
            messages: Vec::new(),
            ..changes.clone()
        };
        let outcome = self
            .timed("commit", self.inner.commit(account, &without_messages))
            .await?;
        for update in &changes.outbox {
            if matches!(update.outcome, OutboxOutcome::Retry { .. }) {
                continue;
            }
            let forgotten = self.timed(
                "retention",
                self.inner.forget_message(account, &update.chat, &update.id),
            );
            if let Err(e) = forgotten.await {
                // The outcome is committed; the row is left for retention.
                tracing::warn!(%account, id = %update.id, error = %e, "cannot forget a sent message");
            }
        }
        Ok(outcome)
    }
}

#[async_trait]
impl WebhookStore for ConnectorStore {
    async fn get_webhook_settings(&self, account: &AccountId) -> Result<Option<WebhookSettings>> {
        self.timed("webhook", self.inner.get_webhook_settings(account))
            .await
    }

    async fn set_webhook_settings(
        &self,
        account: &AccountId,
        settings: &WebhookSettings,
    ) -> Result<()> {
        self.timed(
            "webhook",
            self.inner.set_webhook_settings(account, settings),
        )
        .await
    }

    async fn webhook_cursor(&self) -> Result<i64> {
        self.timed("webhook", self.inner.webhook_cursor()).await
    }

    async fn plan_deliveries(
        &self,
        from_seq: i64,
        to_seq: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool> {
        self.timed(
            "webhook",
            self.inner.plan_deliveries(from_seq, to_seq, deliveries),
        )
        .await
    }

    async fn claim_due_deliveries(
        &self,
        now: SystemTime,
        lease_until: SystemTime,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        self.timed(
            "webhook",
            self.inner.claim_due_deliveries(now, lease_until, limit),
        )
        .await
    }

    async fn record_delivery_attempts(&self, attempts: &[DeliveryAttempt]) -> Result<()> {
        self.timed("webhook", self.inner.record_delivery_attempts(attempts))
            .await
    }

    async fn list_deliveries(&self, query: &DeliveryQuery) -> Result<Vec<Delivery>> {
        self.timed("webhook", self.inner.list_deliveries(query))
            .await
    }

    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>> {
        self.timed("webhook", self.inner.get_delivery(id)).await
    }

    async fn replay_delivery(&self, id: &str, now: SystemTime) -> Result<Option<Delivery>> {
        self.timed("webhook", self.inner.replay_delivery(id, now))
            .await
    }

    async fn count_deliveries(&self, state: DeliveryState) -> Result<u64> {
        self.timed("webhook", self.inner.count_deliveries(state))
            .await
    }
}

#[async_trait]
impl RetentionStore for ConnectorStore {
    async fn delete_messages_before(&self, before: SystemTime, limit: u32) -> Result<u64> {
        self.timed(
            "retention",
            self.inner.delete_messages_before(before, limit),
        )
        .await
    }

    async fn forget_message(&self, account: &AccountId, chat: &str, id: &str) -> Result<bool> {
        self.timed("retention", self.inner.forget_message(account, chat, id))
            .await
    }

    async fn reclaim_space(&self) -> Result<Reclaimed> {
        self.timed("retention", self.inner.reclaim_space()).await
    }
}

// App-state sync (chat actions, sync keys): timed, stored whatever the chat storage
// setting says (they are account state, not history).
#[async_trait]
impl wa_store::AppStateStore for ConnectorStore {
    async fn put_app_state_keys(
        &self,
        account: &AccountId,
        keys: &[wa_store::AppStateKey],
    ) -> Result<()> {
        self.timed("app_state", self.inner.put_app_state_keys(account, keys))
            .await
    }

    async fn app_state_key(
        &self,
        account: &AccountId,
        id: &[u8],
    ) -> Result<Option<wa_store::AppStateKey>> {
        self.timed("app_state", self.inner.app_state_key(account, id))
            .await
    }

    async fn latest_app_state_key(
        &self,
        account: &AccountId,
    ) -> Result<Option<wa_store::AppStateKey>> {
        self.timed("app_state", self.inner.latest_app_state_key(account))
            .await
    }

    async fn load_app_state(
        &self,
        account: &AccountId,
        collection: &str,
    ) -> Result<Option<wa_store::AppStateCollection>> {
        self.timed("app_state", self.inner.load_app_state(account, collection))
            .await
    }

    async fn save_app_state(
        &self,
        account: &AccountId,
        save: &wa_store::AppStateSave,
    ) -> Result<()> {
        self.timed("app_state", self.inner.save_app_state(account, save))
            .await
    }

    async fn set_chat_pinned(&self, account: &AccountId, chat: &str, pinned: bool) -> Result<bool> {
        self.timed(
            "app_state",
            self.inner.set_chat_pinned(account, chat, pinned),
        )
        .await
    }

    async fn set_chat_archived(
        &self,
        account: &AccountId,
        chat: &str,
        archived: bool,
    ) -> Result<bool> {
        self.timed(
            "app_state",
            self.inner.set_chat_archived(account, chat, archived),
        )
        .await
    }

    async fn set_message_starred(
        &self,
        account: &AccountId,
        chat: &str,
        id: &str,
        starred: bool,
    ) -> Result<bool> {
        self.timed(
            "app_state",
            self.inner.set_message_starred(account, chat, id, starred),
        )
        .await
    }

    async fn starred_messages(&self, account: &AccountId, chat: &str) -> Result<Vec<String>> {
        self.timed("app_state", self.inner.starred_messages(account, chat))
            .await
    }
}
