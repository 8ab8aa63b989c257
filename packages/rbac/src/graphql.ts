/**
 * @switchboard/rbac/graphql: the `@requires` schema directive (through @graphql-tools schema
 * mapping), a resolver wrapper for code-first schemas, and `toGraphQLError`, the package's one
 * error table. Denials are GraphQL errors with `extensions.code: 'FORBIDDEN'`, never silent
 * nulls. Peers: `graphql`, and `@graphql-tools/utils` for the directive.
 * @packageDocumentation
 */
import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, GraphQLError, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { rbacErrorResponse } from './error-table.ts';
import { ForbiddenError, type RbacError } from './errors.ts';
import type { Rbac } from './rbac.ts';

export { RBAC_ERROR_TABLE, type RbacErrorMapping } from './error-table.ts';

/** Options of {@link toGraphQLError}. */
export interface ToGraphQLErrorOptions {
  /** The error graphql-js wrapped the rbac error in: supplies `path`, `locations` and source. */
  from?: GraphQLError;
  /**
   * Put the HTTP status in `extensions.http` (graphql-yoga answers with it). `false` leaves the
   * status to the server (200 with the error in the body). @default true
   */
  http?: boolean;
}

/**
 * The GraphQL error for an {@link RbacError}, from `RBAC_ERROR_TABLE`: a denial is
 * `extensions.code: 'FORBIDDEN'` (with `permission` and, when checked in one, `scope`) and
 * HTTP 403; a bad policy is a masked `INTERNAL_SERVER_ERROR` with HTTP 500 (the server's
 * fault: log the original). The rbac error is not attached as `originalError`: graphql-yoga
 * masks a GraphQL error that wraps a non-GraphQL one.
 *
 * @example
 * maskError: (error) => (isRbacError(error.originalError) ? toGraphQLError(error.originalError, { from: error }) : error)
 */
export function toGraphQLError(error: RbacError, options: ToGraphQLErrorOptions = {}): GraphQLError {
  const { status, message, extensions } = rbacErrorResponse(error);
  const { from } = options;
  return new GraphQLError(message, {
    ...(from?.nodes ? { nodes: from.nodes } : {}),
    ...(from?.source ? { source: from.source } : {}),
    ...(from?.positions ? { positions: from.positions } : {}),
    ...(from?.path ? { path: from.path } : {}),
    extensions: { ...extensions, ...(options.http === false ? {} : { http: { status } }) },
  });
}

/** SDL to add to your type definitions. */
export const requiresDirectiveTypeDefs = /* GraphQL */ `
  "Allows the field only to users who hold the permission (in the scope, when given)."
  directive @requires(permission: String!, scope: String) on FIELD_DEFINITION
`;

export interface RbacGraphqlOptions<Context> {
  /** Who is asking, from the context (e.g. `context.principal?.userId`); undefined when anonymous. */
  userId: (context: Context) => string | undefined;
  /** @default 'requires' */
  directiveName?: string;
}

/** How a check gets its scope: fixed, a template over arguments (`chat:{chatId}`), or a function. */
export type ScopeSource<Context> = string | ((args: Record<string, unknown>, context: Context) => string | undefined);

/**
 * Returns a schema transformer: every field with `@requires(permission, scope)` checks the
 * permission before its resolver runs. `scope` may name arguments in braces
 * (`"chat:{chatId}"`); a placeholder that is not an argument of the field fails here, at
 * startup, not at request time.
 *
 * @example
 * const schema = requiresDirective(rbac, { userId: (ctx) => ctx.principal?.userId })(makeExecutableSchema({ typeDefs, resolvers }));
 */
export function requiresDirective<Context>(
  rbac: Rbac,
  options: RbacGraphqlOptions<Context>,
): (schema: GraphQLSchema) => GraphQLSchema {
  const name = options.directiveName ?? 'requires';
  return (schema) =>
    mapSchema(schema, {
      [MapperKind.OBJECT_FIELD]: (field, fieldName, typeName) => {
        const directive = getDirective(schema, field, name)?.[0] as { permission: string; scope?: string } | undefined;
        if (!directive) return field;
        const argNames = new Set(Object.keys(field.args ?? {}));
        for (const placeholder of placeholders(directive.scope)) {
          if (!argNames.has(placeholder)) {
            throw new TypeError(
              `@${name} on ${typeName}.${fieldName}: scope "${directive.scope}" names "{${placeholder}}", which is not an argument of the field`,
            );
          }
        }
        return {
          ...field,
          resolve: withPermission(
            rbac,
            { permission: directive.permission, scope: directive.scope, userId: options.userId },
            field.resolve ?? defaultFieldResolver,
          ),
        };
      },
    });
}

/** Wraps one resolver with a permission check (code-first schemas). */
export function withPermission<Source, Context, Args extends Record<string, unknown>>(
  rbac: Rbac,
  check: {
    permission: string;
    scope?: ScopeSource<Context> | undefined;
    userId: (context: Context) => string | undefined;
  },
  resolve: GraphQLFieldResolver<Source, Context, Args>,
): GraphQLFieldResolver<Source, Context, Args> {
  return async (source, args, context, info) => {
    const userId = check.userId(context);
    const scope =
      typeof check.scope === 'function'
        ? check.scope(args, context)
        : check.scope === undefined
          ? undefined
          : fillTemplate(check.scope, args);
    const allowed =
      userId !== undefined && (await rbac.can(userId, check.permission, scope === undefined ? {} : { scope }));
    if (!allowed) {
      const message = userId === undefined ? 'Not signed in' : `Not allowed: ${check.permission}`;
      // No HTTP status: one denied field must not turn the other fields' data into a failed response.
      throw toGraphQLError(new ForbiddenError(check.permission, scope, message), { http: false });
    }
    return resolve(source, args, context, info);
  };
}

function placeholders(template: string | undefined): string[] {
  return template ? [...template.matchAll(/\{([_A-Za-z][_0-9A-Za-z]*)\}/g)].map((match) => match[1] as string) : [];
}

function fillTemplate(template: string, args: Record<string, unknown>): string {
  return template.replace(/\{([_A-Za-z][_0-9A-Za-z]*)\}/g, (_whole, argName: string) => String(args[argName] ?? ''));
}
