-- App-state sync (WhatsApp's "syncd"): the keys the phone shared with this device,
-- each collection's version and LT-hash, and every live record's index MAC -> value
-- MAC (a SET over an existing index subtracts the old value MAC from the hash).
-- Chat and message flags the mutations set.
CREATE TABLE app_state_keys (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_id     BLOB NOT NULL,
    key_data   BLOB NOT NULL,
    -- When the phone created the key (ms): the newest one encodes our patches.
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key_id)
) STRICT;

CREATE TABLE app_state_versions (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    collection TEXT NOT NULL,
    version    INTEGER NOT NULL,
    hash       BLOB NOT NULL,
    PRIMARY KEY (account_id, collection)
) STRICT;

CREATE TABLE app_state_macs (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    collection TEXT NOT NULL,
    index_mac  BLOB NOT NULL,
    value_mac  BLOB NOT NULL,
    PRIMARY KEY (account_id, collection, index_mac)
) STRICT;

ALTER TABLE chats ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN starred INTEGER NOT NULL DEFAULT 0;
