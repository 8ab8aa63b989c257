import type { CallSite } from './call-site.ts';
import { setResponseHeaders } from './call-site.ts';
import { type ClientError, SwitchboardHttpException } from './error-mapping.ts';

/**
 * Ends the call with `error` in the shape its transport needs, so that a guard's refusal is
 * right with or without `SwitchboardExceptionFilter`: over HTTP the headers go on the response
 * and an `HttpException` carries status and body; over GraphQL the `GraphQLError` is thrown as
 * it is (code, extensions, and `extensions.http` for the server's status and headers).
 */
export function refuse(site: CallSite, error: ClientError): never {
  if (site.kind === 'graphql') throw error.graphql;
  if (site.kind === 'http') setResponseHeaders(site.response, error.headers);
  throw new SwitchboardHttpException(error);
}

/** A 400 / `BAD_USER_INPUT` for input a guard needs and did not get. */
export function badUserInput(message: string): {
  status: number;
  headers: Record<string, string>;
  body: { error: string; code: string };
} {
  return { status: 400, headers: {}, body: { error: message, code: 'BAD_USER_INPUT' } };
}
