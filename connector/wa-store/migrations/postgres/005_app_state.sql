-- App-state sync (WhatsApp's "syncd"): the keys the phone shared with this device,
-- each collection's version and LT-hash, and every live record's index MAC -> value
-- MAC (a SET over an existing index subtracts the old value MAC from the hash).
-- Chat and message flags the mutations set.
CREATE TABLE app_state_keys (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key_id     BYTEA NOT NULL,
    key_data   BYTEA NOT NULL,
    -- When the phone created the key (ms): the newest one encodes our patches.
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, key_id)
);

CREATE TABLE app_state_versions (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    collection TEXT NOT NULL,
    version    BIGINT NOT NULL,
    hash       BYTEA NOT NULL,
    PRIMARY KEY (account_id, collection)
);

CREATE TABLE app_state_macs (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    collection TEXT NOT NULL,
    index_mac  BYTEA NOT NULL,
    value_mac  BYTEA NOT NULL,
    PRIMARY KEY (account_id, collection, index_mac)
);

ALTER TABLE chats ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE chats ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE messages ADD COLUMN starred BOOLEAN NOT NULL DEFAULT FALSE;
