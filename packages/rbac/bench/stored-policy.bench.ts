/**
 * Roles kept in PostgreSQL (a policy store: defined at runtime, loaded and compiled when the
 * instance starts) against the same roles in code: warm `can`, `assert` (half refused, and
 * allowed only) and `forUser(…).can`, the checks of rbac.bench.ts. A stored policy must cost a
 * check nothing: a check reads the compiled policy in force, never the store.
 *
 * Both instances in one process, so both pay the same shared call sites. The harness runs
 * contenders in a fixed order each round and the one after an allocating contender pays its
 * garbage collection (±15 % on the assert rows by position alone, measured), so each check runs
 * in passes that alternate the order, and the ratio reported is the median of the passes.
 *
 * Run: npm run bench -w @switchboard/rbac (rbac.bench.ts runs it in a process of its own)
 */
import { compare, compareSync } from '@switchboard/bench';
import { benchTelemetry } from '@switchboard/bench/telemetry';
import { startTopology } from '@switchboard/infra';
// By package name: the built dist/ that users install.
import { createRbac, type Rbac, type UserPermissions } from '@switchboard/rbac';
import * as rbacPostgres from '@switchboard/rbac/postgres';
import pg from 'pg';
import { checks, roles } from './fixture.ts';

const CONCURRENCY = 50;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PASSES = Number(process.env.BENCH_PASSES ?? 4);

// A build from before policy stores (`npm run bench:ab -- rbac --base <older commit>`): nothing to compare.
if (typeof rbacPostgres.createPostgresPolicyStore !== 'function') process.exit(0);

const telemetry = await benchTelemetry();
const topology = await startTopology({ postgres: { replicas: 0 }, redis: false });
const pool = new pg.Pool({ connectionString: topology.info.postgres?.primary, max: 2 });
try {
  for (const migration of rbacPostgres.migrations) await pool.query(migration.sql);
  const admin = await createRbac({
    policyStore: rbacPostgres.createPostgresPolicyStore({ pool }),
    policyPollMs: false,
  });
  for (const [name, definition] of Object.entries(roles)) await admin.defineRole(name, definition, { actor: 'bench' });
  admin.close();

  // Grants in memory for both: a warm check reads neither store.
  const code = await createRbac({ telemetry: telemetry.option, roles });
  const stored = await createRbac({
    telemetry: telemetry.option,
    policyStore: rbacPostgres.createPostgresPolicyStore({ pool }),
    policyPollMs: false,
  });
  for (const instance of [code, stored]) {
    await instance.grant('alice', 'admin', 'chat:1');
    await instance.grant('alice', 'member', 'chat:2');
  }
  for (const [resource, action, scope] of checks) {
    const permission = `${resource}:${action}`;
    if ((await code.can('alice', permission, { scope })) !== (await stored.can('alice', permission, { scope })))
      throw new Error(`the stored policy disagrees with the code one on ${permission} in ${scope}`);
  }

  let n = 0;
  const next = () => checks[n++ % checks.length] as [string, string, string];
  let allowed = 0;
  const nextAllowed = () => checks[allowed++ % 2] as [string, string, string];
  const refused = (error: unknown) => {
    if ((error as { code?: unknown }).code !== 'FORBIDDEN') throw error;
  };

  const rows: string[] = [];
  const row = (label: string, runs: Record<string, { opsPerSec: number }>[]) => {
    const ops = (run: Record<string, { opsPerSec: number }>, name: string) =>
      (run[name] as { opsPerSec: number }).opsPerSec;
    const ratios = runs.map((run) => ops(run, 'code') / ops(run, 'stored'));
    // The median: a pass that another process on the machine disturbed moves it least.
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const middle = sorted.length >> 1;
      return sorted.length % 2 === 1
        ? (sorted[middle] as number)
        : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
    };
    const perSecond = (name: string) => Math.round(median(runs.map((run) => ops(run, name)))).toLocaleString('en-US');
    rows.push(
      `| ${label} | ${perSecond('code')} | ${perSecond('stored')} | ${ratios.map((ratio) => `${ratio.toFixed(2)}×`).join(' / ')} | **${median(ratios).toFixed(2)}×** |`,
    );
  };
  // Orders alternate pass by pass (code first, then Postgres first, …): a pass is `ROUNDS` rounds.
  const bothOrders = async (label: string, of: (instance: Rbac) => () => Promise<unknown>) => {
    const options = { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS };
    const runs = [];
    for (let pass = 0; pass < PASSES; pass++) {
      runs.push(
        pass % 2 === 0
          ? await compare({ code: of(code), stored: of(stored) }, options)
          : await compare({ stored: of(stored), code: of(code) }, options),
      );
    }
    row(label, runs);
  };

  await bothOrders('warm `can` (async, 50 in flight)', (instance) => () => {
    const [resource, action, scope] = next();
    return instance.can('alice', `${resource}:${action}`, { scope });
  });
  await bothOrders('warm `assert` (async, 50 in flight)', (instance) => () => {
    const [resource, action, scope] = next();
    return instance.assert('alice', `${resource}:${action}`, { scope }).catch(refused);
  });
  await bothOrders('warm `assert`, allowed only', (instance) => () => {
    const [resource, action, scope] = nextAllowed();
    return instance.assert('alice', `${resource}:${action}`, { scope });
  });
  const permissionOf = checks.map(([resource, action, scope]) => [`${resource}:${action}`, { scope }] as const);
  const sync = (snapshot: UserPermissions) => (i: number) => {
    const [permission, options] = permissionOf[i & 3] as (typeof permissionOf)[number];
    return snapshot.can(permission, options);
  };
  const [codeAlice, storedAlice] = [await code.forUser('alice'), await stored.forUser('alice')];
  const syncOptions = { durationMs: DURATION_MS, rounds: ROUNDS };
  row(
    'synchronous check (`forUser(…).can`)',
    Array.from({ length: PASSES }, (_, pass) =>
      pass % 2 === 0
        ? compareSync({ code: sync(codeAlice), stored: sync(storedAlice) }, syncOptions)
        : compareSync({ stored: sync(storedAlice), code: sync(codeAlice) }, syncOptions),
    ),
  );
  code.close();
  stored.close();

  process.stdout.write(
    `${[
      '',
      `Roles in Postgres against the same roles in code: both instances in one process, ${PASSES} passes alternating which goes first, each the median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds; the median of the passes${telemetry.note}`,
      '',
      '| check | roles in code, checks/s | roles in Postgres, checks/s | code ÷ Postgres (each pass) | code ÷ Postgres |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...rows,
    ].join('\n')}\n`,
  );
} finally {
  await pool.end();
  await topology.stop();
}
