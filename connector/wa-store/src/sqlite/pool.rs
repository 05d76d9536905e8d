//! A small pool of SQLite connections, each used on tokio's blocking threads.
//!
//! rusqlite is synchronous: every operation runs inside `spawn_blocking` on a
//! connection taken from the pool, so async callers never block a runtime worker.
//! Connections open lazily; one lost to a panic is simply reopened next time.
//! At most `size` are open at once; at most `max_idle` are kept when handed back, and
//! one older than `max_lifetime` is closed rather than reused. Every connection is
//! closed with `PRAGMA optimize`, so the query planner's statistics stay current.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::error::{Result, StoreError};

/// How each connection is opened and set up.
#[derive(Debug, Clone)]
pub(crate) struct Opener {
    /// A file path, or a `file:` URI naming a shared in-memory database.
    pub target: PathBuf,
    /// Whether `target` is a URI (`SQLITE_OPEN_URI`).
    pub uri: bool,
    pub busy_timeout: Duration,
    /// `PRAGMA cache_size` in KiB (`None`: SQLite's default).
    pub cache_size_kib: Option<u32>,
    /// `PRAGMA synchronous`.
    pub synchronous: crate::uri::SqliteSynchronous,
}

impl Opener {
    pub(crate) fn open(&self) -> Result<Connection> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if self.uri {
            flags |= OpenFlags::SQLITE_OPEN_URI;
        }
        let conn = Connection::open_with_flags(&self.target, flags).map_err(StoreError::backend)?;
        conn.busy_timeout(self.busy_timeout)
            .map_err(StoreError::backend)?;
        // Per connection: referential integrity, and the configured durability (FULL
        // by default: a message acknowledged to WhatsApp must survive a power cut).
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = {};",
            self.synchronous.as_str()
        ))
        .map_err(StoreError::backend)?;
        if let Some(kib) = self.cache_size_kib {
            // A negative cache size is in KiB rather than pages.
            conn.execute_batch(&format!("PRAGMA cache_size = -{kib};"))
                .map_err(StoreError::backend)?;
        }
        Ok(conn)
    }
}

/// A pooled connection and when it was opened (for `max_lifetime`).
#[derive(Debug)]
struct Pooled {
    conn: Connection,
    opened: Instant,
}

/// Closes a connection the pool no longer keeps, refreshing planner statistics first
/// (off the async workers: `PRAGMA optimize` may wait for the write lock).
fn close_later(conn: Connection) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(move || close(conn))),
        Err(_) => close(conn),
    }
}

/// Closes a connection, refreshing planner statistics first.
fn close(conn: Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA optimize;") {
        tracing::debug!(error = %e, "PRAGMA optimize at close failed");
    }
    drop(conn);
}

/// Limits on the pool's connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// At most this many open (and lent) at once.
    pub size: usize,
    /// At most this many kept unused.
    pub max_idle: Option<usize>,
    /// Connections older than this are closed instead of reused.
    pub max_lifetime: Option<Duration>,
}

/// Up to `size` connections, lent one at a time to blocking closures.
#[derive(Debug)]
pub(crate) struct Pool {
    opener: Arc<Opener>,
    idle: Mutex<Vec<Pooled>>,
    permits: Arc<Semaphore>,
    limits: Limits,
    /// Connections opened so far, the first included.
    opened: Arc<std::sync::atomic::AtomicU64>,
    /// Taken by every write transaction: SQLite admits one writer at a time,
    /// and writers of this process queue here in order instead of in SQLite's
    /// busy handler, which retries with sleeps growing to 100 ms.
    writer: tokio::sync::Mutex<()>,
}

impl Pool {
    pub(crate) fn new(opener: Opener, limits: Limits, first: Connection) -> Self {
        let pool = Pool {
            opener: Arc::new(opener),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(limits.size.max(1))),
            limits,
            opened: Arc::new(std::sync::atomic::AtomicU64::new(1)),
            writer: tokio::sync::Mutex::new(()),
        };
        pool.give_back(Pooled {
            conn: first,
            opened: Instant::now(),
        });
        pool
    }

    /// Connections kept unused right now.
    pub(crate) fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Connections opened since the pool was created.
    pub(crate) fn opened(&self) -> u64 {
        self.opened.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a connection opened at `opened` has outlived `max_lifetime`.
    fn expired(&self, opened: Instant) -> bool {
        self.limits
            .max_lifetime
            .is_some_and(|lifetime| opened.elapsed() >= lifetime)
    }

    /// Takes an idle connection that has not expired (expired ones are closed).
    fn take_idle(&self) -> Option<Pooled> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(pooled) = idle.pop() {
            if self.expired(pooled.opened) {
                close_later(pooled.conn);
            } else {
                return Some(pooled);
            }
        }
        None
    }

    /// Keeps a connection for reuse unless it has expired or enough are idle.
    fn give_back(&self, pooled: Pooled) {
        if self.expired(pooled.opened) {
            return close_later(pooled.conn);
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if self.limits.max_idle.is_some_and(|max| idle.len() >= max) {
            drop(idle);
            return close_later(pooled.conn);
        }
        idle.push(pooled);
    }

    /// Runs `f`, a write transaction, on a pooled connection once the writers
    /// before it are done (first come, first served).
    pub(crate) async fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R> + Send + 'static,
    {
        let _turn = self.writer.lock().await;
        self.run(f).await
    }

    /// Runs `f` on a pooled connection on a blocking thread.
    pub(crate) async fn run<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(StoreError::backend)?;
        let idle = self.take_idle();
        let opener = self.opener.clone();
        let opened = self.opened.clone();
        let (pooled, result) = tokio::task::spawn_blocking(move || {
            let mut pooled = match idle {
                Some(p) => p,
                None => match opener.open() {
                    Ok(conn) => {
                        opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        Pooled {
                            conn,
                            opened: Instant::now(),
                        }
                    }
                    Err(e) => return (None, Err(e)),
                },
            };
            let result = f(&mut pooled.conn);
            (Some(pooled), result)
        })
        .await
        .map_err(StoreError::backend)?;
        if let Some(pooled) = pooled {
            self.give_back(pooled);
        }
        drop(permit);
        result
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|e| e.into_inner()));
        for pooled in idle {
            close(pooled.conn);
        }
    }
}
