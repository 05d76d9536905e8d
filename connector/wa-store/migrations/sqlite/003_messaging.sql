-- v3: message traffic. Signal state (opaque records the connector serializes),
-- messages and their chats, the outbox of sends, the event log for delivery,
-- contacts and cached device lists. Every table belongs to an account and goes with
-- it (ON DELETE CASCADE); logout deletes the Signal tables' rows only.

-- Signal sessions by peer protocol address (`user.device`).
CREATE TABLE signal_sessions (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    record     BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, address)
) STRICT;

-- Accepted identity keys by peer protocol address.
CREATE TABLE signal_identities (
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    address      TEXT NOT NULL,
    identity_key BLOB NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, address)
) STRICT;

-- Sender-key records by group and sending device.
CREATE TABLE sender_keys (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    group_jid  TEXT NOT NULL,
    sender     TEXT NOT NULL,
    record     BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, group_jid, sender)
) STRICT;

-- Devices that hold our current sender key for a group (reset when we rotate it).
CREATE TABLE sender_key_holders (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    group_jid  TEXT NOT NULL,
    address    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, group_jid, address)
) STRICT;

-- Messages, incoming and outgoing. `seq` (the rowid) is the insertion order that
-- breaks timestamp ties. The unique key is (account, chat, sender, id), declared
-- with `id` before `sender` so that receipts, which name (chat, id), use its index.
CREATE TABLE messages (
    seq             INTEGER PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    chat            TEXT NOT NULL,
    sender          TEXT NOT NULL,
    id              TEXT NOT NULL,
    from_me         INTEGER NOT NULL,
    timestamp       INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    text            TEXT,
    -- `text` case-folded by the store (Unicode-aware, the same on every backend) for search.
    text_folded     TEXT,
    has_media       INTEGER NOT NULL,
    mimetype        TEXT,
    direct_path     TEXT,
    media_key       BLOB,
    file_sha256     BLOB,
    file_enc_sha256 BLOB,
    file_length     INTEGER,
    file_name       TEXT,
    stored_key      TEXT,
    content         BLOB NOT NULL,
    push_name       TEXT,
    status          TEXT NOT NULL CHECK (status IN
                        ('pending', 'sent', 'delivered', 'read', 'played', 'failed', 'received')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (account_id, chat, id, sender)
) STRICT;
CREATE INDEX messages_by_chat ON messages (account_id, chat, timestamp DESC, seq DESC);
CREATE INDEX messages_by_time ON messages (account_id, timestamp DESC, seq DESC);

-- One row per peer or group a message was stored for, kept by the inserting transaction.
CREATE TABLE chats (
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    jid             TEXT NOT NULL,
    name            TEXT,
    name_folded     TEXT,
    last_message_at INTEGER NOT NULL,
    message_count   INTEGER NOT NULL,
    PRIMARY KEY (account_id, jid)
) STRICT;
CREATE INDEX chats_by_time ON chats (account_id, last_message_at DESC, jid);

-- Sends committed before the API answered, until the server took them or we gave up.
CREATE TABLE outbox (
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    chat            TEXT NOT NULL,
    sender          TEXT NOT NULL,
    id              TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (account_id, chat, id, sender),
    FOREIGN KEY (account_id, chat, id, sender)
        REFERENCES messages (account_id, chat, id, sender) ON DELETE CASCADE
) STRICT;
CREATE INDEX outbox_due ON outbox (account_id, next_attempt_at);

-- The event log: one global sequence, never reused (AUTOINCREMENT).
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_by_account ON events (account_id, seq);

CREATE TABLE contacts (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    jid        TEXT NOT NULL,
    push_name  TEXT,
    lid        TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, jid)
) STRICT;

-- A user's devices as the server last listed them: ascending ids, comma-separated.
CREATE TABLE device_lists (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_jid   TEXT NOT NULL,
    devices    TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_jid)
) STRICT;
