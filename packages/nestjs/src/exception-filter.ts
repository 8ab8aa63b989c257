import { type ArgumentsHost, Catch } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { callSiteOf, setResponseHeaders } from './call-site.ts';
import { clientErrorFor, SwitchboardHttpException } from './error-mapping.ts';

/**
 * Answers every Switchboard package error (auth, rbac, ratelimit, validation, pagination) as
 * its package's error table says: over HTTP the status, headers (`WWW-Authenticate`,
 * `Retry-After`) and a JSON body `{ error, code, ... }`; over GraphQL the `GraphQLError` with
 * its `extensions.code`. Anything else goes on to Nest's own handling, unchanged.
 * `SwitchboardModule` registers it for the whole application; to place it yourself:
 * `app.useGlobalFilters(new SwitchboardExceptionFilter(app.get(HttpAdapterHost).httpAdapter))`.
 */
@Catch()
export class SwitchboardExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const site = callSiteOf(host);
    const mapped = exception instanceof SwitchboardHttpException ? exception.clientError : clientErrorFor(exception);
    if (site.kind === 'graphql') throw mapped?.graphql ?? exception;
    if (site.kind !== 'http') throw exception;
    if (mapped === undefined) {
      super.catch(exception, host);
      return;
    }
    setResponseHeaders(site.response, mapped.headers);
    super.catch(exception instanceof SwitchboardHttpException ? exception : new SwitchboardHttpException(mapped), host);
  }
}
