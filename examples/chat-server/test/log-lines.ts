import type { DestinationStream, Logger } from 'pino';
import { createLogger } from '../src/logging.ts';

/** One line the server logged, parsed. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** pino's numeric levels, for reading captured lines. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** The server's own logger (`createLogger`), writing into `lines` instead of stdout. */
export function capturingLogger(level = 'info'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination: DestinationStream = {
    write(line: string) {
      lines.push(JSON.parse(line) as LogLine);
    },
  };
  return { log: createLogger(level, destination), lines };
}
