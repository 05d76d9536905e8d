//! Storage metrics: how long store operations take, and what retention removed.
//!
//! Operations are labelled by the store concern they belong to (`message`,
//! `commit`, `webhook`, …): a fixed set of a dozen values, so the histogram's
//! cardinality is bounded whatever the traffic.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds (seconds) of the store operation histogram: an indexed read on a
/// warm SQLite page cache (~50 µs) to a commit waiting on a busy lock.
const DB_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Labels of a store operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// Labels of what retention removed: `messages` or `media`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// What retention deletes, as counted in `whatsapp_retention_deleted_total{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionKind {
    /// Message rows in the store.
    Messages,
    /// Objects in the media store.
    Media,
}

impl RetentionKind {
    fn label(self) -> &'static str {
        match self {
            RetentionKind::Messages => "messages",
            RetentionKind::Media => "media",
        }
    }
}

/// The storage metrics' handles.
#[derive(Debug, Clone)]
pub struct StorageMetrics {
    db_duration: Family<OperationLabels, Histogram, fn() -> Histogram>,
    retention_deleted: Family<KindLabels, Counter>,
}

impl StorageMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let db_duration: Family<OperationLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(|| Histogram::new(DB_BUCKETS));
        registry.register(
            "whatsapp_db_query_duration_seconds",
            "Time store operations took (successful or not), by operation",
            db_duration.clone(),
        );
        let retention_deleted = Family::<KindLabels, Counter>::default();
        registry.register(
            "whatsapp_retention_deleted",
            "Messages and media objects deleted by retention, by kind",
            retention_deleted.clone(),
        );
        StorageMetrics {
            db_duration,
            retention_deleted,
        }
    }

    /// Records one store operation of `operation` (a fixed label).
    pub fn db_operation(&self, operation: &'static str, elapsed: Duration) {
        self.db_duration
            .get_or_create(&OperationLabels { operation })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts what one retention pass deleted.
    pub fn retention_deleted(&self, kind: RetentionKind, n: u64) {
        self.retention_deleted
            .get_or_create(&KindLabels { kind: kind.label() })
            .inc_by(n);
    }
}
