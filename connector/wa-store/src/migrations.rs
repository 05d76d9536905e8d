//! Numbered schema migrations, one list per backend, embedded in the binary.
//!
//! Each backend applies the ones newer than the version recorded in its
//! `schema_migrations` table, one transaction per migration, in order.

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// Its number: `NNN` of `migrations/<backend>/NNN_name.sql`.
    pub version: i64,
    /// The `name` part of the file name, recorded for humans.
    pub name: &'static str,
    /// The SQL it runs.
    pub sql: &'static str,
}

/// SQLite's migrations, in order.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/001_init.sql"),
    },
    Migration {
        version: 2,
        name: "devices",
        sql: include_str!("../migrations/sqlite/002_devices.sql"),
    },
    Migration {
        version: 3,
        name: "messaging",
        sql: include_str!("../migrations/sqlite/003_messaging.sql"),
    },
    Migration {
        version: 4,
        name: "webhooks",
        sql: include_str!("../migrations/sqlite/004_webhooks.sql"),
    },
    Migration {
        version: 5,
        name: "app_state",
        sql: include_str!("../migrations/sqlite/005_app_state.sql"),
    },
    Migration {
        version: 6,
        name: "message_ids",
        sql: include_str!("../migrations/sqlite/006_message_ids.sql"),
    },
];

/// PostgreSQL's migrations, in order.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/001_init.sql"),
    },
    Migration {
        version: 2,
        name: "devices",
        sql: include_str!("../migrations/postgres/002_devices.sql"),
    },
    Migration {
        version: 3,
        name: "messaging",
        sql: include_str!("../migrations/postgres/003_messaging.sql"),
    },
    Migration {
        version: 4,
        name: "webhooks",
        sql: include_str!("../migrations/postgres/004_webhooks.sql"),
    },
    Migration {
        version: 5,
        name: "app_state",
        sql: include_str!("../migrations/postgres/005_app_state.sql"),
    },
    Migration {
        version: 6,
        name: "message_ids",
        sql: include_str!("../migrations/postgres/006_message_ids.sql"),
    },
];

/// The newest schema version this binary knows (the same for every backend).
pub const SCHEMA_VERSION: i64 = 6;

/// Which migration comes after `current`, if any.
pub(crate) fn next_after(list: &'static [Migration], current: i64) -> Option<&'static Migration> {
    list.iter().find(|m| m.version > current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(list: &[Migration], dir: &str) {
        for (i, m) in list.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "migrations are numbered 1, 2, 3…");
        }
        assert_eq!(list.last().map(|m| m.version), Some(SCHEMA_VERSION));
        // Every file on disk is listed (a forgotten `include_str!` would silently skip it).
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut files: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|f| f.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<String> = list
            .iter()
            .map(|m| format!("{:03}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(files, listed);
    }

    #[test]
    fn sqlite_migrations_are_complete_and_ordered() {
        check(SQLITE, "migrations/sqlite");
    }

    #[test]
    fn postgres_migrations_are_complete_and_ordered() {
        check(POSTGRES, "migrations/postgres");
    }
}
