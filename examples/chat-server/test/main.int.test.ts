import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { gql, TEST_PASSWORD } from './client.ts';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function start(env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--conditions=@switchboard/source', '--import', 'tsx', main], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Resolves with everything printed once the banner is complete (its last line says how to stop). */
function banner(child: ChildProcessWithoutNullStreams): Promise<string> {
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('Stop with Ctrl-C.')) resolve(stdout);
    });
    child.once('exit', (code) => reject(new Error(`exited early (${code}): ${stdout}${stderr}`)));
  });
}

async function health(url: string): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ health }' }),
  });
  return response.json();
}

function serverPid(dataDir: string): Promise<number> {
  return readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').then((text) => Number(text.split('\n')[0]));
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start from the repository root', () => {
  test('embedded mode, fresh data folder: answers register, login and sendMessage; Ctrl-C stops everything', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sb-chat-npm-'));
    dirs.push(dataDir);
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    // Its own process group, signalled as a whole: what Ctrl-C in a terminal does.
    const child = spawn('npm', ['start', '--silent'], {
      cwd: root,
      env: { ...process.env, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    }) as ChildProcessWithoutNullStreams;
    try {
      const printed = await banner(child);
      const url = /(http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(printed)?.[1] as string;
      const input = { username: 'npmstart', email: 'npm@example.com', password: TEST_PASSWORD };
      const registered = await gql<{ register: { user: { id: string } } }>(
        url,
        'mutation($input: RegisterInput!) { register(input: $input) { user { id } } }',
        { input },
      );
      expect(registered.errors).toBeUndefined();
      const login = await gql<{ login: { accessToken: string } }>(
        url,
        'mutation($input: LoginInput!) { login(input: $input) { accessToken } }',
        { input: { username: input.username, password: input.password } },
      );
      const token = login.data?.login.accessToken as string;
      const chat = await gql<{ createChat: { id: string } }>(
        url,
        'mutation { createChat(input: { title: "Hello", participantIds: [] }) { id } }',
        {},
        token,
      );
      const sent = await gql<{ sendMessage: { content: string; sender: { id: string } } }>(
        url,
        'mutation($input: SendMessageInput!) { sendMessage(input: $input) { content sender { id } } }',
        { input: { chatId: chat.data?.createChat.id, content: 'hi from <b>npm start</b>' } },
        token,
      );
      expect(sent.data?.sendMessage).toEqual({
        content: 'hi from <b>npm start</b>',
        sender: { id: registered.data?.register.user.id },
      });
      const postgresPid = await serverPid(dataDir);
      process.kill(-(child.pid as number), 'SIGINT');
      await once(child, 'exit');
      for (let i = 0; i < 100 && running(postgresPid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(running(postgresPid)).toBe(false);
    } finally {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
});

describe('npm start (src/main.ts)', () => {
  test('embedded mode: banner with URL and data folder, serves, stops Postgres too on SIGTERM, data kept', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sb-chat-data-'));
    dirs.push(dataDir);
    const child = start({ PORT: '0', DATA_DIR: dataDir });
    const printed = await banner(child);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(printed)?.[1];
    expect(url).toBeDefined();
    expect(printed).toContain(`data in ${dataDir}`);
    expect(await health(url as string)).toEqual({ data: { health: 'ok' } });
    const postgresPid = await serverPid(dataDir);

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    // Stopped by the server itself (fast shutdown removes the pid file), not left to PID 1.
    expect(running(postgresPid)).toBe(false);

    // A second start finds the schema in place: nothing to apply, same data folder.
    const again = start({ PORT: '0', DATA_DIR: dataDir });
    await banner(again);
    const client = new pg.Client({
      connectionString: `postgres://postgres:${encodeURIComponent((await readFile(join(dataDir, 'postgres-password'), 'utf8')).trim())}@127.0.0.1:${(await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[3]}/switchboard`,
    });
    await client.connect();
    const { rows } = await client.query('SELECT owner, id FROM switchboard_migrations ORDER BY applied_at, owner');
    await client.end();
    expect(rows.map((row) => `${row.owner}:${row.id}`)).toEqual(
      expect.arrayContaining(['@switchboard/auth:0001_switchboard_auth_sessions', 'chat-server:0001_chat']),
    );
    again.kill('SIGINT');
    expect((await once(again, 'exit'))[0]).toBe(0);
  });

  test('DATABASE_URL mode: migrates that database and says so', async () => {
    const db = await createTestDatabase(inject('infra'), 'chat_main');
    const child = start({ PORT: '0', DATABASE_URL: db.primary });
    const printed = await banner(child);
    expect(printed).toContain('PostgreSQL from DATABASE_URL');
    const client = new pg.Client({ connectionString: db.primary });
    await client.connect();
    const { rows } = await client.query("SELECT to_regclass('public.messages') AS messages");
    await client.end();
    expect(rows[0].messages).toBe('messages');
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  test('configured for replicas and Redis Sentinel: says so and serves', async () => {
    const infra = inject('infra');
    const db = await createTestDatabase(infra, 'chat_main_cluster');
    const redis = infra.redis;
    if (!redis) throw new Error('the shared topology has no Redis');
    const child = start({
      PORT: '0',
      DATABASE_URL: db.primary,
      DATABASE_REPLICA_URLS: db.replicas.join(','),
      REDIS_SENTINELS: redis.sentinels.map((node) => `${node.host}:${node.port}`).join(','),
      REDIS_MASTER_NAME: redis.masterName,
      LOG_LEVEL: 'warn',
    });
    const printed = await banner(child);
    expect(printed).toContain('PostgreSQL from DATABASE_URL, 2 replica(s) for reads, Redis via Sentinel');
    const url = /(http:\/\/127\.0\.0\.1:\d+\/graphql)/.exec(printed)?.[1] as string;
    expect(await health(url)).toEqual({ data: { health: 'ok' } });
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  test('bad configuration fails at start with one line naming the variable', async () => {
    const child = start({ PORT: 'not-a-port' });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr.trim()).toBe("invalid configuration: PORT: must be a whole number from 0 to 65535, got 'not-a-port'");
  });
});
