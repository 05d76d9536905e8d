//! PostgreSQL: [`ChangeStore::commit`], the one write path for message traffic — one
//! transaction of cached prepared statements, one multi-row statement per kind of
//! write, so a commit costs a handful of round trips however many messages it carries.

use async_trait::async_trait;

use super::{PostgresStore, contacts, events, map_err, messages, outbox, require_account, signal};
use crate::account::AccountId;
use crate::changes::{ChangeStore, Changes, CommitOutcome, Plan};
use crate::error::Result;
use crate::message::MessageRecord;
use crate::time::now_millis;

#[async_trait]
impl ChangeStore for PostgresStore {
    async fn commit(&self, account: &AccountId, changes: &Changes) -> Result<CommitOutcome> {
        changes.validate()?;
        let plan = Plan::new(changes);
        let records: Vec<MessageRecord<'_>> = plan
            .messages
            .iter()
            .map(|(_, m)| MessageRecord::new(m, m.status))
            .collect();
        let account = account.as_str();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        require_account(&tx, account).await?;
        let now = now_millis();
        signal::write(&tx, account, &plan, now).await?;
        let inserted = messages::insert(&tx, account, &records, now).await?;
        messages::upsert_chats(&tx, account, &plan.chat_deltas(&inserted)).await?;
        messages::apply_edits(&tx, account, plan.edits, now).await?;
        messages::apply_receipts(&tx, account, &plan.receipts, now).await?;
        contacts::write(&tx, account, &plan.contacts, &plan.device_lists, now).await?;
        outbox::apply(&tx, account, &plan.outbox, now).await?;
        let event_seqs = events::append(&tx, account, plan.events, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(CommitOutcome {
            duplicate_messages: plan.duplicates(&inserted),
            event_seqs,
        })
    }
}
