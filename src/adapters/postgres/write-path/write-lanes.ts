import type pg from 'pg';

/** Advisory lock namespace of the write lanes (any constant; the lane is the second key). */
export const LANE_LOCK = 727_002;
/** Serialises changes to the lane count itself. */
const LANES_SETUP_LOCK = 727_004;

/** Conversations map to lanes by id: all of a conversation's messages go through one lane. */
export const laneOf = (conversationId: number, lanes: number): number => conversationId % lanes;

export class LaneCountError extends Error {}

/**
 * The number of write lanes is a property of the cluster, kept in the
 * `write_lanes` table (one row per lane, with the highest id committed in it).
 * It can only change while no server process is alive, since every process
 * must map conversations to the same lanes.
 */
export async function ensureLanes(pool: pg.Pool, wanted: number | undefined, liveNodes: () => Promise<number>): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [LANES_SETUP_LOCK]);
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM write_lanes');
    const current = Number(rows[0]!.n);
    // Unset: keep what the cluster uses, so an upgrade never changes it behind anyone's back.
    wanted ??= current > 0 ? current : 1;
    if (current !== wanted) {
      if (current > 0 && (await liveNodes()) > 0) {
        throw new LaneCountError(`WRITE_LANES=${wanted}, but the running cluster uses ${current} lanes; stop every server process to change it`);
      }
      // Each new lane starts at the highest id committed so far, so its cursor is exact from the start.
      await client.query(
        `WITH top AS (SELECT coalesce(max(last_id), 0) AS id FROM write_lanes)
         INSERT INTO write_lanes (lane, last_id) SELECT g, (SELECT greatest(top.id, coalesce((SELECT max(id) FROM messages), 0)) FROM top)
         FROM generate_series(0, $1::int - 1) g ON CONFLICT (lane) DO NOTHING`,
        [wanted],
      );
      // Fewer lanes: the ones kept take over the others' conversations, so their cursors move to the top.
      await client.query('UPDATE write_lanes SET last_id = (SELECT max(last_id) FROM write_lanes) WHERE lane < $1', [wanted]);
      await client.query('DELETE FROM write_lanes WHERE lane >= $1', [wanted]);
    }
    await client.query('COMMIT');
    return wanted;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The highest id committed in each lane: exact cursors, since a lane commits in id order. */
export async function laneCursors(pool: pg.Pool): Promise<number[]> {
  const { rows } = await pool.query<{ lane: number; last_id: string }>('SELECT lane, last_id FROM write_lanes ORDER BY lane');
  return rows.map((r) => Number(r.last_id));
}
