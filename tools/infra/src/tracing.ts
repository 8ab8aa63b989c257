import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** The finished spans of a test, from the real OpenTelemetry SDK. */
export interface TestTracing {
  readonly exporter: InMemorySpanExporter;
  /** Every span finished since the last `reset()`. */
  spans(): ReadableSpan[];
  /** The finished span called `name`; throws, listing the names there are, when there is none. */
  span(name: string): ReadableSpan;
  /** The names of the finished spans whose parent is `parent`. */
  childrenOf(parent: { spanContext(): api.SpanContext } | undefined): string[];
  reset(): void;
  /** Unregisters the global tracer provider and context manager. */
  uninstall(): void;
}

/**
 * Registers the real SDK globally, as an application's NodeSDK would (an AsyncLocalStorage context
 * manager, a tracer provider exporting to memory), for a test file's telemetry tests: call it in
 * `beforeAll`, `reset()` in `beforeEach`, `uninstall()` in `afterAll`.
 */
export function installTestTracing(): TestTracing {
  const exporter = new InMemorySpanExporter();
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  const spans = () => exporter.getFinishedSpans();
  return {
    exporter,
    spans,
    span(name) {
      const found = spans().find((candidate) => candidate.name === name);
      if (!found)
        throw new Error(
          `no span ${name}; finished: ${spans()
            .map((span) => span.name)
            .join(', ')}`,
        );
      return found;
    },
    childrenOf(parent) {
      const id = parent?.spanContext().spanId;
      return spans()
        .filter((span) => span.parentSpanContext?.spanId === id)
        .map((span) => span.name);
    },
    reset: () => exporter.reset(),
    uninstall() {
      api.trace.disable();
      api.context.disable();
    },
  };
}

/** One series of a counter, as the SDK collected it. */
export interface CollectedSeries {
  /** The meter's name (the package: `@switchboard/rbac`). */
  meter: string;
  metric: string;
  unit: string;
  /** A counter's sum since it was made. */
  value: number;
  attributes: Record<string, unknown>;
}

/** The real metrics SDK, collected on demand. */
export interface TestMetrics {
  /** The SDK's meter provider: pass `{ trace, context, metrics: provider }` as a `telemetry` API. */
  readonly provider: MeterProvider;
  /** Every series of every counter, as an exporter would receive them now. */
  collect(): Promise<CollectedSeries[]>;
  /**
   * What `run` added: each series' value after it less its value before, series it did not
   * change left out. Counters are cumulative and shared by every instance made with the same
   * meter, so a test reads what its own work counted this way.
   */
  countedDuring(run: () => Promise<unknown> | unknown): Promise<CollectedSeries[]>;
  /** Unregisters the global meter provider. */
  uninstall(): void;
}

/** A reader a test collects from when it wants (the SDK's periodic reader is this plus a timer). */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/**
 * Registers the real metrics SDK globally, as an application's NodeSDK would. Call it before the
 * instances under test are made (the API hands out meters of the provider registered then).
 */
export function installTestMetrics(): TestMetrics {
  const metrics = createTestMetrics();
  api.metrics.setGlobalMeterProvider(metrics.provider);
  return metrics;
}

/**
 * The real metrics SDK, not registered: a test passes `provider` in a `telemetry` API object, so
 * it reads only what its own instances counted.
 */
export function createTestMetrics(): TestMetrics {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  const collect = async (): Promise<CollectedSeries[]> => {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'collecting metrics failed');
    return resourceMetrics.scopeMetrics.flatMap((scope) =>
      scope.metrics.flatMap((metric) =>
        metric.dataPoints.map((point) => ({
          meter: scope.scope.name,
          metric: metric.descriptor.name,
          unit: metric.descriptor.unit,
          value: point.value as number,
          attributes: { ...point.attributes },
        })),
      ),
    );
  };
  const keyOf = (series: CollectedSeries) =>
    JSON.stringify([series.meter, series.metric, Object.entries(series.attributes).sort()]);
  return {
    provider,
    collect,
    async countedDuring(run) {
      const before = new Map((await collect()).map((series) => [keyOf(series), series.value]));
      await run();
      return (await collect())
        .map((series) => ({ ...series, value: series.value - (before.get(keyOf(series)) ?? 0) }))
        .filter((series) => series.value !== 0);
    },
    uninstall() {
      api.metrics.disable();
    },
  };
}
