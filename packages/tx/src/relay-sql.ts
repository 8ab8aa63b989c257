/** Most delivered events one cleanup statement deletes, so that no statement holds locks for long. */
export const CLEANUP_CHUNK = 5000;

/**
 * The statements of a relay on one outbox table. `table` has passed `checkTableName`, so
 * interpolating it cannot inject anything.
 */
export interface RelayStatements {
  /** Claims up to `$1` events, finding key heads by walking pending events in position order. */
  claimByWalk: string;
  /** Claims up to `$1` events, finding key heads by a loose index scan over the distinct keys. */
  claimBySkipScan: string;
  /** Records each claimed event's outcome: delivered, retry later (with its delay), or dead. */
  mark: string;
  /** Deletes up to {@link CLEANUP_CHUNK} events delivered more than `$1` ms ago. */
  cleanup: string;
}

// Only the oldest undelivered event of each key (its head) may be claimed, locked with SKIP LOCKED;
// with it come the following events of the same key. Another relay can reach those only once the
// head is delivered, i.e. after this batch commits, so a key is never worked on by two relays at
// once and its events go out in position order. Which of the two head finders runs is the claim
// planner's choice (claim-planner.ts); both return the same heads.
//
// Outbox statistics are always stale (the pending share swings from ~0 to everything during an
// outage), so the plans must not depend on them. The position-ordered index carries the extra
// predicate `next_attempt_at IS NOT NULL` (always true): only the walk, whose
// `next_attempt_at <= now()` implies it, can use it; per-key probes and followers are left with
// the (key, position) index, which is what they need. The loose scan's heads test
// `coalesce(delivered_at, dead_at) IS NULL` (the same condition) so that no partial index matches
// and they are fetched by primary key.
export function relayStatements(table: string): RelayStatements {
  // Each candidate is checked with a scalar subquery, an index probe whatever the statistics: a
  // join here once picked a quadratic plan on a freshly created table.
  const walkHeads = `
  SELECT o.position, o.key FROM ${table} o
   WHERE o.delivered_at IS NULL AND o.dead_at IS NULL AND o.next_attempt_at <= now()
     AND o.position = (
           SELECT p.position FROM ${table} p
            WHERE p.key = o.key AND p.delivered_at IS NULL AND p.dead_at IS NULL
            ORDER BY p.key, p.position
            LIMIT 1)
   ORDER BY o.position
   LIMIT $1
   FOR UPDATE OF o SKIP LOCKED`;
  const skipScanHeads = `
  SELECT o.position, o.key FROM ${table} o
   WHERE coalesce(o.delivered_at, o.dead_at) IS NULL AND o.next_attempt_at <= now()
     AND o.position = ANY (ARRAY(SELECT position FROM key_heads))
   ORDER BY o.position
   LIMIT $1
   FOR UPDATE OF o SKIP LOCKED`;
  // A loose index scan spelled out as a recursive CTE (PostgreSQL has none built in): one probe
  // per distinct pending key.
  const keyHeads = `key_heads(key, position) AS (
  (SELECT key, position FROM ${table}
    WHERE delivered_at IS NULL AND dead_at IS NULL
    ORDER BY key, position LIMIT 1)
  UNION ALL
  SELECT n.key, n.position FROM key_heads k
   CROSS JOIN LATERAL (
         SELECT key, position FROM ${table}
          WHERE key > k.key AND delivered_at IS NULL AND dead_at IS NULL
          ORDER BY key, position LIMIT 1) n
)`;
  const followers = `
SELECT f.position::text AS position, f.id::text AS id, f.topic, f.key, f.payload, f.headers, f.created_at, f.attempts
  FROM heads h
 CROSS JOIN LATERAL (
       SELECT * FROM ${table} e
        WHERE e.key = h.key AND e.position >= h.position AND e.delivered_at IS NULL AND e.dead_at IS NULL
        ORDER BY e.key, e.position
        LIMIT $1) f
 ORDER BY f.position
 LIMIT $1`;
  return {
    claimByWalk: `WITH heads AS (${walkHeads}\n)${followers}`,
    claimBySkipScan: `WITH RECURSIVE ${keyHeads}, heads AS (${skipScanHeads}\n)${followers}`,
    // One statement for the whole batch, whatever each event's outcome.
    mark: `
UPDATE ${table} AS o
   SET attempts = o.attempts + 1,
       delivered_at = CASE WHEN r.ok THEN now() END,
       dead_at = CASE WHEN r.dead THEN now() END,
       last_error = r.error,
       next_attempt_at = CASE WHEN r.ok OR r.dead THEN o.next_attempt_at
                              ELSE now() + r.delay_ms * interval '1 millisecond' END
  FROM unnest($1::bigint[], $2::bool[], $3::bool[], $4::text[], $5::float8[]) AS r(position, ok, dead, error, delay_ms)
 WHERE o.position = r.position
RETURNING o.position::text AS position, o.next_attempt_at`,
    cleanup: `
DELETE FROM ${table} WHERE position IN (
  SELECT position FROM ${table}
   WHERE delivered_at < now() - $1::float8 * interval '1 millisecond'
   ORDER BY delivered_at LIMIT ${CLEANUP_CHUNK})`,
  };
}
