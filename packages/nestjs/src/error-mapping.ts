/**
 * Every Switchboard package error to what a client sees, from the packages' own error tables
 * (each package's `…ErrorResponse`, which its `toGraphQLError` is built on too): over HTTP, the
 * status, headers and a JSON body `{ error, code, ...extensions }`; over GraphQL, a
 * `GraphQLError` with those extensions. No second table lives here.
 *
 * The packages are optional peers, loaded when the module starts if they are installed (one that
 * is not installed throws no errors to map); so is `graphql`, needed only by GraphQL apps.
 */
import { HttpException } from '@nestjs/common';
import type { GraphQLError } from 'graphql';
import { ifInstalled, load } from './optional-peer.ts';

/** A package's reading of its own error table, in the shape every package shares. */
interface ErrorResponse {
  status: number;
  headers?: Record<string, string>;
  message: string;
  extensions: { code: string } & Record<string, unknown>;
}

interface PackageMapper {
  /** The package's error classes (this install's): matched first. */
  classes: readonly (abstract new (
    ...args: never[]
  ) => Error)[];
  /** The package's own duck-typed test, for an error of another copy of the package. */
  is(error: unknown): boolean;
  respond(error: never): ErrorResponse;
}

let loading: Promise<void> | undefined;
let mappers: readonly PackageMapper[] = [];
let GraphQLErrorClass: typeof GraphQLError | undefined;

/** Loads the mappers once (the module awaits it at startup, so the filter then maps synchronously). */
export function loadErrorMappers(): Promise<void> {
  loading ??= (async () => {
    const [auth, rbac, ratelimit, validation, pagination, graphql] = await Promise.all([
      ifInstalled(
        '@switchboard/auth',
        load(
          () => require('@switchboard/auth'),
          () => import('@switchboard/auth'),
        ),
      ),
      ifInstalled(
        '@switchboard/rbac',
        load(
          () => require('@switchboard/rbac'),
          () => import('@switchboard/rbac'),
        ),
      ),
      ifInstalled(
        '@switchboard/ratelimit',
        load(
          () => require('@switchboard/ratelimit'),
          () => import('@switchboard/ratelimit'),
        ),
      ),
      ifInstalled(
        '@switchboard/validation',
        load(
          () => require('@switchboard/validation'),
          () => import('@switchboard/validation'),
        ),
      ),
      ifInstalled(
        '@switchboard/pagination',
        load(
          () => require('@switchboard/pagination'),
          () => import('@switchboard/pagination'),
        ),
      ),
      ifInstalled(
        'graphql',
        load(
          () => require('graphql'),
          () => import('graphql'),
        ),
      ),
    ]);
    const loaded: (PackageMapper | undefined)[] = [
      auth && { classes: [auth.AuthError], is: auth.isAuthError, respond: auth.authErrorResponse },
      rbac && { classes: [rbac.RbacError], is: rbac.isRbacError, respond: rbac.rbacErrorResponse },
      ratelimit && {
        classes: [ratelimit.RateLimitError],
        is: ratelimit.isRateLimitError,
        respond: ratelimit.rateLimitErrorResponse,
      },
      validation && {
        classes: [validation.ValidationError],
        is: validation.isValidationError,
        respond: validation.validationErrorResponse,
      },
      // Only the client's mistakes; a NULL or duplicate sort key stays a server error.
      pagination && {
        classes: [pagination.InvalidCursorError, pagination.PaginationArgumentError],
        is: pagination.isPaginationInputError,
        respond: pagination.paginationErrorResponse,
      },
    ];
    mappers = loaded.filter((mapper) => mapper !== undefined);
    GraphQLErrorClass = graphql?.GraphQLError;
  })();
  return loading;
}

/** A mapped error, ready for either transport. */
export interface ClientError {
  status: number;
  headers: Record<string, string>;
  body: { error: string; code: string } & Record<string, unknown>;
  /** The GraphQL error (created only where GraphQL runs, so only with `graphql` installed). */
  readonly graphql: GraphQLError;
}

/** The mapping of `error`, or undefined when it is not a Switchboard error (or mappers are not loaded yet). */
export function clientErrorFor(error: unknown): ClientError | undefined {
  // Classes first: the packages' duck-typed tests read only `code`, and codes overlap
  // (`STORE_UNAVAILABLE` is auth's and ratelimit's, each with its own answer).
  const mapper =
    mappers.find((candidate) => candidate.classes.some((ErrorClass) => error instanceof ErrorClass)) ??
    mappers.find((candidate) => candidate.is(error));
  if (mapper === undefined) return undefined;
  const { status, headers, message, extensions } = mapper.respond(error as never);
  return clientErrorFromRefusal({ status, headers: headers ?? {}, body: { error: message, ...extensions } });
}

/** A refusal an adapter built itself (from the same tables), as a {@link ClientError}. */
export function clientErrorFromRefusal(refusal: {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: { error: string; code: string };
}): ClientError {
  const body = { ...refusal.body } as ClientError['body'];
  const headers = { ...refusal.headers };
  return {
    status: refusal.status,
    headers,
    body,
    get graphql() {
      if (GraphQLErrorClass === undefined)
        throw new TypeError(
          '@switchboard/nestjs: a GraphQL call without the graphql package loaded (npm install graphql)',
        );
      const { error: message, ...extensions } = body;
      return new GraphQLErrorClass(message, {
        extensions: { ...extensions, http: { status: refusal.status, headers: driverHeaders(headers) } },
      });
    },
  };
}

/**
 * `extensions.http.headers` as both GraphQL servers Nest drives read it: Apollo Server takes it
 * only as a `Map` (anything else leaves `http` in the response and drops the headers),
 * graphql-yoga reads the headers as an object's own properties. A `Map` that also carries them
 * as properties satisfies both. (@nestjs/apollo then answers with 200 on purpose; the headers
 * still go out.)
 */
function driverHeaders(headers: Record<string, string>): Map<string, string> & Record<string, string> {
  return Object.assign(new Map(Object.entries(headers)), headers);
}

/** An HTTP refusal Nest's own exception handling answers as it is: status and JSON body. */
export class SwitchboardHttpException extends HttpException {
  constructor(readonly clientError: ClientError) {
    super(clientError.body, clientError.status);
  }
}
