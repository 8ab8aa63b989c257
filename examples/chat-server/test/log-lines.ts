import type { Logger } from '@switchboard/logging';
import { createServerLogger } from '../src/app.ts';

/** One line the server logged (Elastic Common Schema), parsed. */
export type LogLine = Record<string, unknown> & { 'log.level': string; message: string };

/** Severity of pino's level names, for comparing the levels of captured lines. */
export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

/** The severity of `line` (see `LEVEL`). */
export const severity = (line: LogLine): number => LEVEL[line['log.level'] as keyof typeof LEVEL] ?? 0;

/** The lines of GraphQL operations (`useRequestLogging`), in order. */
export const operationLines = (lines: readonly LogLine[]): LogLine[] =>
  lines.filter((line) => /GraphQL operation/i.test(line.message));

/** The server's logger (`createServerLogger`, as main.ts makes it), writing into `lines` instead of stdout. */
export function capturingLogger(level = 'info'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination: NonNullable<Parameters<typeof createServerLogger>[1]> = {
    write(line: string) {
      lines.push(JSON.parse(line) as LogLine);
    },
  };
  const log = createServerLogger({ environment: 'test', level }, destination);
  return { log, lines };
}

/** A line's request id: `http.request.id`, flat as the log context writes it (nested beside `http.*` from `req`). */
export const requestIdOf = (line: LogLine | undefined): unknown =>
  line?.['http.request.id'] ?? (line?.http as { request?: { id?: unknown } } | undefined)?.request?.id;
