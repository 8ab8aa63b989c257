import { InvalidAuditQueryError } from './errors.ts';

/** Who made a change, and in answer to which request: what a store records with it. */
export interface AuditContext {
  /** Who made the change (a user id, `cli:<name>`, a service): `null` in the record when not given. */
  actor?: string;
  /** The request it was made in (e.g. the `x-request-id` a log line carries). */
  requestId?: string;
}

/**
 * What the stores record: `grant` / `revoke` (one per grant removed, `revokeScope` and a
 * cascading `deleteRole` included), `role.define` / `role.update` / `role.delete`, or an action
 * of the application's own (`recordAudit`, e.g. `chat.read` by a platform admin).
 */
export type AuditAction = 'grant' | 'revoke' | 'role.define' | 'role.update' | 'role.delete' | (string & {});

/** One entry of the audit trail. */
export interface AuditRecord {
  /** Assigned by the store, increasing: the log's order (newest first) and its cursor. */
  id: string;
  at: Date;
  actor: string | null;
  action: AuditAction;
  /** The role granted, revoked or changed (for an application's action, the role acted through). */
  role: string;
  userId?: string;
  scope?: string;
  /** A role change: the stored definition before (absent when defined) and after (absent when deleted). */
  before?: unknown;
  after?: unknown;
  requestId?: string;
}

/** An entry as written: the store adds `id` and `at`. */
export type AuditEntry = Omit<AuditRecord, 'id' | 'at'>;

/** Which records `auditLog` pages through, newest first. Filters combine (all must hold). */
export interface AuditQuery {
  scope?: string;
  userId?: string;
  role?: string;
  /** Only records at or after this moment. */
  since?: Date;
  /** Page size, 1 to 500. @default 50 */
  first?: number;
  /** The `endCursor` of the page before. */
  after?: string;
}

/** One page of the audit trail, newest first. */
export interface AuditPage {
  records: AuditRecord[];
  hasNextPage: boolean;
  /** Pass as `after` for the next page; `null` on an empty page. */
  endCursor: string | null;
}

/** An audit query checked and decoded, as stores read it. */
export interface ResolvedAuditQuery {
  scope: string | undefined;
  userId: string | undefined;
  role: string | undefined;
  since: Date | undefined;
  first: number;
  /** Records with an id below this one (decoded from `after`). */
  before: bigint | undefined;
}

const MAX_PAGE = 500;
const CURSOR = /^a[0-9]{1,19}$/;
const MAX_ID = 2n ** 63n - 1n;

/**
 * The cursor of a record (from its `id`): pass it as `after` to page on from that record, e.g.
 * as each edge's cursor of a GraphQL connection. Marked, so that a cursor of another kind is refused.
 */
export function auditCursor(id: string): string {
  return Buffer.from(`a${id}`).toString('base64url');
}

/** Checks an {@link AuditQuery} (every store calls it): a bad one throws `InvalidAuditQueryError`. */
export function resolveAuditQuery(query: AuditQuery = {}): ResolvedAuditQuery {
  if (query === null || typeof query !== 'object')
    throw new InvalidAuditQueryError('the audit query must be an object');
  const text = (name: 'scope' | 'userId' | 'role') => {
    const value = query[name];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0))
      throw new InvalidAuditQueryError(`${name} must be a non-empty string, got ${JSON.stringify(value)}`);
    return value;
  };
  const first = query.first ?? 50;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE)
    throw new InvalidAuditQueryError(`first must be a whole number from 1 to ${MAX_PAGE}, got ${first}`);
  const since = query.since;
  if (since !== undefined && (!(since instanceof Date) || Number.isNaN(since.getTime())))
    throw new InvalidAuditQueryError('since must be a valid Date');
  let before: bigint | undefined;
  if (query.after !== undefined) {
    const decoded = typeof query.after === 'string' ? Buffer.from(query.after, 'base64url').toString() : '';
    if (!CURSOR.test(decoded) || auditCursor(decoded.slice(1)) !== query.after)
      throw new InvalidAuditQueryError('after is not a cursor of this audit log');
    before = BigInt(decoded.slice(1));
    // A bigint column: anything larger is no id of this log (and would fail the query).
    if (before > MAX_ID) throw new InvalidAuditQueryError('after is not a cursor of this audit log');
  }
  return { scope: text('scope'), userId: text('userId'), role: text('role'), since, first, before };
}

/** A page from records sorted newest first, one more fetched than asked for (to know `hasNextPage`). */
export function auditPage(records: AuditRecord[], first: number): AuditPage {
  const hasNextPage = records.length > first;
  const page = hasNextPage ? records.slice(0, first) : records;
  const last = page.at(-1);
  return { records: page, hasNextPage, endCursor: last ? auditCursor(last.id) : null };
}

/** An audit trail in process memory: memory stores write to one, and page it. */
export interface MemoryAuditLog {
  append(entry: AuditEntry): AuditRecord;
  page(query?: AuditQuery): AuditPage;
}

export interface MemoryAuditLogOptions {
  /**
   * Most records kept; the oldest go first. A memory log is gone with the process anyway: keep
   * the trail in Postgres where it must last. @default 100000
   */
  maxRecords?: number;
}

/**
 * An audit trail in process memory. Give the same one to `createMemoryGrantStore` and
 * `createMemoryPolicyStore` to have grants and policy changes in one trail (the Postgres
 * stores share a table).
 */
export function createMemoryAuditLog(options: MemoryAuditLogOptions = {}): MemoryAuditLog {
  const maxRecords = options.maxRecords ?? 100_000;
  if (!Number.isInteger(maxRecords) || maxRecords < 1)
    throw new TypeError(`createMemoryAuditLog: maxRecords must be a whole number >= 1, got ${maxRecords}`);
  // Oldest first; ids are positions + 1 plus what was dropped, so they stay increasing.
  const records: AuditRecord[] = [];
  let nextId = 1n;
  return {
    append(entry) {
      const record: AuditRecord = { ...structuredClone(entry), id: String(nextId++), at: new Date() };
      for (const key of Object.keys(record) as (keyof AuditRecord)[]) if (record[key] === undefined) delete record[key];
      records.push(record);
      if (records.length > maxRecords) records.splice(0, records.length - maxRecords);
      return structuredClone(record);
    },
    page(query) {
      const resolved = resolveAuditQuery(query);
      const found: AuditRecord[] = [];
      for (let i = records.length - 1; i >= 0 && found.length <= resolved.first; i--) {
        const record = records[i] as AuditRecord;
        if (resolved.before !== undefined && BigInt(record.id) >= resolved.before) continue;
        if (resolved.since !== undefined && record.at < resolved.since) break;
        if (!matches(record, resolved)) continue;
        found.push(structuredClone(record));
      }
      return auditPage(found, resolved.first);
    },
  };
}

function matches(record: AuditRecord, query: ResolvedAuditQuery): boolean {
  return (
    (query.scope === undefined || record.scope === query.scope) &&
    (query.userId === undefined || record.userId === query.userId) &&
    (query.role === undefined || record.role === query.role)
  );
}

/** Checks what an application records (`recordAudit`): an action and a role, as strings. */
export function checkAuditEntry(entry: AuditEntry): void {
  if (entry === null || typeof entry !== 'object') throw new TypeError('recordAudit: the entry must be an object');
  for (const key of ['action', 'role'] as const) {
    if (typeof entry[key] !== 'string' || entry[key].length === 0)
      throw new TypeError(`recordAudit: ${key} must be a non-empty string`);
  }
}
