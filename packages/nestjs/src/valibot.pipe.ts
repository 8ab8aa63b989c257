import type { PipeTransform } from '@nestjs/common';
import { ifInstalled, load } from './optional-peer.ts';

type ValidationModule = typeof import('@switchboard/validation');
let validation: Promise<ValidationModule | undefined> | undefined;

/** Anything valibot can parse with (`v.object(…)`, `v.string()`, async pipelines too). */
export interface ValibotSchema {
  readonly '~run': unknown;
}

/**
 * A pipe that parses its argument with a valibot schema through `@switchboard/validation` and
 * passes on the output (trimmed, normalized, sanitized, with defaults). Invalid input throws
 * the package's `ValidationError`, which `SwitchboardExceptionFilter` answers with 400 /
 * `BAD_USER_INPUT` and every issue's path (`{ error, code, issues: [{ path, message }] }`).
 *
 * @example
 * @Post() send(@Body(ValibotPipe(sendMessageSchema)) input: v.InferOutput<typeof sendMessageSchema>) {}
 */
export function ValibotPipe(schema: ValibotSchema): PipeTransform {
  if (typeof (schema as { '~run'?: unknown } | null)?.['~run'] !== 'function')
    throw new TypeError('ValibotPipe: `schema` must be a valibot schema (v.object(...), v.string(), ...)');
  return {
    async transform(value: unknown) {
      validation ??= ifInstalled(
        '@switchboard/validation',
        load(
          () => require('@switchboard/validation'),
          () => import('@switchboard/validation'),
        ),
      );
      const loaded = await validation;
      if (loaded === undefined)
        throw new TypeError('ValibotPipe needs @switchboard/validation: npm install @switchboard/validation valibot');
      const { parseInputAsync } = loaded;
      return parseInputAsync(schema as Parameters<ValidationModule['parseInputAsync']>[0], value);
    },
  };
}
