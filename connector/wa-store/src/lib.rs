//! The connector's durable state behind one trait: SQLite (embedded default) and PostgreSQL.
