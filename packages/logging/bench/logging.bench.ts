/**
 * Side by side, in one process: @switchboard/logging's loggers (ECS and pino formats, with and
 * without a log context) against plain pino writing to the same no-op destination, so the
 * numbers are the cost of building lines, not of the disk. Per line, and per "request": three
 * lines under one request id (runWithLogContext for ours, a `child({ requestId })` for plain
 * pino, which is how pino users carry one). Also shown: pino with ecs-pino-format wired by
 * hand, and pino applying our default redaction paths itself (why the logger walks them instead).
 * Prints a markdown table for the README.
 *
 * Run: npm run bench -w @switchboard/logging
 */
import os from 'node:os';
import { ecsFormat } from '@elastic/ecs-pino-format';
import { compare, compareSync, type Measurement, type SyncMeasurement } from '@switchboard/bench';
// By package name: the built dist/ that users install.
import { createLogger, DEFAULT_REDACT_PATHS, runWithLogContext } from '@switchboard/logging';
import pino from 'pino';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = 50;
const WARMUP_MS = 500;

// Lines go nowhere: what is measured is the logger's own work (context, formatting, redaction,
// serialization), the part that runs on the event loop.
const sink = { write: (_line: string) => undefined };

const plainPino = pino({}, sink);
// What a user wiring ECS by hand gets: pino with ecs-pino-format, no context, no redaction.
const pinoEcsFormat = pino(ecsFormat({ serviceName: 'bench', apmIntegration: false }), sink);
const plainPinoRedacting = pino({ redact: { paths: [...DEFAULT_REDACT_PATHS], censor: '[redacted]' } }, sink);
const ecs = createLogger({ serviceName: 'bench', serviceVersion: '1.0.0', environment: 'bench' }, sink);
const ecsNoRedaction = createLogger({ serviceName: 'bench', redact: { keepDefaults: false } }, sink);
const pinoFormat = createLogger({ serviceName: 'bench', format: 'pino' }, sink);

const context = { requestId: 'f3b1c2d4-0000-4000-8000-000000000000', userId: 'u-42', operationName: 'SendMessage' };
// A typical line: a few fields, one nested object.
const fields = (i: number) => ({ chatId: 'c-7', sequence: i, input: { contentLength: 120 } });

type Run = (i: number) => unknown;
const inContext =
  (run: Run): Run =>
  (i) =>
    runWithLogContext(context, () => run(i));

// Per line. "in context" runs each line inside its own runWithLogContext, so the number includes
// entering the context: the per-request table below spreads that over three lines.
const perLine: Record<string, Run> = {
  'plain pino': (i) => plainPino.info(fields(i), 'message sent'),
  'plain pino + our default paths as pino redact': (i) => plainPinoRedacting.info(fields(i), 'message sent'),
  'plain pino + ecs-pino-format': (i) => pinoEcsFormat.info(fields(i), 'message sent'),
  'ours, ECS, no context': (i) => ecs.info(fields(i), 'message sent'),
  'ours, ECS, no context, no redaction': (i) => ecsNoRedaction.info(fields(i), 'message sent'),
  'ours, pino format, no context': (i) => pinoFormat.info(fields(i), 'message sent'),
  'ours, ECS, in context': inContext((i) => ecs.info(fields(i), 'message sent')),
  'ours, pino format, in context': inContext((i) => pinoFormat.info(fields(i), 'message sent')),
};

const threeLines = (log: { info: (fields: object, message: string) => void }, i: number) => {
  log.info({ operationType: 'mutation' }, 'operation started');
  log.info(fields(i), 'message sent');
  log.info({ 'event.duration': 1_250_000, outcome: 'success' }, 'operation finished');
};

const perRequest: Record<string, Run> = {
  'plain pino, child({ requestId, ... })': (i) => threeLines(plainPino.child(context), i),
  'plain pino + ecs-pino-format, child(...)': (i) => threeLines(pinoEcsFormat.child(context), i),
  'ours, ECS, runWithLogContext': (i) => runWithLogContext(context, () => threeLines(ecs, i)),
  'ours, pino format, runWithLogContext': (i) => runWithLogContext(context, () => threeLines(pinoFormat, i)),
};

// The same request with an await between its lines (a database call), many in flight: what the
// context costs once AsyncLocalStorage has to carry it across the event loop.
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const asyncRequest = async (log: { info: (fields: object, message: string) => void }, i: number) => {
  log.info({ operationType: 'mutation' }, 'operation started');
  await tick();
  log.info(fields(i), 'message sent');
  await tick();
  log.info({ 'event.duration': 1_250_000, outcome: 'success' }, 'operation finished');
};
const perAsyncRequest: Record<string, (i: number) => Promise<unknown>> = {
  'plain pino, child({ requestId, ... })': (i) => asyncRequest(plainPino.child(context), i),
  'ours, ECS, runWithLogContext': (i) => runWithLogContext(context, () => asyncRequest(ecs, i)),
  'ours, pino format, runWithLogContext': (i) => runWithLogContext(context, () => asyncRequest(pinoFormat, i)),
};

const rows: string[] = [];
const ops = (value: number) => Math.round(value).toLocaleString('en-US');

function syncRows(scenario: string, results: Record<string, SyncMeasurement>, baseline: string): void {
  const base = results[baseline];
  for (const [name, m] of Object.entries(results)) {
    const ratio = base ? `${(m.opsPerSec / base.opsPerSec).toFixed(2)}×` : '';
    rows.push(`| ${scenario} | ${name} | ${ops(m.opsPerSec)} | ${m.nsPerOp.toFixed(0)} ns | – | – | ${ratio} |`);
  }
}

function asyncRows(scenario: string, results: Record<string, Measurement>, baseline: string): void {
  const base = results[baseline];
  for (const [name, m] of Object.entries(results)) {
    const ratio = base ? `${(m.opsPerSec / base.opsPerSec).toFixed(2)}×` : '';
    rows.push(
      `| ${scenario} | ${name} | ${ops(m.opsPerSec)} | – | ${m.p50Ms.toFixed(3)} | ${m.p99Ms.toFixed(3)} | ${ratio} |`,
    );
  }
}

// Warm-up: every contender runs unmeasured first, so none is measured cold.
compareSync({ ...perLine, ...perRequest }, { durationMs: WARMUP_MS, rounds: 1 });
syncRows('one line', compareSync(perLine, { durationMs: DURATION_MS, rounds: ROUNDS }), 'plain pino');
syncRows(
  'one request, 3 lines',
  compareSync(perRequest, { durationMs: DURATION_MS, rounds: ROUNDS }),
  'plain pino, child({ requestId, ... })',
);
asyncRows(
  `one request, 3 lines, 2 awaits, ${CONCURRENCY} in flight`,
  await compare(perAsyncRequest, {
    concurrency: CONCURRENCY,
    durationMs: DURATION_MS,
    rounds: ROUNDS,
    warmupMs: WARMUP_MS,
  }),
  'plain pino, child({ requestId, ... })',
);

const cpus = os.cpus();
const header = [
  `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus.length} cores (${cpus[0]?.model ?? 'unknown'}), no-op destination, median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds after ${WARMUP_MS} ms of warm-up each`,
  '',
  '| scenario | logger | ops/s | per op | p50 ms | p99 ms | ÷ plain pino |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
];
process.stdout.write(`${[...header, ...rows].join('\n')}\n`);
