-- v1: linked WhatsApp accounts and global key-value settings.
-- Later migrations add per-account tables (device credentials, Signal state,
-- contacts, chats, messages, outbox, inbox) referencing accounts(id) ON DELETE CASCADE.
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY NOT NULL,
    jid        TEXT UNIQUE,
    push_name  TEXT,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disconnected', 'logged_out')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
