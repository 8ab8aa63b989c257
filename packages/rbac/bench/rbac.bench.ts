/**
 * Side by side, in one process: a warm in-process `can` of @switchboard/rbac against casbin
 * (RBAC with domains) and CASL on the same policy: reader < member < moderator < admin by
 * inheritance, a user who is admin of one chat and member of another, checks inside and
 * outside those chats. 50 in flight. Then the same checks as `assert` (what a mutation calls)
 * against CASL's `ForbiddenError.throwUnlessCan`, refusals thrown and caught on both sides, and
 * once more with only the allowed checks (a mutation's usual case: no error built). One rbac
 * instance in the process, as an application has (stored-policy.bench.ts compares roles kept in
 * PostgreSQL with roles in code, in a process of its own).
 *
 * Run: npm run bench -w @switchboard/rbac
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { AbilityBuilder, ForbiddenError as CaslForbiddenError, createMongoAbility, subject } from '@casl/ability';
import { compare, compareSync, type Measurement } from '@switchboard/bench';
// By package name: the built dist/ that users install.
import { benchTelemetry } from '@switchboard/bench/telemetry';
import { createRbac } from '@switchboard/rbac';
import { newEnforcer, newModelFromString, StringAdapter } from 'casbin';
import { checks, roles } from './fixture.ts';

const CONCURRENCY = 50;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

// BENCH_TELEMETRY=on (npm run bench:ab -- rbac --telemetry): every decision counted.
const telemetry = await benchTelemetry();

// The policy, three times.
const rbac = await createRbac({ telemetry: telemetry.option, roles });
await rbac.grant('alice', 'admin', 'chat:1');
await rbac.grant('alice', 'member', 'chat:2');

const model = newModelFromString(`
[request_definition]
r = sub, dom, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _, _
g2 = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub, "*")) && r.obj == p.obj && (r.act == p.act || p.act == "*")
`);
const casbinPolicy = [
  'p, reader, message, read',
  'p, reader, chat, read',
  'p, member, message, send',
  'p, moderator, message, delete',
  'p, admin, chat, *',
  // Inheritance is per domain in casbin: spell it out for the chats in play.
  ...['chat:1', 'chat:2', '*'].flatMap((dom) => [
    `g, member, reader, ${dom}`,
    `g, moderator, member, ${dom}`,
    `g, admin, moderator, ${dom}`,
  ]),
  'g, alice, admin, chat:1',
  'g, alice, member, chat:2',
].join('\n');
const enforcer = await newEnforcer(model, new StringAdapter(casbinPolicy));

// CASL has no scopes: the user's ability carries the chat ids as conditions.
const { can, build } = new AbilityBuilder(createMongoAbility);
for (const action of ['read', 'send', 'delete', 'rename', 'archive']) can(action, 'chat-permission', { chatId: '1' });
for (const action of ['read', 'send']) can(action, 'chat-permission', { chatId: '2' });
const ability = build();

// Same answers from all three, or the comparison means nothing.
for (const [resource, action, scope] of checks) {
  const ours = await rbac.can('alice', `${resource}:${action}`, { scope });
  const theirs = await enforcer.enforce('alice', scope, resource, action);
  const casl = ability.can(action, subject('chat-permission', { chatId: scope.slice(5) }));
  if (ours !== theirs || ours !== casl)
    throw new Error(`policies disagree on ${resource}:${action} in ${scope}: ${ours} ${theirs} ${casl}`);
}

let n = 0;
const next = () => checks[n++ % checks.length] as [string, string, string];
const results = await compare(
  {
    '@switchboard/rbac': () => {
      const [resource, action, scope] = next();
      return rbac.can('alice', `${resource}:${action}`, { scope });
    },
    casbin: () => {
      const [resource, action, scope] = next();
      return enforcer.enforce('alice', scope, resource, action);
    },
    CASL: () => {
      const [, action, scope] = next();
      return Promise.resolve(ability.can(action, subject('chat-permission', { chatId: scope.slice(5) })));
    },
  },
  { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
);

// assert: the same checks, half of them refused. Both sides hand the harness a promise that
// rejects on a refusal (CASL's synchronous throw wrapped the way its `can` is above), and the
// same handler swallows the refusal. CASL twice: its documented idiom builds a ForbiddenError
// (and its stack) per call; reusing one instance is its cheapest assert.
const DONE = Promise.resolve();
let refusals = 0;
const refused = (error: unknown) => {
  if ((error as { code?: unknown }).code !== 'FORBIDDEN' && !(error instanceof CaslForbiddenError)) throw error;
  refusals++;
};
const caslAssert = (forbidden: CaslForbiddenError<typeof ability>, action: string, chatId: string) => {
  try {
    forbidden.throwUnlessCan(action, subject('chat-permission', { chatId }));
    return DONE;
  } catch (error) {
    return Promise.reject(error);
  }
};
const reusedForbidden = CaslForbiddenError.from(ability);
for (const [resource, action, scope] of checks) {
  const allowed = await rbac.can('alice', `${resource}:${action}`, { scope });
  const ours = await rbac.assert('alice', `${resource}:${action}`, { scope }).then(
    () => true,
    () => false,
  );
  const casl = await caslAssert(CaslForbiddenError.from(ability), action, scope.slice(5)).then(
    () => true,
    () => false,
  );
  if (ours !== allowed || casl !== allowed) throw new Error(`assert disagrees with can on ${resource}:${action}`);
}
const asserts = await compare(
  {
    '@switchboard/rbac': () => {
      const [resource, action, scope] = next();
      return rbac.assert('alice', `${resource}:${action}`, { scope }).catch(refused);
    },
    'CASL (`ForbiddenError.from(ability)` per call)': () => {
      const [, action, scope] = next();
      return caslAssert(CaslForbiddenError.from(ability), action, scope.slice(5)).catch(refused);
    },
    'CASL (one `ForbiddenError` reused)': () => {
      const [, action, scope] = next();
      return caslAssert(reusedForbidden, action, scope.slice(5)).catch(refused);
    },
  },
  { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
);
if (refusals === 0) throw new Error('the assert rounds refused nothing');

// What a mutation usually sees: the check passes. Only the two allowed checks of the four.
const allowedChecks = checks.filter((_, i) => i < 2);
let nAllowed = 0;
const nextAllowed = () => allowedChecks[nAllowed++ % allowedChecks.length] as [string, string, string];
const passes = await compare(
  {
    '@switchboard/rbac': () => {
      const [resource, action, scope] = nextAllowed();
      return rbac.assert('alice', `${resource}:${action}`, { scope });
    },
    'CASL (`ForbiddenError.from(ability)` per call)': () => {
      const [, action, scope] = nextAllowed();
      return caslAssert(CaslForbiddenError.from(ability), action, scope.slice(5));
    },
    'CASL (one `ForbiddenError` reused)': () => {
      const [, action, scope] = nextAllowed();
      return caslAssert(reusedForbidden, action, scope.slice(5));
    },
  },
  { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
);

// The same checks without a promise per call: our per-request snapshot against CASL's ability
// (both synchronous, both built from the user's permissions beforehand). Through the async
// harness above, the harness's own promise and clock reads are most of what is measured.
const alice = await rbac.forUser('alice');
for (const [resource, action, scope] of checks) {
  if (alice.can(`${resource}:${action}`, { scope }) !== (await rbac.can('alice', `${resource}:${action}`, { scope })))
    throw new Error('forUser disagrees with can');
}
const permissionOf = checks.map(([resource, action, scope]) => [`${resource}:${action}`, { scope }] as const);
const caslArgs = checks.map(([, action, scope]) => [action, scope.slice(5)] as const);
const sync = compareSync(
  {
    '@switchboard/rbac': (i) => {
      const [permission, options] = permissionOf[i & 3] as (typeof permissionOf)[number];
      return alice.can(permission, options);
    },
    casbin: (i) => {
      const [resource, action, scope] = checks[i & 3] as [string, string, string];
      // casbin has no synchronous check over a loaded policy; its enforceSync is the closest.
      return enforcer.enforceSync('alice', scope, resource, action);
    },
    CASL: (i) => {
      const [action, chatId] = caslArgs[i & 3] as (typeof caslArgs)[number];
      return ability.can(action, subject('chat-permission', { chatId }));
    },
  },
  { durationMs: DURATION_MS, rounds: ROUNDS },
);

const ours = results['@switchboard/rbac'] as Measurement;
const rows = Object.entries(results).map(([name, m]) => {
  const ratio = name === '@switchboard/rbac' ? '' : `${(ours.opsPerSec / m.opsPerSec).toFixed(2)}×`;
  return `| warm \`can\` (async, 50 in flight) | ${name === '@switchboard/rbac' ? `**${name}**` : name} | ${Math.round(m.opsPerSec).toLocaleString('en-US')} | ${m.p50Ms.toFixed(4)} | ${m.p99Ms.toFixed(4)} | ${ratio} |`;
});
const asyncRows = (check: string, measured: Record<string, Measurement>) => {
  const ours = measured['@switchboard/rbac'] as Measurement;
  return Object.entries(measured).map(([name, m]) => {
    const ratio = name === '@switchboard/rbac' ? '' : `${(ours.opsPerSec / m.opsPerSec).toFixed(2)}×`;
    return `| ${check} | ${name === '@switchboard/rbac' ? `**${name}**` : name} | ${Math.round(m.opsPerSec).toLocaleString('en-US')} | ${m.p50Ms.toFixed(4)} | ${m.p99Ms.toFixed(4)} | ${ratio} |`;
  });
};
const assertRows = [
  ...asyncRows('warm `assert` (async, 50 in flight)', asserts),
  ...asyncRows('warm `assert`, allowed only', passes),
];
const oursSync = sync['@switchboard/rbac'];
const syncRows = Object.entries(sync).map(([name, m]) => {
  const ratio = name === '@switchboard/rbac' || !oursSync ? '' : `${(oursSync.opsPerSec / m.opsPerSec).toFixed(2)}×`;
  const label =
    name === '@switchboard/rbac'
      ? `**${name}** (\`forUser(…).can\`)`
      : name === 'CASL'
        ? 'CASL (`ability.can`)'
        : 'casbin (`enforceSync`)';
  return `| synchronous check | ${label} | ${Math.round(m.opsPerSec).toLocaleString('en-US')} | ${Math.round(m.nsPerOp)} | ${ratio} |`;
});
process.stdout.write(
  `${[
    `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${CONCURRENCY} in flight, median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds${telemetry.note}`,
    '',
    '| check | implementation | checks/s | p50 ms | p99 ms | ours ÷ this |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...rows,
    ...assertRows,
    '',
    '| check | implementation | checks/s | ns per check | ours ÷ this |',
    '| --- | --- | ---: | ---: | ---: |',
    ...syncRows,
  ].join('\n')}\n`,
);

rbac.close();

// Then roles kept in Postgres against roles in code, in a process of their own: a second rbac
// instance here would share this one's call sites (V8 keeps one feedback per function), which
// no application with one instance pays (measured: warm `can` 38 % fewer checks/s).
process.stdout.write(
  execFileSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(new URL('./stored-policy.bench.ts', import.meta.url))],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ),
);
