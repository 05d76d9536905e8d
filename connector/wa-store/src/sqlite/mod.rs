//! The SQLite backend: the embedded default, one file (WAL mode) next to the connector.

mod app_state;
mod commit;
mod contacts;
mod device;
mod events;
mod messages;
mod migrate;
mod outbox;
mod pool;
mod retention;
mod signal;
mod webhooks;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};

use crate::Store;
use crate::account::{Account, AccountId, AccountPatch, AccountStatus, AccountStore, NewAccount};
use crate::error::{Result, StoreError};
use crate::migrations;
use crate::settings::{self, SettingsStore};
use crate::time::{from_millis, now_millis, to_millis};
use crate::uri::{SqliteLocation, SqliteOptions};

use pool::{Limits, Opener, Pool};

/// A store in one SQLite database, used through a small pool of connections.
#[derive(Debug)]
pub struct SqliteStore {
    pool: Pool,
    location: SqliteLocation,
    /// Keeps a shared in-memory database alive for as long as the store lives.
    _memory_anchor: Option<Mutex<Connection>>,
}

impl SqliteStore {
    /// The backend tag used in configuration and logs.
    pub const KIND: &'static str = "sqlite";

    /// Opens (creating if needed) the database, switches it to WAL mode and applies
    /// pending migrations.
    pub async fn open(options: SqliteOptions) -> Result<Self> {
        let (opener, anchor) = match &options.location {
            SqliteLocation::File(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(StoreError::backend)?;
                }
                let opener = Opener {
                    target: path.clone(),
                    uri: false,
                    busy_timeout: options.busy_timeout,
                    cache_size_kib: options.cache_size_kib,
                    synchronous: options.synchronous,
                };
                (opener, None)
            }
            SqliteLocation::Memory => {
                // A named shared-cache memory database, so the pool's connection and
                // the anchor see the same data; the name is unique per store.
                static NEXT: AtomicU64 = AtomicU64::new(0);
                let name = format!(
                    "file:wa-store-mem-{}-{}?mode=memory&cache=shared",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                let opener = Opener {
                    target: PathBuf::from(name),
                    uri: true,
                    busy_timeout: options.busy_timeout,
                    cache_size_kib: options.cache_size_kib,
                    synchronous: options.synchronous,
                };
                let anchor = opener.open()?;
                (opener, Some(Mutex::new(anchor)))
            }
        };
        let is_file = anchor.is_none();
        let setup = opener.clone();
        let (first, version) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut conn = setup.open()?;
            if is_file {
                // Lets deletes hand pages back with `PRAGMA incremental_vacuum`. Takes
                // effect only while the database is still empty (a new file); an
                // existing one keeps its mode until a full VACUUM.
                conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")
                    .map_err(map_err)?;
                let mode: String = conn
                    .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                    .map_err(map_err)?;
                if !mode.eq_ignore_ascii_case("wal") {
                    tracing::warn!(mode, "SQLite refused WAL mode");
                }
            }
            let version = migrate::migrate(&mut conn, migrations::SQLITE)?;
            // Statistics for the planner, cheap when nothing changed.
            conn.execute_batch("PRAGMA optimize;").map_err(map_err)?;
            Ok((conn, version))
        })
        .await
        .map_err(StoreError::backend)??;
        tracing::debug!(location = ?options.location, version, "opened SQLite store");
        Ok(SqliteStore {
            pool: Pool::new(
                opener,
                Limits {
                    size: options.pool_size,
                    max_idle: options.max_idle,
                    max_lifetime: options.max_lifetime,
                },
                first,
            ),
            location: options.location,
            _memory_anchor: anchor,
        })
    }

    /// Where the database lives.
    pub fn location(&self) -> &SqliteLocation {
        &self.location
    }

    /// A pragma's value as a pooled connection sees it (`"journal_mode"` →
    /// `"wal"`), for diagnostics: shows the settings really applied. Only pragma
    /// names (letters and `_`) are accepted.
    pub async fn pragma(&self, name: &str) -> Result<String> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic() || c == '_') {
            return Err(StoreError::InvalidInput(format!(
                "not a pragma name: {name:?}"
            )));
        }
        let sql = format!("PRAGMA {name}");
        self.pool
            .run(move |conn| {
                conn.query_row(&sql, [], |r| {
                    r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
                        rusqlite::types::Value::Integer(n) => n.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        other => format!("{other:?}"),
                    })
                })
                .map_err(map_err)
            })
            .await
    }

    /// Unused connections the pool keeps right now (at most `max_idle`).
    pub fn idle_connections(&self) -> usize {
        self.pool.idle()
    }

    /// Connections opened since the store was (shows `max_lifetime` reopening them).
    pub fn connections_opened(&self) -> u64 {
        self.pool.opened()
    }
}

/// Maps rusqlite errors: uniqueness violations are reported by the callers that know
/// which key was duplicated (see [`is_unique_violation`]); the rest are `Backend`.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

/// Which column a UNIQUE/PRIMARY KEY violation hit (`"accounts.jid"`), if it was one.
fn unique_violation(e: &rusqlite::Error) -> Option<String> {
    match e {
        rusqlite::Error::SqliteFailure(f, Some(msg))
            if f.code == ErrorCode::ConstraintViolation =>
        {
            msg.strip_prefix("UNIQUE constraint failed: ")
                .map(str::to_string)
        }
        _ => None,
    }
}

/// An `accounts` row as read, before validation.
type AccountRow = (String, Option<String>, Option<String>, String, i64, i64);

const ACCOUNT_COLUMNS: &str = "id, jid, push_name, status, created_at, updated_at";

fn read_account(row: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn to_account((id, jid, push_name, status, created, updated): AccountRow) -> Result<Account> {
    Ok(Account {
        id: AccountId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        jid,
        push_name,
        status: AccountStatus::from_db(&status)?,
        created_at: from_millis(created),
        updated_at: from_millis(updated),
    })
}

fn load_account(conn: &Connection, id: &str) -> Result<Account> {
    let row = conn
        .query_row(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"),
            [id],
            read_account,
        )
        .optional()
        .map_err(map_err)?;
    match row {
        Some(row) => to_account(row),
        None => Err(StoreError::not_found("account", id)),
    }
}

/// `NotFound` unless the account exists (checked first in a transaction, so a write
/// for an unknown account reports it rather than a foreign-key failure).
fn require_account(conn: &Connection, id: &str) -> Result<()> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")
        .map_err(map_err)?
        .exists([id])
        .map_err(map_err)?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::not_found("account", id))
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(&self, new: NewAccount) -> Result<Account> {
        new.validate()?;
        self.pool
            .run(move |conn| {
                let now = now_millis();
                let account = Account {
                    id: new.id,
                    jid: None,
                    push_name: new.push_name,
                    status: AccountStatus::Pending,
                    created_at: from_millis(now),
                    updated_at: from_millis(now),
                };
                conn.execute(
                    "INSERT INTO accounts (id, jid, push_name, status, created_at, updated_at)
                     VALUES (?1, NULL, ?2, ?3, ?4, ?4)",
                    params![
                        account.id.as_str(),
                        account.push_name,
                        account.status.as_str(),
                        now
                    ],
                )
                .map_err(|e| match unique_violation(&e) {
                    Some(_) => StoreError::conflict("account", account.id.as_str()),
                    None => map_err(e),
                })?;
                Ok(account)
            })
            .await
    }

    async fn get_account(&self, id: &AccountId) -> Result<Account> {
        let id = id.clone();
        self.pool
            .run(move |conn| load_account(conn, id.as_str()))
            .await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        self.pool
            .run(|conn| {
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id"
                    ))
                    .map_err(map_err)?;
                let rows = stmt
                    .query_map([], read_account)
                    .map_err(map_err)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(map_err)?;
                rows.into_iter().map(to_account).collect()
            })
            .await
    }

    async fn update_account(&self, id: &AccountId, patch: AccountPatch) -> Result<Account> {
        patch.validate()?;
        let id = id.clone();
        self.pool
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                let current = load_account(&tx, id.as_str())?;
                let new_jid = patch.jid.clone().flatten();
                let updated = patch.apply(current, from_millis(now_millis()));
                tx.execute(
                    "UPDATE accounts SET jid = ?2, push_name = ?3, status = ?4, updated_at = ?5
                     WHERE id = ?1",
                    params![
                        id.as_str(),
                        updated.jid,
                        updated.push_name,
                        updated.status.as_str(),
                        to_millis(updated.updated_at)
                    ],
                )
                .map_err(|e| match unique_violation(&e) {
                    Some(_) => StoreError::conflict("account jid", new_jid.unwrap_or_default()),
                    None => map_err(e),
                })?;
                tx.commit().map_err(map_err)?;
                Ok(updated)
            })
            .await
    }

    async fn delete_account(&self, id: &AccountId) -> Result<()> {
        let id = id.clone();
        self.pool
            .run(move |conn| {
                let n = conn
                    .execute("DELETE FROM accounts WHERE id = ?1", [id.as_str()])
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::not_found("account", id.as_str()));
                }
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        settings::validate_key(key)?;
        let key = key.to_string();
        self.pool
            .run(move |conn| {
                conn.query_row("SELECT value FROM settings WHERE key = ?1", [&key], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(map_err)
            })
            .await
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        settings::validate_key(key)?;
        settings::validate_value(value)?;
        let (key, value) = (key.to_string(), value.to_string());
        self.pool
            .run(move |conn| {
                conn.execute(
                    "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                                     updated_at = excluded.updated_at",
                    params![key, value, now_millis()],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn delete_setting(&self, key: &str) -> Result<bool> {
        settings::validate_key(key)?;
        let key = key.to_string();
        self.pool
            .run(move |conn| {
                let n = conn
                    .execute("DELETE FROM settings WHERE key = ?1", [&key])
                    .map_err(map_err)?;
                Ok(n > 0)
            })
            .await
    }

    async fn list_settings(&self) -> Result<Vec<(String, String)>> {
        self.pool
            .run(|conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT key, value FROM settings ORDER BY key")
                    .map_err(map_err)?;
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(map_err)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(map_err)
            })
            .await
    }
}

impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        Self::KIND
    }
}
