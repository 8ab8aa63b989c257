import {
  type Attributes,
  inSpan,
  type OpenTelemetryApi,
  resolveTelemetry,
  SPAN_KIND,
  type SpanContextLike,
  spanContextFromHeaders,
  type TracerLike,
  traceHeaders,
} from '@switchboard/hot-path';

/**
 * A `telemetry` option: `true` for the global OpenTelemetry API (`@opentelemetry/api`, an optional
 * peer dependency), or the API object itself (`import * as api from '@opentelemetry/api'`).
 * @default false (no tracing code runs)
 */
export type Telemetry = boolean | { trace: object; context: object; metrics?: object };

/**
 * The header a published event carries its enqueue's `traceparent` in: the relay's own
 * `traceparent` takes the standard name (a subscriber's span is its child), and this one lets the
 * subscriber link back to the request that enqueued the event.
 */
export const ENQUEUE_TRACEPARENT = 'enqueue-traceparent';

// OpenTelemetry's messaging conventions: the system is ours (no registered value fits), the
// destination is the event's topic.
const SYSTEM = 'switchboard_outbox';

/** What an event must have to be traced: as stored, or as published. */
interface TracedEvent {
  id?: string;
  topic: string;
  headers: Record<string, string>;
}

/**
 * The outbox's spans, per OpenTelemetry's messaging conventions:
 * - `create <topic>` (producer) around an enqueue, in the request's trace; its `traceparent` is
 *   stored with the event;
 * - `send <topic>` (producer) around the relay's publish, in a trace of its own (it runs later,
 *   maybe on another instance, and one relay batch serves many requests) with a link to the
 *   enqueue; the published event's `traceparent` is this span's, the enqueue's moves to
 *   `enqueue-traceparent`;
 * - `process <topic>` (consumer) around a subscriber's handling of a published event: a child of
 *   the send span, linked to the enqueue.
 */
export class OutboxTracing {
  readonly #api: OpenTelemetryApi;
  readonly #tracer: TracerLike;

  constructor(api: OpenTelemetryApi) {
    this.#api = api;
    this.#tracer = api.trace.getTracer('@switchboard/tx');
  }

  /** Runs an enqueue of `count` events to `topic` in its `create` span; `fn` gets the headers to store. */
  create<R>(topic: string, count: number, fn: (headers: Record<string, string>) => R): R {
    const attributes: Attributes = {
      'messaging.system': SYSTEM,
      'messaging.operation.type': 'create',
      'messaging.operation.name': 'create',
      'messaging.destination.name': topic,
      ...(count === 1 ? {} : { 'messaging.batch.message_count': count }),
    };
    return inSpan(this.#api, this.#tracer, `create ${topic}`, { kind: SPAN_KIND.producer, attributes }, (span) =>
      fn(traceHeaders(span.spanContext()) ?? {}),
    );
  }

  /** Runs the relay's publish of `event` in its `send` span; `fn` gets the event to publish. */
  send<R, E extends TracedEvent>(event: E, fn: (event: E) => R): R {
    const enqueued = spanContextFromHeaders(event.headers);
    return inSpan(
      this.#api,
      this.#tracer,
      `send ${event.topic}`,
      {
        kind: SPAN_KIND.producer,
        root: true,
        attributes: this.#messageAttributes('send', event),
        ...linkTo(enqueued),
      },
      (span) => {
        const headers: Record<string, string> = { ...event.headers, ...traceHeaders(span.spanContext()) };
        if (enqueued) headers[ENQUEUE_TRACEPARENT] = event.headers.traceparent as string;
        return fn({ ...event, headers });
      },
    );
  }

  /** Runs a subscriber's handling of a published event in its `process` span. */
  process<R>(event: TracedEvent, fn: () => R): R {
    const enqueued = spanContextFromHeaders({ traceparent: event.headers[ENQUEUE_TRACEPARENT] });
    return inSpan(
      this.#api,
      this.#tracer,
      `process ${event.topic}`,
      {
        kind: SPAN_KIND.consumer,
        parent: spanContextFromHeaders(event.headers),
        attributes: this.#messageAttributes('process', event),
        ...linkTo(enqueued),
      },
      fn,
    );
  }

  #messageAttributes(operation: 'send' | 'process', event: TracedEvent): Attributes {
    return {
      'messaging.system': SYSTEM,
      'messaging.operation.type': operation,
      'messaging.operation.name': operation,
      'messaging.destination.name': event.topic,
      ...(event.id === undefined ? {} : { 'messaging.message.id': event.id }),
    };
  }
}

const linkTo = (context: SpanContextLike | undefined) => (context ? { links: [{ context }] } : {});

/** The tracing a `telemetry` option asks for, or `undefined` when it is off. */
export function outboxTracing(owner: string, option: Telemetry | undefined): OutboxTracing | undefined {
  const api = resolveTelemetry(owner, option);
  return api ? new OutboxTracing(api) : undefined;
}
