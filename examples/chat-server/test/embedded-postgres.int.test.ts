import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { type EmbeddedPostgres, socketPathFits, startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';

const dirs: string[] = [];
const running: EmbeddedPostgres[] = [];

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sb-embedded-'));
  dirs.push(dir);
  return dir;
}

async function start(dir: string, port?: number): Promise<EmbeddedPostgres> {
  const db = await startEmbeddedPostgres({ dataDir: dir, ...(port === undefined ? {} : { port }) });
  running.push(db);
  return db;
}

async function query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Running, not merely a zombie waiting for PID 1 to reap it (kill -0 succeeds on those). */
function isAlive(pid: number): boolean {
  try {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

afterAll(async () => {
  await Promise.all(running.map((db) => db.stop()));
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('startEmbeddedPostgres', () => {
  test('creates the cluster on first start, keeps its data across restarts, guards its password', async () => {
    const dir = await dataDir();
    const first = await start(dir);
    // The server talks to it over the Unix socket in the cluster's folder; TCP stays open.
    expect(first.url).toBe(first.tcpUrl.replace('@127.0.0.1:', `@${encodeURIComponent(first.clusterDir)}:`));
    expect(first.tcpUrl).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/switchboard$/);
    expect((await stat(join(first.clusterDir, `.s.PGSQL.${first.port}`))).isSocket()).toBe(true);
    expect(await query(first.tcpUrl, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    await query(first.url, 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$still here$$)');
    await first.stop();

    const second = await start(dir);
    expect(await query(second.url, 'SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
    expect((await stat(join(dir, 'postgres-password'))).mode & 0o777).toBe(0o600);
    // Only our password opens it, over the socket as over TCP: no connection is trusted.
    for (const url of [second.url, second.tcpUrl]) {
      const wrong = new URL(url);
      wrong.password = 'wrong';
      await expect(query(wrong.href, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    }
    await second.stop();
  });

  test('falls back to TCP when the socket path would not fit in sun_path', async () => {
    const parent = await dataDir();
    await chmod(parent, 0o711); // the server's OS user passes through it
    const dir = join(parent, 'a-data-folder-deep-enough-that-its-socket-path-is-over-107-bytes-long');
    expect(socketPathFits(join(dir, 'postgres'), 65535)).toBe(false);
    const db = await start(dir);
    expect(db.url).toBe(db.tcpUrl);
    expect(await query(db.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    await db.stop();
  });

  test('recovers the orphan a kill -9 of Node leaves behind', async () => {
    const dir = await dataDir();
    // Node itself (not the tsx CLI, which would leave its own node child running): this is the
    // process whose death orphans the server.
    const script = fileURLToPath(new URL('./fixtures/hold-embedded-postgres.ts', import.meta.url));
    const holder = spawn(process.execPath, ['--import', 'tsx', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(holder.stdout, 'data')) as [Buffer];
    const orphanPid = Number(line.toString().trim());
    expect(isAlive(orphanPid)).toBe(true);
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    expect(isAlive(orphanPid)).toBe(true);

    const db = await start(dir);
    expect(await query(db.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    expect(isAlive(orphanPid)).toBe(false);
    await db.stop();
  });

  test('names the folder the postgres OS user cannot enter, instead of an opaque EACCES', async () => {
    // mkdtemp makes a root-owned 0700 folder: fine for root, closed to the server's own user.
    const closed = await dataDir();
    await expect(startEmbeddedPostgres({ dataDir: join(closed, 'data') })).rejects.toThrow(
      new RegExp(`cannot enter ${closed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(mode 700\\)`),
    );
  });

  test('refuses a data folder a live server is using, and explains a taken port', async () => {
    const dir = await dataDir();
    await start(dir);
    await expect(startEmbeddedPostgres({ dataDir: dir })).rejects.toThrow(/in use by another running server/);

    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const other = await dataDir();
      await expect(startEmbeddedPostgres({ dataDir: other, port })).rejects.toThrow(/port is taken/);
    } finally {
      blocker.close();
    }
  });
});
