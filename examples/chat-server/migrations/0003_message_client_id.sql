-- Idempotent sends: a client that retries a send whose answer it lost passes the same client id,
-- and gets the message it already sent instead of a second one. Unique per sender and chat.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS client_id text;
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id_key
  ON messages (chat_id, sender_id, client_id) WHERE client_id IS NOT NULL;
