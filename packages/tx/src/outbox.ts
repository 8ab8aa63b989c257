import { randomFillSync } from 'node:crypto';
import { outboxTracing, type Telemetry } from './outbox-tracing.ts';
import { checkChannelName, checkTableName, DEFAULT_OUTBOX_CHANNEL, DEFAULT_OUTBOX_TABLE } from './schema.ts';
import { defaultTelemetry } from './transaction-tracing.ts';

/**
 * What Switchboard needs of a PostgreSQL client, the same in every package that takes one:
 * `query(text, values)` resolving to `{ rows, rowCount }`. A `pg.Pool`, a `pg.PoolClient`, a
 * transaction of @switchboard/tx and a reader of @switchboard/db-router all fit.
 */
export interface Queryable {
  // `any` as pg's own QueryResultRow has it: the row type callers name (often an interface) fits.
  // biome-ignore lint/suspicious/noExplicitAny: pg's QueryResultRow shape, see above
  query<Row extends { [column: string]: any } = { [column: string]: any }>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/** What to publish, as given to {@link Outbox.enqueue}. */
export interface OutboxMessage {
  /** Where it goes (a channel, a queue, a Redis pub/sub topic). Non-empty. */
  topic: string;
  /**
   * Events with the same key are delivered in the order they were enqueued, one at a time; a
   * failing event holds back the later ones of its key. @default the event id (no ordering)
   */
  key?: string;
  /** Stored as `jsonb`: anything `JSON.stringify` accepts (not `undefined`). */
  payload: unknown;
  /** String metadata passed through to `publish` (trace ids, content type). @default {} */
  headers?: Record<string, string>;
}

/** An event as handed to `publish`. */
export interface OutboxEvent<Payload = unknown> {
  /** Stable UUID v7, the same on every delivery attempt: deduplicate on it. */
  id: string;
  topic: string;
  key: string;
  payload: Payload;
  headers: Record<string, string>;
  /** When the transaction that enqueued it wrote it. */
  createdAt: Date;
  /** Failed delivery attempts before this one (0 on the first). */
  attempts: number;
  /** Its place in the outbox (a bigint as a string): increases in enqueue order. */
  position: string;
}

/** Options of {@link createOutbox}. */
export interface OutboxOptions {
  /** The outbox table, `name` or `schema.name`. @default 'switchboard_outbox' */
  table?: string;
  /** The LISTEN/NOTIFY channel relays listen on. @default 'switchboard_outbox' */
  channel?: string;
  /** Send a NOTIFY (delivered at commit) with each enqueue so relays wake at once. @default true */
  notify?: boolean;
  /**
   * OpenTelemetry: `enqueue` / `enqueueMany` run in a `create <topic>` span whose W3C
   * `traceparent` is stored in the events' `headers` (a `traceparent` you pass wins), so the
   * relay's publish links back to the request. `true` for the global `@opentelemetry/api` (an
   * optional peer dependency), or the API object. @default false
   */
  telemetry?: Telemetry;
}

/** Backlog figures for monitoring. */
export interface OutboxStats {
  /** Events not yet delivered and not dead. */
  pending: number;
  /** Age in ms of the oldest pending event (0 when none): the relay's lag. */
  oldestPendingAgeMs: number;
  /** Events that exhausted `maxAttempts` and wait for a human. */
  dead: number;
}

/** SQL expressions for the columns of an event written by {@link Outbox.enqueueSql}. */
export interface OutboxInsertFields {
  /** The relation the events come from: a CTE name of your statement (one event per row). */
  from: string;
  /** A `uuid`; a parameter holding {@link uuidv7}() keeps ids time-ordered, like `enqueue`. */
  id: string;
  /** A non-empty `text`. */
  topic: string;
  /** A `text`; events with the same key are delivered in order. */
  key: string;
  /** A `jsonb` (or `json`) value. */
  payload: string;
  /** A `jsonb` object of string values. @default '{}' */
  headers?: string;
}

/** Writes events into the outbox table, inside the caller's transaction. */
export interface Outbox {
  /**
   * Inserts one event with the caller's transaction (`tx`), so it exists exactly when the
   * transaction commits. Returns the event id. Given a pool instead, the event commits at once.
   */
  enqueue(tx: Queryable, message: OutboxMessage): Promise<string>;
  /** Inserts several events in one statement, in order; returns their ids in the same order. */
  enqueueMany(tx: Queryable, messages: readonly OutboxMessage[]): Promise<string[]>;
  /**
   * The SQL of an `INSERT` that enqueues one event per row of `from`, to be used as a CTE of
   * your own statement: the change and its event are then written by ONE statement (atomic
   * without BEGIN/COMMIT, one round trip instead of four). Each field is an SQL expression over
   * `from`'s columns and your statement's parameters; you own their quoting. The NOTIFY is part
   * of it (sent at commit) when the outbox notifies.
   *
   * @example
   * const sql = `WITH m AS (INSERT INTO messages (chat_id, body) VALUES ($1, $2) RETURNING *),
   *   e AS (${outbox.enqueueSql({ from: 'm', id: '$3::uuid', topic: "'message.created'", key: 'm.chat_id::text', payload: 'to_jsonb(m)' })})
   * SELECT * FROM m`;
   * await pool.query(sql, [chatId, body, uuidv7()]);
   */
  enqueueSql(fields: OutboxInsertFields): string;
  /**
   * For events written by your own statement (`enqueueSql`): runs `fn` in the enqueue's
   * `create <topic>` span and gives it the headers to store (the span's `traceparent`), e.g. as a
   * `jsonb` parameter for `headers`. Without `telemetry`, `fn` gets `{}` and no span is made.
   */
  withTraceHeaders<R>(topic: string, fn: (headers: Record<string, string>) => R): R;
  /**
   * For a subscriber of what the relay published: runs `fn` in a `process <topic>` span, a child
   * of the relay's publish and linked to the request that enqueued the event (both read from the
   * event's `headers`). Without `telemetry`, just runs `fn`.
   */
  withDeliverySpan<R>(event: { topic: string; headers: Record<string, string>; id?: string }, fn: () => R): R;
  /** Pending / dead counts and the relay lag. */
  stats(db: Queryable): Promise<OutboxStats>;
  /** The validated table name. */
  readonly table: string;
  /** The validated channel name. */
  readonly channel: string;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const bytes = new Uint8Array(16);

/** A UUID v7: 48-bit Unix ms timestamp, then random bits (RFC 9562). Time-ordered, unguessable. */
export function uuidv7(now = Date.now()): string {
  randomFillSync(bytes);
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | ((bytes[6] as number) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out += HEX[bytes[i] as number];
    if (i === 3 || i === 5 || i === 7 || i === 9) out += '-';
  }
  return out;
}

function prepare(
  message: OutboxMessage,
  traced: Record<string, string> = {},
): [id: string, topic: string, key: string, payload: string, headers: string] {
  if (typeof message !== 'object' || message === null) throw new TypeError('an outbox message must be an object');
  const { topic, key, payload, headers } = message;
  if (typeof topic !== 'string' || topic === '') throw new TypeError('an outbox message needs a non-empty topic');
  if (key !== undefined && (typeof key !== 'string' || key === '')) {
    throw new TypeError('an outbox message key must be a non-empty string');
  }
  const json = payload === undefined ? undefined : JSON.stringify(payload);
  if (json === undefined) throw new TypeError('an outbox message payload must be JSON-serializable (not undefined)');
  if (headers !== undefined) {
    if (typeof headers !== 'object' || headers === null) throw new TypeError('outbox headers must be an object');
    for (const value of Object.values(headers)) {
      if (typeof value !== 'string') throw new TypeError('outbox header values must be strings');
    }
  }
  const id = uuidv7();
  return [id, topic, key ?? id, json, JSON.stringify(headers === undefined ? traced : { ...traced, ...headers })];
}

// The span's name before `prepare` has checked the message: a bad one still fails there.
const topicOf = (message: OutboxMessage | undefined): string =>
  typeof message?.topic === 'string' && message.topic !== '' ? message.topic : 'invalid';

/**
 * Creates the writer side of a transactional outbox. Apply the migrations from
 * `@switchboard/tx/postgres` first, and run a relay ({@link createOutboxRelay}) on every instance.
 *
 * @example
 * const outbox = createOutbox();
 * await withTransaction(pool, async (tx) => {
 *   const { rows } = await tx.query('INSERT INTO messages (chat_id, body) VALUES ($1, $2) RETURNING *', [chatId, body]);
 *   await outbox.enqueue(tx, { topic: 'message.created', key: `chat:${chatId}`, payload: rows[0] });
 * });
 */
export function createOutbox(options: OutboxOptions = {}): Outbox {
  const table = checkTableName(options.table ?? DEFAULT_OUTBOX_TABLE);
  const channel = checkChannelName(options.channel ?? DEFAULT_OUTBOX_CHANNEL);
  const notify = options.notify ?? true;
  const tracing = outboxTracing('createOutbox', options.telemetry ?? defaultTelemetry());
  const columns = 'id, topic, key, payload, headers';
  const insertOne = `INSERT INTO ${table} (${columns}) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)`;
  // The NOTIFY rides in the same statement (one round trip) and is sent by Postgres at COMMIT.
  const enqueueSql = notify
    ? `WITH inserted AS (${insertOne} RETURNING 1) SELECT pg_notify('${channel}', '') FROM inserted`
    : insertOne;
  const insertMany = `INSERT INTO ${table} (${columns})
SELECT id, topic, key, payload, headers
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[])
       WITH ORDINALITY AS m(id, topic, key, payload, headers, ord)
 ORDER BY ord`;
  const enqueueManySql = notify
    ? `WITH inserted AS (${insertMany} RETURNING 1) SELECT pg_notify('${channel}', '') FROM (SELECT 1 FROM inserted LIMIT 1) AS any_row`
    : insertMany;
  const statsSql = `SELECT
  (SELECT count(*) FROM ${table} WHERE delivered_at IS NULL AND dead_at IS NULL)::int AS pending,
  (SELECT count(*) FROM ${table} WHERE dead_at IS NOT NULL)::int AS dead,
  COALESCE((SELECT extract(epoch FROM now() - min(created_at)) * 1000
              FROM ${table} WHERE delivered_at IS NULL AND dead_at IS NULL), 0)::float8 AS oldest_ms`;

  return {
    table,
    channel,
    enqueueSql(fields) {
      for (const name of ['from', 'id', 'topic', 'key', 'payload'] as const) {
        if (typeof fields?.[name] !== 'string' || fields[name].trim() === '') {
          throw new TypeError(`enqueueSql needs an SQL expression for ${name}`);
        }
      }
      const insert = `INSERT INTO ${table} (${columns}) SELECT ${fields.id}, ${fields.topic}, ${fields.key}, (${fields.payload})::jsonb, ${fields.headers ?? "'{}'"}::jsonb FROM ${fields.from}`;
      // RETURNING runs for every inserted row even when nothing reads this CTE, so the NOTIFY
      // is queued whenever an event is.
      return notify ? `${insert} RETURNING pg_notify('${channel}', '')` : insert;
    },
    async enqueue(tx, message) {
      const insert = async (traced?: Record<string, string>) => {
        const values = prepare(message, traced);
        await tx.query(enqueueSql, values);
        return values[0];
      };
      return tracing ? tracing.create(topicOf(message), 1, insert) : insert();
    },
    async enqueueMany(tx, messages) {
      if (!Array.isArray(messages)) throw new TypeError('enqueueMany needs an array of messages');
      if (messages.length === 0) return [];
      const insert = async (traced?: Record<string, string>) => {
        const rows = messages.map((message) => prepare(message, traced));
        const columnsOf = (index: number) => rows.map((row) => row[index]);
        await tx.query(enqueueManySql, [columnsOf(0), columnsOf(1), columnsOf(2), columnsOf(3), columnsOf(4)]);
        return rows.map((row) => row[0]);
      };
      if (!tracing) return insert();
      const topics = new Set(messages.map(topicOf));
      return tracing.create(topics.size === 1 ? topicOf(messages[0]) : 'batch', messages.length, insert);
    },
    withTraceHeaders(topic, fn) {
      if (typeof topic !== 'string' || topic === '') throw new TypeError('withTraceHeaders needs a non-empty topic');
      if (typeof fn !== 'function') throw new TypeError('withTraceHeaders needs a function');
      return tracing ? tracing.create(topic, 1, fn) : fn({});
    },
    withDeliverySpan(event, fn) {
      if (typeof fn !== 'function') throw new TypeError('withDeliverySpan needs a function');
      if (!tracing) return fn();
      if (typeof event?.topic !== 'string' || typeof event.headers !== 'object' || event.headers === null) {
        throw new TypeError('withDeliverySpan needs the published event ({ topic, headers })');
      }
      return tracing.process(event, fn);
    },
    async stats(db) {
      const { rows } = await db.query(statsSql);
      const row = rows[0] as { pending: number; dead: number; oldest_ms: number };
      return { pending: row.pending, dead: row.dead, oldestPendingAgeMs: Math.round(row.oldest_ms) };
    },
  };
}
