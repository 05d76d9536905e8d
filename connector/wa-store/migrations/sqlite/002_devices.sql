-- v2: the linked device's credentials (one row per account, written when pairing
-- succeeds, deleted on logout) and the one-time pre-keys generated for it.
-- Credentials are an opaque, versioned blob the connector encodes: the store never
-- interprets secrets, it only keeps them.
CREATE TABLE device_credentials (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    format     INTEGER NOT NULL,
    data       BLOB NOT NULL,
    -- Never decreases while the device lives, so pre-key ids are not reused.
    next_prekey_id INTEGER NOT NULL DEFAULT 1,
    updated_at INTEGER NOT NULL
) STRICT;

-- One-time pre-keys: stored before they are uploaded (so a key the server hands out
-- can always be matched), removed once a session consumed them.
CREATE TABLE prekeys (
    account_id TEXT NOT NULL REFERENCES device_credentials(account_id) ON DELETE CASCADE,
    key_id     INTEGER NOT NULL,
    private    BLOB NOT NULL,
    uploaded   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key_id)
) STRICT;
