import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-sse';
import { afterAll, expect, test } from 'vitest';
import { gql, TEST_PASSWORD } from './client.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
let cluster: ChildProcessWithoutNullStreams | undefined;

afterAll(() => {
  // Only if the test failed before stopping it.
  if (!cluster?.pid || cluster.exitCode !== null || cluster.signalCode !== null) return;
  try {
    process.kill(-cluster.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
});

/** Pids of every process whose command line mentions `needle` (servers of one topology dir). */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

test('npm run cluster: two instances over replicas and Sentinel, a message crosses them, Ctrl-C leaves nothing', async () => {
  // Its own process group, signalled as a whole: what Ctrl-C in a terminal does.
  cluster = spawn('npm', ['run', '-s', 'cluster'], {
    cwd: root,
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  }) as ChildProcessWithoutNullStreams;
  let printed = '';
  await new Promise<void>((resolve, reject) => {
    cluster?.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      if (printed.includes('Stop with Ctrl-C.')) resolve();
    });
    cluster?.once('exit', (code) => reject(new Error(`npm run cluster exited (${code}): ${printed}`)));
  });
  const urls = [...printed.matchAll(/instance \d: (\S+)/g)].map((match) => match[1] as string);
  expect(urls).toHaveLength(2);
  const [a, b] = urls as [string, string];

  const input = {
    username: 'clusteruser',
    email: 'cluster@example.com',
    password: TEST_PASSWORD,
  };
  const registered = await gql<{ register: { accessToken: string } }>(
    a,
    'mutation($input: RegisterInput!) { register(input: $input) { accessToken } }',
    { input },
  );
  const token = registered.data?.register.accessToken as string;
  expect(token).toBeDefined();
  const chat = await gql<{ createChat: { id: string } }>(
    b,
    'mutation { createChat(input: { title: "Both", participantIds: [] }) { id } }',
    {},
    token,
  );
  const chatId = chat.data?.createChat.id as string;
  expect(chatId).toBeDefined();

  const client = createClient({ url: b, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  const stream = client.iterate<{ messageAdded: { content: string } }>({
    query: 'subscription($chatId: ID!) { messageAdded(chatId: $chatId) { content } }',
    variables: { chatId },
  });
  const first = stream.next();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const sent = await gql(
    a,
    'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
    { input: { chatId, content: 'from instance 1' } },
    token,
  );
  expect(sent.errors).toBeUndefined();
  expect((await first).value?.data?.messageAdded.content).toBe('from instance 1');
  await stream.return?.();
  client.dispose();

  const instancePids = [...printed.matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
  const dir = /servers' files in (\S+)/.exec(printed)?.[1] as string;
  expect(instancePids).toHaveLength(2);
  expect(processesMentioning(dir).length).toBeGreaterThan(0);

  process.kill(-(cluster.pid as number), 'SIGINT');
  await once(cluster, 'exit');
  // Servers first, then PostgreSQL and Redis: nothing of the cluster is left.
  expect(instancePids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  expect(processesMentioning(dir)).toEqual([]);
  expect(existsSync(dir)).toBe(false);
});
