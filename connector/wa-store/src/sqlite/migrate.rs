//! Applies SQLite's numbered migrations at open.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::migrations::{self, Migration};
use crate::time::now_millis;

use super::map_err;

/// Brings the schema up to date, one `BEGIN IMMEDIATE` transaction per migration
/// (the write lock serialises concurrent openers), and returns the final version.
pub(crate) fn migrate(conn: &mut Connection, list: &'static [Migration]) -> Result<i64> {
    let supported = list.last().map_or(0, |m| m.version);
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY NOT NULL,
             name       TEXT NOT NULL,
             applied_at INTEGER NOT NULL
         ) STRICT;",
    )
    .map_err(map_err)?;
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let current: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(map_err)?;
        if current > supported {
            return Err(StoreError::SchemaTooNew {
                found: current,
                supported,
            });
        }
        let Some(m) = migrations::next_after(list, current) else {
            tx.commit().map_err(map_err)?;
            return Ok(current);
        };
        tx.execute_batch(m.sql).map_err(map_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, now_millis()],
        )
        .map_err(map_err)?;
        tx.commit().map_err(map_err)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied SQLite migration"
        );
    }
}
