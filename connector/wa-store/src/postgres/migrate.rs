//! Applies PostgreSQL's numbered migrations at open.

use crate::error::{Result, StoreError};
use crate::migrations::{self, POSTGRES};
use crate::time::now_millis;

use super::map_err;

/// Advisory lock key that serialises migrations between connectors opening the same
/// database at once ("wa_store" in ASCII).
const MIGRATION_LOCK: i64 = 0x77615f73746f7265;

/// Brings the schema up to date, one transaction per migration, each holding the
/// advisory lock so concurrent openers apply every migration exactly once.
pub(crate) async fn migrate(client: &mut deadpool_postgres::Object) -> Result<i64> {
    let supported = POSTGRES.last().map_or(0, |m| m.version);
    loop {
        let tx = client.transaction().await.map_err(map_err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(map_err)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at BIGINT NOT NULL
             )",
        )
        .await
        .map_err(map_err)?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                &[],
            )
            .await
            .map_err(map_err)?
            .get(0);
        if current > supported {
            return Err(StoreError::SchemaTooNew {
                found: current,
                supported,
            });
        }
        let Some(m) = migrations::next_after(POSTGRES, current) else {
            tx.commit().await.map_err(map_err)?;
            return Ok(current);
        };
        tx.batch_execute(m.sql).await.map_err(map_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &now_millis()],
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied PostgreSQL migration"
        );
    }
}
