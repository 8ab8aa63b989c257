import { wholeNumberOption } from '@switchboard/hot-path';
import type { OutboxEvent } from './outbox.ts';
import { type OutboxTracing, outboxTracing } from './outbox-tracing.ts';
import type { OutboxRelayOptions, RelayPool } from './relay.ts';
import { checkChannelName, checkTableName, DEFAULT_OUTBOX_CHANNEL, DEFAULT_OUTBOX_TABLE } from './schema.ts';
import { defaultTelemetry } from './transaction-tracing.ts';

/** {@link OutboxRelayOptions} checked once, defaults filled in. */
export interface ResolvedRelayOptions {
  pool: RelayPool;
  publish: (event: OutboxEvent) => Promise<unknown> | unknown;
  table: string;
  channel: string;
  batchSize: number;
  pollIntervalMs: number;
  lingerMs: number;
  listen: boolean;
  publishTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  maxAttempts: number;
  retentionMs: number;
  cleanupIntervalMs: number;
  /** The publish spans, when `telemetry` is on. */
  tracing: OutboxTracing | undefined;
}

function positive(value: number, name: string, allowZero = false): number {
  if (!(Number.isFinite(value) && (allowZero ? value >= 0 : value > 0))) {
    throw new TypeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  }
  return value;
}

/** Resolves the relay's options; a bad one throws a `TypeError` before anything starts. */
export function resolveRelayOptions(options: OutboxRelayOptions): ResolvedRelayOptions {
  if (typeof options?.pool?.connect !== 'function') throw new TypeError('createOutboxRelay needs a pg.Pool as pool');
  if (typeof options.publish !== 'function') throw new TypeError('createOutboxRelay needs a publish function');
  const table = checkTableName(options.table ?? options.outbox?.table ?? DEFAULT_OUTBOX_TABLE);
  const channel = checkChannelName(options.channel ?? options.outbox?.channel ?? DEFAULT_OUTBOX_CHANNEL);
  const batchSize = wholeNumberOption('createOutboxRelay', 'batchSize', options.batchSize ?? 100, { min: 1 });
  const pollIntervalMs = positive(options.pollIntervalMs ?? 1000, 'pollIntervalMs');
  const lingerMs = positive(options.lingerMs ?? 5, 'lingerMs', true);
  const publishTimeoutMs = positive(options.publishTimeoutMs ?? 30_000, 'publishTimeoutMs');
  const initialMs = positive(options.backoff?.initialMs ?? 1000, 'backoff.initialMs', true);
  const maxMs = positive(options.backoff?.maxMs ?? 300_000, 'backoff.maxMs', true);
  if (maxMs < initialMs) throw new TypeError('backoff.maxMs must be >= backoff.initialMs');
  const maxAttempts = wholeNumberOption(
    'createOutboxRelay',
    'maxAttempts',
    options.maxAttempts ?? Number.POSITIVE_INFINITY,
    { min: 1, infinite: true },
  );
  const retentionMs = positive(options.retentionMs ?? 7 * 24 * 3600_000, 'retentionMs', true);
  const cleanupIntervalMs = positive(options.cleanupIntervalMs ?? 3600_000, 'cleanupIntervalMs', true);
  return {
    pool: options.pool,
    publish: options.publish,
    table,
    channel,
    batchSize,
    pollIntervalMs,
    lingerMs,
    listen: options.listen ?? true,
    publishTimeoutMs,
    backoff: { initialMs, maxMs },
    maxAttempts,
    retentionMs,
    cleanupIntervalMs,
    tracing: outboxTracing('createOutboxRelay', options.telemetry ?? defaultTelemetry()),
  };
}
