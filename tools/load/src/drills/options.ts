import { parseArgs } from 'node:util';
import { numberOption, UsageError } from '../options.ts';

export const DRILL_NAMES = ['redis-master-kill', 'replica-kill', 'instance-kill', 'primary-pause'] as const;
export type DrillName = (typeof DRILL_NAMES)[number];

/** `npm run drill` arguments, resolved. */
export interface DrillOptions {
  drill: DrillName;
  /** Sends per second (open loop). */
  rate: number;
  /** Reads per second (open loop, never retried); 0: none. */
  readRate: number;
  /** Seconds of load; the fault happens inside it. */
  durationS: number;
  /** When the fault starts, seconds after the load started. */
  faultAtS: number;
  chats: number;
  /** Participants per chat; every user is in exactly one chat (users = chats × members). */
  members: number;
  /** Live subscriptions (graphql-sse and graphql-ws alternately, spread over the instances). */
  subscribers: number;
  json: string | undefined;
  keep: boolean;
  build: boolean;
  serverEnv: Record<string, string>;
}

export const DRILL_USAGE = `npm run drill -- <drill> [options]

Drills (cluster mode: PostgreSQL primary + 2 replicas, Redis master + 2 replicas + 3 Sentinels,
2 server instances), each under steady send and read load with live subscribers:
  redis-master-kill   SIGKILL the Redis master; Sentinel fails over
  replica-kill        SIGKILL a PostgreSQL replica, restart it 3 s later
  instance-kill       SIGKILL one server instance; its clients move to the other and resume
  primary-pause       SIGSTOP the PostgreSQL primary for 5 s, then SIGCONT

  --rate N              sends per second (default 100)
  --read-rate N         reads per second, 0 for none (default 20)
  --duration S          seconds of load (default 30)
  --fault-at S          when the fault starts, seconds into the load (default: a third of --duration)
  --chats N             chats (default 40)
  --members N           participants per chat; users = chats x members (default 5)
  --subscribers N       live subscriptions, at most chats x members (default 100)
  --json FILE           write the result as JSON
  --server-env KEY=VALUE  extra environment for every server (repeatable)
  --keep                keep the temp dir (server logs, data) and print where it is
  --build               build the server (and the packages) first if the build is missing or stale

Exit code: 0 every target met, 3 the drill ran but missed a target (see "targets" in the JSON),
1 the drill could not run, 2 usage.`;

/** How long each fault lasts (fixed by issue 18), so the run must be long enough to see recovery after it. */
export const PAUSE_MS = 5_000;
export const REPLICA_DOWN_MS = 3_000;
const MIN_AFTER_FAULT_S: Record<DrillName, number> = {
  'redis-master-kill': 6,
  'replica-kill': REPLICA_DOWN_MS / 1000 + 2,
  'instance-kill': 3,
  'primary-pause': PAUSE_MS / 1000 + 2,
};

const isDrillName = (name: string): name is DrillName => (DRILL_NAMES as readonly string[]).includes(name);

export function parseDrillOptions(argv: readonly string[]): DrillOptions {
  const { values, positionals } = parse(argv);
  const [drill, ...extra] = positionals;
  if (drill === undefined || !isDrillName(drill)) {
    throw new UsageError(drill ? `unknown drill '${drill}' (known: ${DRILL_NAMES.join(', ')})` : 'name a drill');
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const durationS = numberOption(values.duration, 'duration', 30, { min: 1, integer: false });
  const faultAtS = numberOption(values['fault-at'], 'fault-at', Math.round((durationS / 3) * 10) / 10, {
    min: 1,
    integer: false,
  });
  const needed = faultAtS + MIN_AFTER_FAULT_S[drill];
  if (needed > durationS) {
    throw new UsageError(
      `${drill} needs at least ${MIN_AFTER_FAULT_S[drill]} s of load after the fault: --duration >= ${needed} with --fault-at ${faultAtS}`,
    );
  }
  const chats = numberOption(values.chats, 'chats', 40, { min: 1 });
  const members = numberOption(values.members, 'members', 5, { min: 2 });
  const subscribers = numberOption(values.subscribers, 'subscribers', 100, { min: 1 });
  if (subscribers > chats * members) {
    throw new UsageError(`--subscribers (${subscribers}) cannot exceed chats x members (${chats * members})`);
  }
  const serverEnv: Record<string, string> = {};
  for (const pair of values['server-env'] ?? []) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
    if (!match) throw new UsageError(`--server-env takes KEY=VALUE, got '${pair}'`);
    serverEnv[match[1] as string] = match[2] as string;
  }
  return {
    drill,
    rate: numberOption(values.rate, 'rate', 100, { min: 1, integer: false }),
    readRate: numberOption(values['read-rate'], 'read-rate', 20, { min: 0, integer: false }),
    durationS,
    faultAtS,
    chats,
    members,
    subscribers,
    json: values.json,
    keep: values.keep ?? false,
    build: values.build ?? false,
    serverEnv,
  };
}

/** node:util's parseArgs, its complaints as usage errors. */
function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: PARSE_OPTIONS });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

const PARSE_OPTIONS = {
  rate: { type: 'string' },
  'read-rate': { type: 'string' },
  duration: { type: 'string' },
  'fault-at': { type: 'string' },
  chats: { type: 'string' },
  members: { type: 'string' },
  subscribers: { type: 'string' },
  json: { type: 'string' },
  'server-env': { type: 'string', multiple: true },
  keep: { type: 'boolean' },
  build: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;
