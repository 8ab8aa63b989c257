/**
 * What a bench passes as its package's `telemetry` option. `BENCH_TELEMETRY=on` (set by
 * `npm run bench:ab -- <package> --telemetry`) turns it on for the whole process: ours is then
 * measured as an application that traces pays for it, against the same peers, so the ratio's
 * change between an off run and an on run is telemetry's cost. One process is either all off or
 * all on: a process that ran both would measure the off path through call sites V8 has already
 * seen take the on path.
 */
export interface BenchTelemetry {
  /** The packages' `telemetry` option: `true` (the global API) when on, `false` (off) when off. */
  readonly option: boolean;
  /** For the bench's header line: `''` when off. */
  readonly note: string;
}

const OFF: BenchTelemetry = { option: false, note: '' };

let installed: Promise<BenchTelemetry> | undefined;

/**
 * Off (the default) loads nothing. On, registers the real OpenTelemetry SDK globally once, as an
 * application's NodeSDK would: an AsyncLocalStorage context manager, a tracer provider that
 * samples every span and hands them to a batch processor (its exporter drops them: the cost
 * measured is ours and the SDK's, not a network's), and a meter provider whose reader collects
 * every minute, so counters aggregate as they would in production.
 */
export function benchTelemetry(): Promise<BenchTelemetry> {
  if (process.env.BENCH_TELEMETRY !== 'on') return Promise.resolve(OFF);
  installed ??= install();
  return installed;
}

async function install(): Promise<BenchTelemetry> {
  const [api, { AsyncLocalStorageContextManager }, traceSdk, metricsSdk] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-metrics'),
  ]);
  const success = { code: 0 } as const;
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.trace.setGlobalTracerProvider(
    new traceSdk.BasicTracerProvider({
      spanProcessors: [
        new traceSdk.BatchSpanProcessor({
          export: (_spans, done) => done(success),
          shutdown: async () => {},
        }),
      ],
    }),
  );
  api.metrics.setGlobalMeterProvider(
    new metricsSdk.MeterProvider({
      readers: [
        new metricsSdk.PeriodicExportingMetricReader({
          exporter: {
            export: (_metrics, done) => done(success),
            forceFlush: async () => {},
            shutdown: async () => {},
          },
          exportIntervalMillis: 60_000,
        }),
      ],
    }),
  );
  return {
    option: true,
    note: ', telemetry on (OpenTelemetry SDK, every span sampled, batch processor, spans dropped)',
  };
}
