import { migrations as authMigrations } from '@switchboard/auth/postgres';
import { migrations as rbacMigrations } from '@switchboard/rbac/postgres';
import { migrations as txMigrations } from '@switchboard/tx/postgres';
import type pg from 'pg';

/** The app's own tables; the packages bring theirs (sessions, grants and roles, the outbox). */
const schema = /* SQL */ `
  CREATE TABLE IF NOT EXISTS nest_users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username text NOT NULL UNIQUE,
    password_hash text NOT NULL
  );
  CREATE TABLE IF NOT EXISTS nest_chats (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL
  );
  CREATE TABLE IF NOT EXISTS nest_messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    chat_id uuid NOT NULL REFERENCES nest_chats ON DELETE CASCADE,
    sender_id uuid NOT NULL REFERENCES nest_users,
    content text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
  );
  CREATE INDEX IF NOT EXISTS nest_messages_by_chat ON nest_messages (chat_id, created_at DESC, id DESC);
`;

/** Every statement is idempotent: run at each start (a real app hands them to its migration runner). */
export async function migrate(pool: pg.Pool): Promise<void> {
  for (const { sql } of [...authMigrations, ...rbacMigrations, ...txMigrations]) await pool.query(sql);
  await pool.query(schema);
}
