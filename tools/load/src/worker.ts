// A load-generator process: sends its share of the offered rate on a fixed schedule (open loop)
// and records, for every request, when it was due, how late it left and when its answer was
// complete. Latency counts from the due time, so a slow server cannot slow the schedule down and
// hide its own queueing (no coordinated omission, as wrk2 and k6's constant-arrival-rate).
import { Pool } from 'undici';
import { random } from './random.ts';
import type { ParentMessage, RequestTemplate, WorkerConfig, WorkerMessage, WorkerResult } from './workload.ts';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function pick(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) current = (current as Record<string, unknown> | null | undefined)?.[key];
  return current;
}

interface Prepared {
  parts: string[];
  ack: string[] | undefined;
  template: RequestTemplate;
}

async function run(config: WorkerConfig, startAt: number): Promise<WorkerResult> {
  const paths = config.urls.map((url) => new URL(url).pathname);
  const origins = config.urls.map((url) => new URL(url).origin);
  const pools = new Map<string, Pool>();
  const poolFor = (address: string, url: number): Pool => {
    const key = `${address} ${url}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = new Pool(origins[url] as string, {
        connections: config.connections,
        localAddress: address,
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
      });
      pools.set(key, pool);
    }
    return pool;
  };
  const prepared: Prepared[] = config.templates.map((template) => ({
    parts: template.body.split('%N%'),
    ack: template.ack?.split('.'),
    template,
  }));
  const headers = config.tokens.map((token) => ({
    'content-type': 'application/json',
    accept: 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  }));

  // The rate ramps up linearly over the first half of the warm-up, then holds: a cold server
  // (JIT, caches, pool) hit at full rate at once builds a queue that the measured window would
  // still be draining.
  const perMs = config.rate / 1000;
  const rampMs = config.warmupMs / 2;
  const rampCount = (perMs * rampMs) / 2;
  // Workers interleave: worker i sends request k when k + i / workers requests are due.
  const phase = config.index / config.workers;
  const dueOf = (k: number) => {
    const count = k + phase;
    return count < rampCount ? Math.sqrt((2 * rampMs * count) / perMs) : rampMs + (count - rampCount) / perMs;
  };
  // Requests k with k + phase < the count due by the end.
  const total = Math.max(0, Math.ceil(rampCount + perMs * (config.totalMs - rampMs) - phase - 1e-9));
  const scheduled = new Float64Array(total);
  const latency = new Float64Array(total);
  const late = new Float64Array(total);
  const outcome = new Uint16Array(total);
  const errorKinds: string[] = [];
  const errorIndex = new Map<string, number>();
  const ackIndex: number[] = [];
  const ackValue: string[] = [];
  const fail = (k: number, kind: string) => {
    let index = errorIndex.get(kind);
    if (index === undefined) {
      index = errorKinds.length;
      errorKinds.push(kind);
      errorIndex.set(kind, index);
    }
    outcome[k] = index + 1;
  };
  const next = random(config.seed + config.index * 7919);

  // Timestamps relative to the common start, which the parent gave as epoch milliseconds.
  const origin = startAt - performance.timeOrigin;
  let inFlight = 0;
  let sent = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const fire = (k: number, due: number, now: number) => {
    const { parts, ack, template } = prepared[Math.floor(next() * prepared.length)] as Prepared;
    scheduled[k] = due;
    late[k] = now - due;
    inFlight++;
    const body = parts.length === 1 ? (parts[0] as string) : parts.join(`${config.index}-${k}`);
    const address = config.addresses[template.user % config.addresses.length] as string;
    poolFor(address, template.url)
      .request({
        method: 'POST',
        path: paths[template.url] as string,
        headers: headers[template.user] ?? {},
        body,
      })
      .then(async (response) => {
        const text = await response.body.text();
        latency[k] = performance.now() - origin - due;
        if (response.statusCode !== 200) {
          fail(k, `http ${response.statusCode}${errorCode(text)}`);
          return;
        }
        const parsed = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
        if (parsed.errors?.length) {
          fail(k, `graphql${errorCode(text)}`);
          return;
        }
        if (ack) {
          ackIndex.push(k);
          ackValue.push(String(pick(parsed.data, ack)));
        }
      })
      .catch((error: unknown) => {
        latency[k] = performance.now() - origin - due;
        const code = (error as { code?: string }).code ?? (error as Error).name ?? 'error';
        fail(k, `network ${code}`);
      })
      .finally(() => {
        inFlight--;
        if (sent === total && inFlight === 0) finish();
      });
  };

  const tick = () => {
    const now = performance.now() - origin;
    while (sent < total && dueOf(sent) <= now) {
      fire(sent, dueOf(sent), now);
      sent++;
    }
    if (sent < total) {
      setTimeout(tick, Math.max(0, dueOf(sent) - (performance.now() - origin)));
    } else if (inFlight === 0) {
      finish();
    }
  };
  setTimeout(tick, Math.max(0, origin - performance.now()));
  await finished;

  await Promise.all([...pools.values()].map((pool) => pool.destroy()));
  return {
    scheduled,
    latency,
    late,
    outcome,
    errorKinds,
    ackIndex: Uint32Array.from(ackIndex),
    ackValue,
  };
}

/** `(CODE)` from the first GraphQL error of a response body, when it has one. */
function errorCode(text: string): string {
  try {
    const code = (JSON.parse(text) as { errors?: { extensions?: { code?: unknown } }[] }).errors?.[0]?.extensions?.code;
    return code ? ` ${String(code)}` : '';
  } catch {
    return '';
  }
}

let config: WorkerConfig | undefined;
process.on('message', (message: ParentMessage) => {
  if (message.type === 'setup') {
    config = message.config;
    send({ type: 'ready' });
  } else if (message.type === 'go' && config) {
    run(config, message.startAt).then(
      (result) => send({ type: 'done', result }),
      (error: unknown) =>
        send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  }
});
process.on('disconnect', () => process.exit(0));
