//! SQLite: [`ChangeStore::commit`], the one write path for message traffic — one
//! `BEGIN IMMEDIATE` transaction of cached prepared statements.

use async_trait::async_trait;
use rusqlite::TransactionBehavior;

use super::{SqliteStore, contacts, events, map_err, messages, outbox, require_account, signal};
use crate::account::AccountId;
use crate::changes::{ChangeStore, Changes, CommitOutcome, Plan};
use crate::error::Result;
use crate::message::MessageRecord;
use crate::time::now_millis;

#[async_trait]
impl ChangeStore for SqliteStore {
    async fn commit(&self, account: &AccountId, changes: &Changes) -> Result<CommitOutcome> {
        changes.validate()?;
        let (account, changes) = (account.clone(), changes.clone());
        self.pool
            .write(move |conn| {
                let plan = Plan::new(&changes);
                let account = account.as_str();
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                require_account(&tx, account)?;
                let now = now_millis();
                signal::write(&tx, account, &plan, now)?;
                let records = plan
                    .messages
                    .iter()
                    .map(|(_, m)| MessageRecord::new(m, m.status));
                let inserted = messages::insert(&tx, account, records, now)?;
                messages::upsert_chats(&tx, account, &plan.chat_deltas(&inserted))?;
                messages::apply_edits(&tx, account, plan.edits, now)?;
                messages::apply_receipts(&tx, account, &plan.receipts, now)?;
                contacts::write(&tx, account, &plan.contacts, &plan.device_lists, now)?;
                outbox::apply(&tx, account, &plan.outbox, now)?;
                let event_seqs = events::append(&tx, account, plan.events, now)?;
                tx.commit().map_err(map_err)?;
                Ok(CommitOutcome {
                    duplicate_messages: plan.duplicates(&inserted),
                    event_seqs,
                })
            })
            .await
    }
}
