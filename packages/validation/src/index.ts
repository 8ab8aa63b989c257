/**
 * @switchboard/validation: valibot input schemas, HTML sanitization and clear input errors for
 * chat backends. GraphQL errors: `@switchboard/validation/graphql`; yoga plugins and hardening:
 * `@switchboard/validation/yoga`.
 * @packageDocumentation
 */
export { confusableSkeleton } from './confusables.ts';
export {
  VALIDATION_ERROR_TABLE,
  type ValidationErrorMapping,
  type ValidationErrorResponse,
  validationErrorResponse,
} from './error-table.ts';
export { isValidationError, ValidationError, type ValidationErrorCode, type ValidationIssue } from './errors.ts';
export { parseInput, parseInputAsync, toValidationIssues } from './parse.ts';
export { DEFAULT_PASSWORD_BLOCKLIST } from './password-blocklist.ts';
export {
  checkPassword,
  createPasswordBlocklist,
  isBasedOnContext,
  isCommonPassword,
  normalizePassword,
  type PasswordBlocklist,
  type PasswordBlocklistOptions,
  type PasswordOptions,
  type PasswordProblem,
  passwordContextCheck,
  passwordSchema,
} from './passwords.ts';
export {
  DROPPED_WITH_CONTENT,
  LINK_PROTOCOLS,
  LINK_REL,
  MAX_NESTING,
  RICH_TEXT_TAGS,
  sanitizeRichText,
  toPlainText,
} from './sanitize.ts';
export {
  type AttachmentsOptions,
  attachmentsSchema,
  createAttachmentsSchema,
  createDisplayNameSchema,
  createPaginationArgsSchema,
  createUsernameSchema,
  type DisplayNameOptions,
  displayNameSchema,
  emailSchema,
  type MessageContentOptions,
  messageContentSchema,
  type PaginationArgs,
  type PaginationArgsInput,
  type PaginationArgsOptions,
  paginationArgsSchema,
  RESERVED_USERNAMES,
  type Schema,
  type UsernameOptions,
  usernameSchema,
  uuidSchema,
} from './schemas.ts';
export { detectSpam, type SpamCheckOptions, type SpamReason, spamCheck } from './spam.ts';
export {
  findUnstorableCharacter,
  type LengthUnit,
  normalizeText,
  normalizeTextAction,
  storableTextCheck,
  stripUnsafeCharacters,
  stripUnsafeCharactersAction,
  textLength,
  type UnstorableCharacter,
  type UnstorableCharacterKind,
} from './text.ts';
