-- Messages looked up by id alone, in whichever chat they are (forwarding by id,
-- as GOWA's `/message/{id}/forward` names only the message).
CREATE INDEX messages_by_id ON messages (account_id, id);
