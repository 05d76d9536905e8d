//! The PostgreSQL backend: for cloud deployments, pooled with deadpool.

mod app_state;
mod commit;
mod contacts;
mod device;
mod events;
mod messages;
mod migrate;
mod outbox;
mod retention;
mod signal;
pub mod tls;
mod webhooks;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    GenericClient, Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime,
};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};

use crate::Store;
use crate::account::{Account, AccountId, AccountPatch, AccountStatus, AccountStore, NewAccount};
use crate::error::{Result, StoreError};
use crate::settings::{self, SettingsStore};
use crate::time::{from_millis, now_millis, to_millis};
use crate::uri::PostgresOptions;

/// How long to wait for a pooled connection before failing the operation.
const POOL_WAIT: Duration = Duration::from_secs(30);
/// How long to wait for a new connection to be established.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often idle connections beyond `max_idle`, or older than `max_lifetime`, are
/// closed (at most; a shorter lifetime checks more often).
const REAP_EVERY: Duration = Duration::from_secs(5);

/// A store in one PostgreSQL database, used through a connection pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// The backend tag used in configuration and logs.
    pub const KIND: &'static str = "postgres";

    /// Connects, checks the server answers, and applies pending migrations.
    /// Connections use TLS as the URI's `sslmode` says (see [`tls`]).
    pub async fn open(options: PostgresOptions) -> Result<Self> {
        let mut config = options.config;
        config.ssl_mode(options.tls.mode.driver_mode());
        let connector = tls::connector(&options.tls).map_err(StoreError::InvalidInput)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("wa-connector");
        }
        let manager = Manager::from_config(
            config,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let mut builder = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT));
        if let Some(lifetime) = options.max_lifetime {
            // A connection past its lifetime is dropped instead of lent again.
            builder = builder.pre_recycle(Hook::sync_fn(move |_, metrics| {
                if metrics.age() >= lifetime {
                    Err(HookError::message(
                        "connection reached DB_CONN_MAX_LIFETIME",
                    ))
                } else {
                    Ok(())
                }
            }));
        }
        let pool = builder.build().map_err(StoreError::backend)?;
        if options.max_idle.is_some() || options.max_lifetime.is_some() {
            spawn_reaper(&pool, options.max_idle, options.max_lifetime);
        }
        let store = PostgresStore { pool };
        let mut client = store.client().await?;
        let version = migrate::migrate(&mut client).await?;
        tracing::debug!(version, "opened PostgreSQL store");
        Ok(store)
    }

    /// Whether this store's connections are encrypted (the server's
    /// `pg_stat_ssl` for the session), for diagnostics.
    pub async fn is_encrypted(&self) -> Result<bool> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .map_err(map_err)?;
        Ok(row.get(0))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(StoreError::backend)
    }
}

/// Closes, every little while, idle connections beyond `max_idle` and those older
/// than `max_lifetime`; stops when the pool is dropped.
fn spawn_reaper(pool: &Pool, max_idle: Option<usize>, max_lifetime: Option<Duration>) {
    let every = max_lifetime
        .map(|l| (l / 2).max(Duration::from_millis(100)))
        .unwrap_or(REAP_EVERY)
        .min(REAP_EVERY);
    let weak = pool.weak();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(pool) = weak.upgrade() else { return };
            let mut kept = 0;
            let reaped = pool.retain(|_, metrics| {
                let young = max_lifetime.is_none_or(|l| metrics.age() < l);
                let room = max_idle.is_none_or(|max| kept < max);
                if young && room {
                    kept += 1;
                }
                young && room
            });
            if !reaped.removed.is_empty() {
                tracing::debug!(
                    closed = reaped.removed.len(),
                    "closed idle PostgreSQL connections"
                );
            }
        }
    });
}

/// Maps driver errors; uniqueness violations are mapped by callers that know the key.
pub(crate) fn map_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::backend(e)
}

/// The constraint a unique violation hit (`"accounts_pkey"`), if it was one.
fn unique_violation(e: &tokio_postgres::Error) -> Option<String> {
    let db = e.as_db_error()?;
    (db.code() == &SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or("").to_string())
}

/// Reads one column; a value of the wrong type is corruption.
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T> {
    row.try_get(idx)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Runs a statement through the connection's prepared-statement cache (one round trip
/// once warm); returns the rows it affected.
pub(crate) async fn exec(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64> {
    let stmt = client.prepare_cached(sql).await.map_err(map_err)?;
    client.execute(&stmt, params).await.map_err(map_err)
}

/// Runs a query through the prepared-statement cache.
pub(crate) async fn query(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>> {
    let stmt = client.prepare_cached(sql).await.map_err(map_err)?;
    client.query(&stmt, params).await.map_err(map_err)
}

/// `NotFound` unless the account exists. Inside a transaction the row stays locked
/// against deletion (`FOR KEY SHARE`) until the commit, without serialising writers.
pub(crate) async fn require_account(client: &impl GenericClient, id: &str) -> Result<()> {
    let rows = query(
        client,
        "SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE",
        &[&id],
    )
    .await?;
    if rows.is_empty() {
        return Err(StoreError::not_found("account", id));
    }
    Ok(())
}

const ACCOUNT_COLUMNS: &str = "id, jid, push_name, status, created_at, updated_at";

fn to_account(row: &Row) -> Result<Account> {
    let get = |e: tokio_postgres::Error| StoreError::Corrupt(e.to_string());
    let id: String = row.try_get(0).map_err(get)?;
    let status: String = row.try_get(3).map_err(get)?;
    Ok(Account {
        id: AccountId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        jid: row.try_get(1).map_err(get)?,
        push_name: row.try_get(2).map_err(get)?,
        status: AccountStatus::from_db(&status)?,
        created_at: from_millis(row.try_get(4).map_err(get)?),
        updated_at: from_millis(row.try_get(5).map_err(get)?),
    })
}

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_account(&self, new: NewAccount) -> Result<Account> {
        new.validate()?;
        let client = self.client().await?;
        let now = now_millis();
        client
            .execute(
                "INSERT INTO accounts (id, jid, push_name, status, created_at, updated_at)
                 VALUES ($1, NULL, $2, $3, $4, $4)",
                &[
                    &new.id.as_str(),
                    &new.push_name,
                    &AccountStatus::Pending.as_str(),
                    &now,
                ],
            )
            .await
            .map_err(|e| match unique_violation(&e) {
                Some(_) => StoreError::conflict("account", new.id.as_str()),
                None => map_err(e),
            })?;
        Ok(Account {
            id: new.id,
            jid: None,
            push_name: new.push_name,
            status: AccountStatus::Pending,
            created_at: from_millis(now),
            updated_at: from_millis(now),
        })
    }

    async fn get_account(&self, id: &AccountId) -> Result<Account> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"),
                &[&id.as_str()],
            )
            .await
            .map_err(map_err)?;
        match row {
            Some(row) => to_account(&row),
            None => Err(StoreError::not_found("account", id.as_str())),
        }
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id COLLATE \"C\""),
                &[],
            )
            .await
            .map_err(map_err)?;
        rows.iter().map(to_account).collect()
    }

    async fn update_account(&self, id: &AccountId, patch: AccountPatch) -> Result<Account> {
        patch.validate()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let row = tx
            .query_opt(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 FOR UPDATE"),
                &[&id.as_str()],
            )
            .await
            .map_err(map_err)?;
        let current = match row {
            Some(row) => to_account(&row)?,
            None => return Err(StoreError::not_found("account", id.as_str())),
        };
        let new_jid = patch.jid.clone().flatten();
        let updated = patch.apply(current, from_millis(now_millis()));
        tx.execute(
            "UPDATE accounts SET jid = $2, push_name = $3, status = $4, updated_at = $5
             WHERE id = $1",
            &[
                &id.as_str(),
                &updated.jid,
                &updated.push_name,
                &updated.status.as_str(),
                &to_millis(updated.updated_at),
            ],
        )
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(_) => StoreError::conflict("account jid", new_jid.unwrap_or_default()),
            None => map_err(e),
        })?;
        tx.commit().await.map_err(map_err)?;
        Ok(updated)
    }

    async fn delete_account(&self, id: &AccountId) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute("DELETE FROM accounts WHERE id = $1", &[&id.as_str()])
            .await
            .map_err(map_err)?;
        if n == 0 {
            return Err(StoreError::not_found("account", id.as_str()));
        }
        Ok(())
    }
}

#[async_trait]
impl SettingsStore for PostgresStore {
    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        settings::validate_key(key)?;
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])
            .await
            .map_err(map_err)?;
        row.map(|r| r.try_get(0).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        settings::validate_key(key)?;
        settings::validate_value(value)?;
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value,
                                                 updated_at = EXCLUDED.updated_at",
                &[&key, &value, &now_millis()],
            )
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_setting(&self, key: &str) -> Result<bool> {
        settings::validate_key(key)?;
        let client = self.client().await?;
        let n = client
            .execute("DELETE FROM settings WHERE key = $1", &[&key])
            .await
            .map_err(map_err)?;
        Ok(n > 0)
    }

    async fn list_settings(&self) -> Result<Vec<(String, String)>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT key, value FROM settings ORDER BY key COLLATE \"C\"",
                &[],
            )
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    r.try_get(1)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }
}

impl Store for PostgresStore {
    fn kind(&self) -> &'static str {
        Self::KIND
    }
}
