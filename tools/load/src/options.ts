import { parseArgs } from 'node:util';

export interface LoadOptions {
  scenario: string;
  mode: 'embedded' | 'cluster';
  /** Offered rate; with `findMax`, the first step's. */
  rate: number;
  findMax: boolean;
  /** Measured seconds (per step with `findMax`). */
  durationS: number;
  warmupS: number;
  /** Seconds at min(rate, 200)/s before a scenario's first measurement, not measured. */
  primeS: number;
  users: number;
  chats: number;
  members: number;
  /** Messages per chat before the run; undefined: the scenario's default. */
  history: number | undefined;
  subscribers: number | undefined;
  json: string | undefined;
  svg: string | undefined;
  target: string | undefined;
  /** send: also run the bare baseline at the same rate(s). */
  baseline: boolean;
  instances: number;
  workers: number;
  addresses: number;
  connections: number;
  /** find-max: rate factor per step. */
  step: number;
  maxRate: number;
  serverEnv: Record<string, string>;
  cpuProf: string | undefined;
  keep: boolean;
  /** Build the server (and packages) first when the build is missing or stale. */
  build: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE = `npm run load -- <scenario> [options]

  --mode embedded|cluster   what to start: one server with its embedded PostgreSQL (default), or
                            PostgreSQL primary + 2 replicas, Redis + Sentinels and --instances servers
  --rate N                  offered requests/s (default 100; with --find-max the first step)
  --find-max                step the rate up (x --step) until p95 > 100 ms or errors > 0.1 %
  --duration S              measured seconds (default 30; 5 per step with --find-max)
  --warmup S                seconds sent before each measurement, not measured: the rate ramps up
                            over the first half, then holds (default 10; 2 per step with --find-max)
  --prime S                 seconds at min(rate, 200)/s before a scenario's first measurement, so a
                            cold server (JIT, caches, pools) is not measured (default 10; 0: none)
  --users N --chats N --members N   seeded users (1000), chats (100), participants per chat (10)
  --history N               messages per chat before the run (scenario default: read 200, else 0)
  --subscribers N           live subscriptions (scenarios that use them)
  --json FILE               write the result as JSON
  --svg FILE                with --find-max: latency against offered rate (default: next to --json)
  --target URL              measure a server that is already running (seeding through its API)
  --no-baseline             send: skip the bare baseline run beside it
  --instances N             cluster mode: server instances (default 2)
  --workers N               load-generator processes (default 1)
  --addresses N             loopback source addresses 127.0.x.y the users are spread over (default 64)
  --connections N           keep-alive connections per address and instance (default 8)
  --step F --max-rate N     find-max: rate factor per step (1.2), highest rate tried (20000)
  --server-env KEY=VALUE    extra environment for every server (repeatable)
  --cpu-prof DIR            run the servers with --cpu-prof, profiles written to DIR when they stop
  --keep                    keep the temp dir (server logs, data) and print where it is
  --build                   build the server (and the packages) first if the build is missing or stale`;

/** A numeric option's value: `fallback` when absent; a UsageError naming `--name` when not a number >= `min`. */
export function numberOption(
  raw: string | undefined,
  name: string,
  fallback: number,
  options: { min?: number; integer?: boolean } = {},
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const min = options.min ?? 1;
  if (!Number.isFinite(value) || value < min || (options.integer !== false && !Number.isInteger(value))) {
    throw new UsageError(
      `--${name} must be a ${options.integer === false ? 'number' : 'whole number'} >= ${min}, got '${raw}'`,
    );
  }
  return value;
}

/** `npm run load` arguments (after the `--`); `-h`/`--help` is the caller's to check first. */
export function parseOptions(argv: readonly string[]): LoadOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [scenario, ...extra] = positionals;
  if (!scenario) throw new UsageError('name a scenario');
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const mode = values.mode ?? 'embedded';
  if (mode !== 'embedded' && mode !== 'cluster')
    throw new UsageError(`--mode must be embedded or cluster, got '${mode}'`);
  if (values.target !== undefined) {
    let url: URL;
    try {
      url = new URL(values.target);
    } catch {
      throw new UsageError(`--target must be a URL like http://127.0.0.1:4000/graphql, got '${values.target}'`);
    }
    if (url.protocol !== 'http:') throw new UsageError('--target must be an http:// URL');
    if (values.mode !== undefined) throw new UsageError('--target measures a running server: no --mode');
  }
  const findMax = values['find-max'] ?? false;
  const serverEnv: Record<string, string> = {};
  for (const pair of values['server-env'] ?? []) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
    if (!match) throw new UsageError(`--server-env takes KEY=VALUE, got '${pair}'`);
    serverEnv[match[1] as string] = match[2] as string;
  }
  const json = values.json;
  return {
    scenario,
    mode,
    rate: numberOption(values.rate, 'rate', 100, { integer: false, min: 0.1 }),
    findMax,
    durationS: numberOption(values.duration, 'duration', findMax ? 5 : 30, { integer: false, min: 0.1 }),
    warmupS: numberOption(values.warmup, 'warmup', findMax ? 2 : 10, { integer: false, min: 0 }),
    primeS: numberOption(values.prime, 'prime', 10, { integer: false, min: 0 }),
    users: numberOption(values.users, 'users', 1000),
    chats: numberOption(values.chats, 'chats', 100),
    members: numberOption(values.members, 'members', 10),
    history: values.history === undefined ? undefined : numberOption(values.history, 'history', 0, { min: 0 }),
    subscribers:
      values.subscribers === undefined ? undefined : numberOption(values.subscribers, 'subscribers', 0, { min: 0 }),
    json,
    svg: values.svg ?? (findMax && json ? json.replace(/(\.json)?$/, '.svg') : undefined),
    target: values.target,
    baseline: !values['no-baseline'],
    instances: numberOption(values.instances, 'instances', 2),
    workers: numberOption(values.workers, 'workers', 1),
    addresses: numberOption(values.addresses, 'addresses', 64),
    connections: numberOption(values.connections, 'connections', 8),
    step: numberOption(values.step, 'step', 1.2, { integer: false, min: 1.01 }),
    maxRate: numberOption(values['max-rate'], 'max-rate', 20_000, { integer: false }),
    serverEnv,
    cpuProf: values['cpu-prof'],
    keep: values.keep ?? false,
    build: values.build ?? false,
  };
}

const RUN_OPTIONS = ['mode', 'rate', 'duration', 'warmup', 'prime', 'users', 'chats', 'members'] as const;
const OUTPUT_OPTIONS = ['json', 'svg', 'target', 'instances', 'workers', 'addresses', 'connections'] as const;
const VALUE_OPTIONS = [
  ...RUN_OPTIONS,
  ...OUTPUT_OPTIONS,
  'history',
  'subscribers',
  'step',
  'max-rate',
  'cpu-prof',
] as const;
const FLAGS = ['find-max', 'no-baseline', 'keep', 'build', 'help'] as const;

type ParseConfig = { [Name in (typeof VALUE_OPTIONS)[number]]: { type: 'string' } } & {
  [Name in (typeof FLAGS)[number]]: { type: 'boolean' };
} & { 'server-env': { type: 'string'; multiple: true } };

const PARSE_CONFIG = {
  ...Object.fromEntries(VALUE_OPTIONS.map((name) => [name, { type: 'string' }])),
  ...Object.fromEntries(FLAGS.map((name) => [name, { type: 'boolean' }])),
  'server-env': { type: 'string', multiple: true },
} as ParseConfig;

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: PARSE_CONFIG });
}
