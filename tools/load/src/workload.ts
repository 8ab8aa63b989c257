import type { ProcessGroups } from './cpu.ts';

/** One kind of request a scenario sends; the runner picks among them at random. */
export interface RequestTemplate {
  /** Index into `Workload.tokens` (and so the source address: users are spread over them). */
  user: number;
  /** Index into `Workload.urls`: the instance this user talks to. */
  url: number;
  /** The JSON body; every `%N%` becomes a string unique to the request. */
  body: string;
  /** A dotted path into `data` recorded for every success, e.g. `sendMessage.id` (to check persistence). */
  ack?: string;
}

/** What the open-loop runner sends, and whose CPU counts for it. */
export interface Workload {
  /** GraphQL endpoints (one per instance). */
  urls: string[];
  /** Access token per user ('' for none). */
  tokens: string[];
  templates: RequestTemplate[];
  /** Processes (trees) whose CPU time counts as the system under test, by role; empty when not ours. */
  processes(): ProcessGroups;
}

/** Sent to each worker process. */
export interface WorkerConfig {
  index: number;
  workers: number;
  urls: string[];
  tokens: string[];
  templates: RequestTemplate[];
  /** Source addresses; user `u` sends from `addresses[u % addresses.length]`. */
  addresses: string[];
  /** This worker's share of the offered rate, per second. */
  rate: number;
  /** Warm-up plus measured window, from the common start. */
  totalMs: number;
  /** The warm-up: the rate ramps up over its first half. */
  warmupMs: number;
  /** Connections per (source address, endpoint) pool. */
  connections: number;
  timeoutMs: number;
  seed: number;
}

/** Every request one worker sent, column by column (index = request). */
export interface WorkerResult {
  /** When it was due, ms after the common start. */
  scheduled: Float64Array;
  /** From `scheduled` to the complete response (or the failure). */
  latency: Float64Array;
  /** How late the generator sent it (ms after `scheduled`): the generator's own lag. */
  late: Float64Array;
  /** 0: success; otherwise 1 + index into `errorKinds`. */
  outcome: Uint16Array;
  errorKinds: string[];
  /** `ack` values of successes: request index and value. */
  ackIndex: Uint32Array;
  ackValue: string[];
}

export type ParentMessage = { type: 'setup'; config: WorkerConfig } | { type: 'go'; startAt: number };
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'done'; result: WorkerResult }
  | { type: 'failed'; error: string };
