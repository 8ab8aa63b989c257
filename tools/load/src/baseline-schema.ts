/** The table the bare baseline server writes: the same keys as the server's `messages`. */
export const BASELINE_TABLE = 'load_baseline_messages';

export const BASELINE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ${BASELINE_TABLE} (
    id          uuid PRIMARY KEY,
    chat_id     uuid NOT NULL,
    seq         bigserial NOT NULL,
    content     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (chat_id, seq)
  )`;
