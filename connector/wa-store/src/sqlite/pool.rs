//! A small pool of SQLite connections, each used on tokio's blocking threads.
//!
//! rusqlite is synchronous: every operation runs inside `spawn_blocking` on a
//! connection taken from the pool, so async callers never block a runtime worker.
//! Connections open lazily; one lost to a panic is simply reopened next time.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
        // Per connection: referential integrity, and full durability (a message
        // acknowledged to WhatsApp must survive a power cut).
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
            .map_err(StoreError::backend)?;
        Ok(conn)
    }
}

/// Up to `size` connections, lent one at a time to blocking closures.
#[derive(Debug)]
pub(crate) struct Pool {
    opener: Arc<Opener>,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    pub(crate) fn new(opener: Opener, size: usize, first: Connection) -> Self {
        Pool {
            opener: Arc::new(opener),
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(size.max(1))),
        }
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
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let opener = self.opener.clone();
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let mut conn = match idle {
                Some(c) => c,
                None => match opener.open() {
                    Ok(c) => c,
                    Err(e) => return (None, Err(e)),
                },
            };
            let result = f(&mut conn);
            (Some(conn), result)
        })
        .await
        .map_err(StoreError::backend)?;
        if let Some(conn) = conn {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(conn);
        }
        drop(permit);
        result
    }
}
