/** The floor's table and its one write statement (shared with bench/probe-write.ts). */

export const FLOOR_SCHEMA = `
  CREATE TABLE IF NOT EXISTS floor_messages (
    id              bigserial PRIMARY KEY,
    conversation_id integer NOT NULL,
    sender_id       integer NOT NULL,
    content         text NOT NULL,
    created_at      timestamptz NOT NULL
  );
  CREATE INDEX IF NOT EXISTS floor_messages_conversation ON floor_messages (conversation_id, id)`;

/** Any constant: one cluster-wide advisory lock, as the real server holds one per batch. */
const LOCK_KEY = 727_101;

/**
 * One statement per batch, so one round trip and its own (durable) transaction.
 * Parameters: $1 conversation ids int[], $2 sender ids int[], $3 contents
 * text[], $4 created_at timestamptz[]. Ids are drawn in input order, and
 * RETURNING yields rows in insertion order for a plain INSERT … SELECT.
 */
export function floorInsert(lock: boolean): string {
  return `
  ${lock ? `WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${LOCK_KEY}))` : ''}
  INSERT INTO floor_messages (conversation_id, sender_id, content, created_at)
  SELECT u.* FROM ${lock ? 'lock, ' : ''}unnest($1::int[], $2::int[], $3::text[], $4::timestamptz[]) AS u
  RETURNING id`;
}
