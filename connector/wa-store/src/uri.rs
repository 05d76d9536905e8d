//! Choosing a backend from a database URI, as the product's configuration gives it.
//!
//! Follows the convention of GOWA's `DB_URI`: `file:path?…` or `sqlite:path` selects
//! SQLite, `postgres://…` or `postgresql://…` selects PostgreSQL.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Result, StoreError};

/// Connections kept by the SQLite pool unless `pool_size` says otherwise.
pub const DEFAULT_SQLITE_POOL_SIZE: usize = 4;
/// Connections kept by the PostgreSQL pool unless `pool_size` says otherwise.
pub const DEFAULT_POSTGRES_POOL_SIZE: usize = 8;
/// How long SQLite waits for a lock held by another connection before failing.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_POOL_SIZE: usize = 256;

/// Connection-pool limits, shared by both backends (`DB_MAX_OPEN_CONNS`,
/// `DB_MAX_IDLE_CONNS`, `DB_CONN_MAX_LIFETIME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolOptions {
    /// At most this many connections at once (overrides the URI's `pool_size`).
    pub max_open: Option<usize>,
    /// At most this many unused connections kept open; extra ones are closed when
    /// they are handed back. `Some(0)` keeps none.
    pub max_idle: Option<usize>,
    /// A connection older than this is closed instead of being reused.
    pub max_lifetime: Option<Duration>,
}

/// How SQLite makes a commit durable (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSynchronous {
    /// `FULL`: a committed transaction survives a power cut (the default: a message
    /// acknowledged to WhatsApp must not be lost).
    #[default]
    Full,
    /// `NORMAL`: with WAL, never corrupts, but the last commits before a power cut
    /// (not a crash of the process) may be lost; fewer fsyncs.
    Normal,
}

impl SqliteSynchronous {
    /// The pragma's value.
    pub fn as_str(self) -> &'static str {
        match self {
            SqliteSynchronous::Full => "FULL",
            SqliteSynchronous::Normal => "NORMAL",
        }
    }

    /// Parses `full` / `normal` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "full" | "2" => Some(SqliteSynchronous::Full),
            "normal" | "1" => Some(SqliteSynchronous::Normal),
            _ => None,
        }
    }
}

/// Store settings the configuration gives outside the URI; a `None` leaves the
/// URI's (or the default) value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreOptions {
    /// Pool limits, both backends.
    pub pool: PoolOptions,
    /// SQLite lock wait.
    pub sqlite_busy_timeout: Option<Duration>,
    /// SQLite page cache per connection, in KiB.
    pub sqlite_cache_size_kib: Option<u32>,
    /// SQLite durability.
    pub sqlite_synchronous: Option<SqliteSynchronous>,
}

/// Where SQLite keeps the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteLocation {
    /// A file (created with its parent folders if missing).
    File(PathBuf),
    /// Private memory, gone when the store is dropped: for tests and trials.
    Memory,
}

/// SQLite settings parsed from a URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// File or memory.
    pub location: SqliteLocation,
    /// Connections in the pool (`pool_size=`); memory databases always use one.
    pub pool_size: usize,
    /// Lock wait (`_busy_timeout=` or `busy_timeout=`, milliseconds).
    pub busy_timeout: Duration,
    /// Unused connections kept open (`None`: all of them).
    pub max_idle: Option<usize>,
    /// Connections older than this are reopened (`None`: never).
    pub max_lifetime: Option<Duration>,
    /// Page cache per connection in KiB (`cache_size=`; `None`: SQLite's default, 2 MiB).
    pub cache_size_kib: Option<u32>,
    /// `PRAGMA synchronous` (`_synchronous=`).
    pub synchronous: SqliteSynchronous,
}

impl SqliteOptions {
    /// Options for a file with default pool size and busy timeout.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            location: SqliteLocation::File(path.into()),
            pool_size: DEFAULT_SQLITE_POOL_SIZE,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            max_idle: None,
            max_lifetime: None,
            cache_size_kib: None,
            synchronous: SqliteSynchronous::default(),
        }
    }

    /// Options for a private in-memory database.
    pub fn memory() -> Self {
        SqliteOptions {
            location: SqliteLocation::Memory,
            pool_size: 1,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            max_idle: None,
            max_lifetime: None,
            cache_size_kib: None,
            synchronous: SqliteSynchronous::default(),
        }
    }
}

/// PostgreSQL settings parsed from a URI.
#[derive(Clone)]
pub struct PostgresOptions {
    /// Connection settings (host, port, user, password, database, …).
    pub config: tokio_postgres::Config,
    /// Connections in the pool (`pool_size=`, removed before the rest is handed to
    /// the driver).
    pub pool_size: usize,
    /// Unused connections kept open (`None`: all of them).
    pub max_idle: Option<usize>,
    /// Connections older than this are closed instead of reused (`None`: never).
    pub max_lifetime: Option<Duration>,
    /// `sslmode` and `sslrootcert`, as libpq reads them.
    pub tls: crate::postgres::tls::TlsOptions,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // tokio_postgres::Config's Debug already redacts the password.
        f.debug_struct("PostgresOptions")
            .field("config", &self.config)
            .field("pool_size", &self.pool_size)
            .field("max_idle", &self.max_idle)
            .field("max_lifetime", &self.max_lifetime)
            .field("tls", &self.tls)
            .finish()
    }
}

/// A parsed database URI: which backend, with what settings.
// Parsed once at startup: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum DatabaseUri {
    /// `file:` or `sqlite:`.
    Sqlite(SqliteOptions),
    /// `postgres://` or `postgresql://`.
    Postgres(PostgresOptions),
}

impl FromStr for DatabaseUri {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        DatabaseUri::parse(s)
    }
}

impl DatabaseUri {
    /// Parses a URI; a URI that names no known backend or holds bad settings is
    /// [`StoreError::InvalidUri`].
    pub fn parse(uri: &str) -> Result<Self> {
        let bad = |reason: String| StoreError::InvalidUri {
            uri: redact(uri),
            reason,
        };
        let trimmed = uri.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return parse_postgres(trimmed)
                .map(DatabaseUri::Postgres)
                .map_err(bad);
        }
        let rest = if lower.starts_with("file:") {
            &trimmed[5..]
        } else if lower.starts_with("sqlite:") {
            &trimmed[7..]
        } else if trimmed.is_empty() {
            return Err(bad("the URI is empty".into()));
        } else {
            return Err(bad(
                "unknown scheme: use `file:path.db`, `sqlite:path.db`, `sqlite::memory:` \
                 or `postgres://user:password@host:port/database`"
                    .into(),
            ));
        };
        parse_sqlite(rest).map(DatabaseUri::Sqlite).map_err(bad)
    }

    /// Applies settings given outside the URI (they win over the URI's own); SQLite
    /// settings are ignored for PostgreSQL. A memory database keeps its one connection.
    pub fn apply(&mut self, options: &StoreOptions) {
        let pool = &options.pool;
        match self {
            DatabaseUri::Sqlite(o) => {
                if let Some(n) = pool.max_open
                    && o.location != SqliteLocation::Memory
                {
                    o.pool_size = n.clamp(1, MAX_POOL_SIZE);
                }
                o.max_idle = pool.max_idle.or(o.max_idle);
                o.max_lifetime = pool.max_lifetime.or(o.max_lifetime);
                o.busy_timeout = options.sqlite_busy_timeout.unwrap_or(o.busy_timeout);
                o.cache_size_kib = options.sqlite_cache_size_kib.or(o.cache_size_kib);
                o.synchronous = options.sqlite_synchronous.unwrap_or(o.synchronous);
            }
            DatabaseUri::Postgres(o) => {
                if let Some(n) = pool.max_open {
                    o.pool_size = n.clamp(1, MAX_POOL_SIZE);
                }
                o.max_idle = pool.max_idle.or(o.max_idle);
                o.max_lifetime = pool.max_lifetime.or(o.max_lifetime);
            }
        }
    }
}

fn parse_sqlite(rest: &str) -> std::result::Result<SqliteOptions, String> {
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    // `sqlite://rel.db` and `file:///abs.db` both drop the authority slashes.
    let path = path.strip_prefix("//").unwrap_or(path);
    let mut opts = if path == ":memory:" || path.is_empty() && query.contains("mode=memory") {
        SqliteOptions::memory()
    } else if path.is_empty() {
        return Err("no database file path after the scheme".into());
    } else {
        SqliteOptions::file(path)
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "pool_size" | "_pool_size" => {
                let n: usize = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_POOL_SIZE).contains(n))
                    .ok_or_else(|| {
                        format!("pool_size must be 1 to {MAX_POOL_SIZE}, got {value:?}")
                    })?;
                if opts.location != SqliteLocation::Memory {
                    opts.pool_size = n;
                }
            }
            "busy_timeout" | "_busy_timeout" => {
                let ms: u64 = value
                    .parse()
                    .map_err(|_| format!("busy_timeout must be milliseconds, got {value:?}"))?;
                opts.busy_timeout = Duration::from_millis(ms);
            }
            "cache_size" | "_cache_size" => {
                let kib: u32 = value
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("cache_size must be KiB above 0, got {value:?}"))?;
                opts.cache_size_kib = Some(kib);
            }
            "_synchronous" | "_sync" | "synchronous" => {
                opts.synchronous = SqliteSynchronous::parse(value)
                    .ok_or_else(|| format!("synchronous must be full or normal, got {value:?}"))?;
            }
            "mode" if value == "memory" => opts.location = SqliteLocation::Memory,
            "mode" if value == "rwc" => {}
            "mode" => return Err(format!("unsupported mode {value:?} (use rwc or memory)")),
            // go-sqlite3 style switches that the store always sets itself.
            "_foreign_keys" | "_fk" | "_journal_mode" | "_journal" | "cache" | "_txlock" => {
                tracing::debug!(key, "ignoring SQLite URI option the store manages itself");
            }
            other => {
                tracing::warn!(key = other, "ignoring unknown SQLite URI option");
            }
        }
    }
    if opts.location == SqliteLocation::Memory {
        opts.pool_size = 1;
    }
    Ok(opts)
}

fn parse_postgres(uri: &str) -> std::result::Result<PostgresOptions, String> {
    let mut pool_size = DEFAULT_POSTGRES_POOL_SIZE;
    let mut tls = crate::postgres::tls::TlsOptions::default();
    // The driver only knows lower-case schemes.
    let uri = match uri.split_once("://") {
        Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        None => uri.to_string(),
    };
    let uri = uri.as_str();
    // Our own `pool_size` option is not the driver's: take it out first.
    let uri = match uri.split_once('?') {
        Some((base, query)) => {
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("pool_size", v)) | Some(("pool_max_conns", v)) => {
                        pool_size = v
                            .parse()
                            .ok()
                            .filter(|n| (1..=MAX_POOL_SIZE).contains(n))
                            .ok_or_else(|| {
                                format!("pool_size must be 1 to {MAX_POOL_SIZE}, got {v:?}")
                            })?;
                    }
                    // The driver knows fewer TLS levels than libpq: ours.
                    Some(("sslmode", v)) => tls.mode = crate::postgres::tls::SslMode::parse(v)?,
                    Some(("sslrootcert", v)) => tls.root_cert = Some(v.into()),
                    _ => kept.push(pair),
                }
            }
            if kept.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", kept.join("&"))
            }
        }
        None => uri.to_string(),
    };
    let config = tokio_postgres::Config::from_str(&uri).map_err(|e| e.to_string())?;
    if config.get_hosts().is_empty() {
        return Err("no host".into());
    }
    Ok(PostgresOptions {
        config,
        pool_size,
        max_idle: None,
        max_lifetime: None,
        tls,
    })
}

/// The URI with any password replaced by `***`, safe for logs and errors.
pub fn redact(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://") else {
        return uri.to_string();
    };
    let after = &uri[scheme_end + 3..];
    let authority_end = after.find(['/', '?']).unwrap_or(after.len());
    let authority = &after[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return uri.to_string();
    };
    let userinfo = &authority[..at];
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{}{user}:***{}", &uri[..scheme_end + 3], &after[at..]),
        None => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(uri: &str) -> SqliteOptions {
        match DatabaseUri::parse(uri).unwrap() {
            DatabaseUri::Sqlite(o) => o,
            other => panic!("expected SQLite for {uri}, got {other:?}"),
        }
    }

    #[test]
    fn gowa_file_uri_selects_sqlite() {
        let o = sqlite("file:storages/whatsapp.db?_foreign_keys=on");
        assert_eq!(
            o.location,
            SqliteLocation::File("storages/whatsapp.db".into())
        );
        assert_eq!(o.pool_size, DEFAULT_SQLITE_POOL_SIZE);
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(
            sqlite("sqlite:data/wa.db").location,
            SqliteLocation::File("data/wa.db".into())
        );
        assert_eq!(
            sqlite("sqlite://data/wa.db").location,
            SqliteLocation::File("data/wa.db".into())
        );
        assert_eq!(
            sqlite("file:///var/wa.db").location,
            SqliteLocation::File("/var/wa.db".into())
        );
        assert_eq!(sqlite("sqlite::memory:").location, SqliteLocation::Memory);
        assert_eq!(
            sqlite("file::memory:?cache=shared").location,
            SqliteLocation::Memory
        );
        assert_eq!(
            sqlite("file:x?mode=memory").location,
            SqliteLocation::Memory
        );
        assert_eq!(sqlite("sqlite::memory:?pool_size=9").pool_size, 1);
        let o = sqlite("file:wa.db?pool_size=2&_busy_timeout=250");
        assert_eq!(
            (o.pool_size, o.busy_timeout),
            (2, Duration::from_millis(250))
        );
    }

    #[test]
    fn sqlite_tuning_from_uri_and_options() {
        let o = sqlite("file:wa.db?cache_size=8192&_synchronous=normal");
        assert_eq!(o.cache_size_kib, Some(8192));
        assert_eq!(o.synchronous, SqliteSynchronous::Normal);
        let mut uri = DatabaseUri::parse("file:wa.db?pool_size=2&_busy_timeout=250").unwrap();
        uri.apply(&StoreOptions {
            pool: PoolOptions {
                max_open: Some(7),
                max_idle: Some(3),
                max_lifetime: Some(Duration::from_secs(60)),
            },
            sqlite_busy_timeout: Some(Duration::from_secs(2)),
            sqlite_cache_size_kib: Some(100),
            sqlite_synchronous: Some(SqliteSynchronous::Normal),
        });
        let DatabaseUri::Sqlite(o) = uri else {
            panic!("not SQLite")
        };
        assert_eq!(
            (o.pool_size, o.max_idle, o.max_lifetime, o.busy_timeout),
            (
                7,
                Some(3),
                Some(Duration::from_secs(60)),
                Duration::from_secs(2)
            )
        );
        assert_eq!(
            (o.cache_size_kib, o.synchronous),
            (Some(100), SqliteSynchronous::Normal)
        );
        // Settings not given leave the URI's.
        let mut uri = DatabaseUri::parse("file:wa.db?pool_size=2&_busy_timeout=250").unwrap();
        uri.apply(&StoreOptions::default());
        let DatabaseUri::Sqlite(o) = uri else {
            panic!("not SQLite")
        };
        assert_eq!(
            (o.pool_size, o.busy_timeout),
            (2, Duration::from_millis(250))
        );
        let mut uri = DatabaseUri::parse("postgres://u@h/wa?pool_size=3").unwrap();
        uri.apply(&StoreOptions {
            pool: PoolOptions {
                max_open: Some(5),
                max_idle: Some(2),
                max_lifetime: None,
            },
            ..StoreOptions::default()
        });
        let DatabaseUri::Postgres(o) = uri else {
            panic!("not Postgres")
        };
        assert_eq!((o.pool_size, o.max_idle), (5, Some(2)));
    }

    #[test]
    fn postgres_forms() {
        for uri in [
            "postgres://u:p@localhost:5432/wa",
            "postgresql://u@127.0.0.1/wa?sslmode=disable&pool_size=3",
            "POSTGRES://u@h/wa",
        ] {
            match DatabaseUri::parse(uri).unwrap() {
                DatabaseUri::Postgres(o) => assert!(o.pool_size > 0),
                other => panic!("expected Postgres for {uri}, got {other:?}"),
            }
        }
        match DatabaseUri::parse("postgres://u@h/wa?pool_size=3").unwrap() {
            DatabaseUri::Postgres(o) => {
                assert_eq!(o.pool_size, 3);
                assert_eq!(o.config.get_dbname(), Some("wa"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_uris_are_typed_errors() {
        for uri in [
            "",
            "mysql://u@h/db",
            "wa.db",
            "file:",
            "sqlite:",
            "file:wa.db?pool_size=0",
            "file:wa.db?pool_size=lots",
            "file:wa.db?_busy_timeout=soon",
            "file:wa.db?mode=ro",
            "file:wa.db?cache_size=0",
            "file:wa.db?_synchronous=off",
            "postgres://u@h/db?pool_size=0",
            "postgres://u@h:notaport/db",
            "postgres://u@h/db?nonsense_option=1",
        ] {
            match DatabaseUri::parse(uri) {
                Err(StoreError::InvalidUri { reason, .. }) => assert!(!reason.is_empty()),
                other => panic!("{uri:?} should be InvalidUri, got {other:?}"),
            }
        }
    }

    #[test]
    fn errors_never_show_passwords() {
        let err = DatabaseUri::parse("postgres://wa:hunter2@h:bad/db").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("wa:***@h"), "{text}");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("file:wa.db"), "file:wa.db");
    }
}
