//! Built-in retention: old messages and media deleted on a schedule, no cron needed.
//!
//! Every `interval` (first at startup) one pass deletes, in batches of `batch_size`
//! with a pause between batches so traffic is never held up, the messages older
//! than `WHATSAPP_MESSAGE_RETENTION_DAYS` (by message time; sends still in the
//! outbox are kept) and the media objects older than `WHATSAPP_MEDIA_RETENTION_DAYS`
//! (by when they were stored), then lets the store reclaim the space: SQLite hands
//! free pages back with `PRAGMA incremental_vacuum` (databases created by this
//! version; older files reuse them instead) and refreshes statistics with `PRAGMA
//! optimize`; PostgreSQL leaves it to autovacuum, which the small batches keep
//! cheap. What went is counted in `whatsapp_retention_deleted_total{kind}`.

use std::time::{Duration, SystemTime};

use wa_media::DynMediaStore;
use wa_store::DynStore;

use crate::metrics::storage::{RetentionKind, StorageMetrics};

/// The pause between two batches of one pass.
const BATCH_PAUSE: Duration = Duration::from_millis(50);
/// The shortest interval between passes, whatever is configured.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// What retention deletes and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Messages older than this go (`None`: kept forever).
    pub messages: Option<Duration>,
    /// Media objects older than this go (`None`: kept forever).
    pub media: Option<Duration>,
    /// Time between passes.
    pub interval: Duration,
    /// Rows or objects per batch.
    pub batch_size: u32,
}

impl RetentionPolicy {
    /// Whether there is anything to delete at all.
    pub fn is_active(&self) -> bool {
        self.messages.is_some() || self.media.is_some()
    }
}

/// A retention in days as a duration; 0 means keep forever.
pub fn days(n: u32) -> Option<Duration> {
    (n > 0).then(|| Duration::from_secs(u64::from(n) * 86_400))
}

/// What one pass deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PassOutcome {
    /// Message rows deleted.
    pub messages: u64,
    /// Media objects deleted.
    pub media: u64,
}

/// Runs passes every `policy.interval` until the task is aborted; nothing if the
/// policy keeps everything.
pub fn spawn(
    store: DynStore,
    media: Option<DynMediaStore>,
    policy: RetentionPolicy,
    metrics: StorageMetrics,
) -> Option<tokio::task::JoinHandle<()>> {
    if !policy.is_active() {
        return None;
    }
    tracing::info!(?policy, "retention enabled");
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(policy.interval.max(MIN_INTERVAL));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_pass(&store, media.as_ref(), &policy, &metrics).await {
                Ok(outcome) => tracing::debug!(?outcome, "retention pass done"),
                // The next pass tries again; what was deleted is counted already.
                Err(e) => tracing::warn!(error = %e, "retention pass failed"),
            }
        }
    }))
}

/// Why a pass stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] wa_store::StoreError),
    /// The media store failed.
    #[error("media store: {0}")]
    Media(#[from] wa_media::MediaError),
}

/// One pass: old messages, then old media, then reclaiming the space.
pub async fn run_pass(
    store: &DynStore,
    media: Option<&DynMediaStore>,
    policy: &RetentionPolicy,
    metrics: &StorageMetrics,
) -> Result<PassOutcome, RetentionError> {
    let mut outcome = PassOutcome::default();
    let batch = policy.batch_size.max(1);
    if let Some(age) = policy.messages {
        let cutoff = SystemTime::now() - age;
        loop {
            let n = store.delete_messages_before(cutoff, batch).await?;
            metrics.retention_deleted(RetentionKind::Messages, n);
            outcome.messages += n;
            if n < u64::from(batch) {
                break;
            }
            tokio::time::sleep(BATCH_PAUSE).await;
        }
        if outcome.messages > 0 {
            let reclaimed = store.reclaim_space().await?;
            tracing::debug!(pages = reclaimed.pages, "reclaimed database space");
        }
    }
    if let (Some(age), Some(media)) = (policy.media, media) {
        let cutoff = SystemTime::now() - age;
        loop {
            let n = media.delete_older_than(cutoff, batch).await?;
            metrics.retention_deleted(RetentionKind::Media, n);
            outcome.media += n;
            if n < u64::from(batch) {
                break;
            }
            tokio::time::sleep(BATCH_PAUSE).await;
        }
    }
    if outcome != PassOutcome::default() {
        tracing::info!(
            messages = outcome.messages,
            media = outcome.media,
            "retention deleted old history"
        );
    }
    Ok(outcome)
}
