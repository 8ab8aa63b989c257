import * as api from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
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
