import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createOutbox, createOutboxRelay } from '../src/index.ts';
import { createOutboxMigrations } from '../src/postgres.ts';

// `node --import tsx` rather than the tsx CLI: the CLI runs the script in a grandchild that a
// SIGKILL of the CLI would leave running.
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/outbox-writer.ts', import.meta.url));
const RELAY = fileURLToPath(new URL('./fixtures/outbox-relay.ts', import.meta.url));

let pool: pg.Pool;
let url: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'tx_crash');
  url = db.primary;
  pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await pool?.end();
});

async function freshTable(name: string) {
  for (const migration of createOutboxMigrations({ table: name })) await pool.query(migration.sql);
  return createOutbox({ table: name, channel: `${name}_wake` });
}

/** Spawns a fixture; `onLine` gets each stdout line. Resolves `exited` when the process is gone. */
function spawnChild(script: string, args: string[], onLine: (line: string) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: PACKAGE_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let buffered = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (_code, signal) => {
      children.delete(child);
      resolve({ signal, stderr });
    });
  });
  return { child, exited };
}

async function drain(table: string, published: string[]) {
  const relay = createOutboxRelay({
    pool,
    table,
    channel: `${table}_wake`,
    batchSize: 200,
    publish: (event) => {
      published.push(event.id);
    },
  });
  // Until nothing is pending: rows a SIGKILLed relay had claimed stay locked until Postgres
  // notices its connection is gone (SKIP LOCKED passes them by meanwhile), and an event whose
  // delivery failed waits for its backoff.
  const outbox = createOutbox({ table });
  const deadline = Date.now() + 30_000;
  while ((await outbox.stats(pool)).pending > 0) {
    if (Date.now() > deadline) throw new Error('the outbox did not drain within 30 s');
    const { claimed } = await relay.runOnce();
    if (claimed === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('crash safety', () => {
  test('a process killed after COMMIT but before publishing loses nothing: a later relay delivers', async () => {
    const outbox = await freshTable('crash_once');
    let committed: string | undefined;
    const { child, exited } = spawnChild(WRITER, [url, outbox.table, 'once'], (line) => {
      if (line.startsWith('committed ')) {
        committed = line.slice('committed '.length);
        child.kill('SIGKILL');
      }
    });
    const { signal, stderr } = await exited;
    expect(stderr).toBe('');
    expect(signal).toBe('SIGKILL');
    expect(committed).toMatch(/^[0-9a-f-]{36}$/);
    const published: string[] = [];
    await drain(outbox.table, published);
    expect(published).toEqual([committed]);
  });

  test('over 1,000 events with writers and relays SIGKILLed at random: every acknowledged event delivered, none invented', async () => {
    const outbox = await freshTable('crash_many');
    const acknowledged = new Set<string>();
    const rolledBack = new Set<string>();
    const published: string[] = [];
    const stderrs: string[] = [];
    let kills = 0;
    const target = 1000;

    const writer = async (): Promise<void> => {
      while (acknowledged.size < target) {
        // Killed after a random number of its transactions, at whatever point it then is (between
        // statements, mid-COMMIT, between COMMIT and printing): independent of machine speed.
        const killAfter = 20 + Math.floor(Math.random() * 130);
        let lines = 0;
        const { child, exited } = spawnChild(WRITER, [url, outbox.table, 'loop'], (line) => {
          const [kind, id] = line.split(' ');
          if (!id) return;
          if (kind === 'committed') acknowledged.add(id);
          else if (kind === 'rolledback') rolledBack.add(id);
          if (acknowledged.size >= target) {
            // Enough: stop every child now, mid-flight like the others.
            for (const running of children) running.kill('SIGKILL');
          } else if (++lines === killAfter) {
            kills++;
            child.kill('SIGKILL');
          }
        });
        const { signal, stderr } = await exited;
        if (signal !== 'SIGKILL') stderrs.push(stderr);
      }
    };
    const relayChild = async (): Promise<void> => {
      while (acknowledged.size < target) {
        let timer: NodeJS.Timeout | undefined;
        const killAfter = 10 + Math.floor(Math.random() * 150);
        let lines = 0;
        const { child, exited } = spawnChild(RELAY, [url, outbox.table], (line) => {
          if (line.startsWith('published ')) published.push(line.slice('published '.length));
          if (++lines === killAfter) {
            kills++;
            child.kill('SIGKILL');
          }
          timer ??= setTimeout(
            () => {
              kills++;
              child.kill('SIGKILL');
            },
            100 + Math.random() * 600,
          );
        });
        const { signal, stderr } = await exited;
        clearTimeout(timer);
        if (signal !== 'SIGKILL') stderrs.push(stderr);
      }
    };
    await Promise.all([writer(), writer(), writer(), relayChild(), relayChild()]);
    expect(stderrs).toEqual([]);
    expect(kills).toBeGreaterThan(5);

    // A relay started after all the crashes delivers whatever is left.
    await drain(outbox.table, published);

    const delivered = new Set(published);
    const { rows } = await pool.query<{ id: string }>(`SELECT id::text FROM ${outbox.table}`);
    const stored = new Set(rows.map((row) => row.id));
    expect(acknowledged.size).toBeGreaterThanOrEqual(target);
    expect([...acknowledged].filter((id) => !delivered.has(id))).toEqual([]);
    // Nothing invented: every published id was committed by a writer, none was rolled back.
    expect([...delivered].filter((id) => !stored.has(id))).toEqual([]);
    expect([...rolledBack].filter((id) => delivered.has(id) || stored.has(id))).toEqual([]);
    expect(rolledBack.size).toBeGreaterThan(0);
    expect(await createOutbox({ table: outbox.table }).stats(pool)).toMatchObject({ pending: 0 });
  }, 60_000);
});
