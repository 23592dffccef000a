import type pg from 'pg';
import type { Logger } from '../../application/ports/services.js';
import { tally, type ImportReport, type ReasonCode, type ReportTable, type RowId } from './import-report.js';
import type { OriginalTables } from './original-tables.js';

export type Entity = 'users' | 'conversations' | 'messages';

/** What every phase works with: the original's tables, this server's database (one connection), and the report. */
export interface ImportContext {
  readonly original: OriginalTables;
  readonly target: pg.Client;
  readonly batchSize: number;
  readonly logger: Logger;
  readonly report: ImportReport;
}

export const ids = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>, column = 'id'): number[] => rows.map((r) => Number(r[column]));

/** Runs `work` in one transaction of the target connection. */
export async function inTransaction<T>(target: pg.Client, work: () => Promise<T>): Promise<T> {
  await target.query('BEGIN');
  try {
    const result = await work();
    await target.query('COMMIT');
    return result;
  } catch (error) {
    await target.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Original id → id here, for those of `legacyIds` already imported. */
export async function mapped(target: pg.Client, entity: Entity, legacyIds: readonly number[]): Promise<Map<number, number>> {
  if (legacyIds.length === 0) return new Map();
  const { rows } = await target.query<{ legacy_id: string; new_id: string }>(
    'SELECT legacy_id, new_id FROM legacy_id_map WHERE entity = $1 AND legacy_id = ANY($2::bigint[])',
    [entity, [...new Set(legacyIds)]],
  );
  return new Map(rows.map((r) => [Number(r.legacy_id), Number(r.new_id)]));
}

/** Records imported rows; in the transaction that inserts them, so the record and the rows stand or fall together. */
export async function record(target: pg.Client, entity: Entity, pairs: ReadonlyArray<readonly [number, number]>): Promise<void> {
  if (pairs.length === 0) return;
  await target.query('INSERT INTO legacy_id_map (entity, legacy_id, new_id) SELECT $1, * FROM unnest($2::bigint[], $3::bigint[])', [
    entity,
    pairs.map((p) => p[0]),
    pairs.map((p) => p[1]),
  ]);
}

/**
 * Each original id kept where this database has no row with it (the usual
 * case, into an empty database), else a new one from the table's sequence
 * (which was moved past the original's ids first, so it never hands out one
 * that a later original row keeps).
 */
export async function keepOrDraw(target: pg.Client, table: 'conversations' | 'messages', legacyIds: readonly number[]): Promise<Map<number, number>> {
  const { rows } = await target.query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1::bigint[])`, [legacyIds]);
  const taken = new Set(rows.map((r) => Number(r.id)));
  const result = new Map(legacyIds.filter((id) => !taken.has(id)).map((id) => [id, id] as const));
  const clashing = legacyIds.filter((id) => taken.has(id));
  if (clashing.length > 0) {
    const drawn = await target.query<{ id: string }>(`SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2::int)`, [
      table,
      clashing.length,
    ]);
    clashing.forEach((id, i) => result.set(id, Number(drawn.rows[i]!.id)));
  }
  return result;
}

/** Moves a table's id sequence past `id` (never back), so new rows here never take an original's id. */
export async function moveSequencePast(target: pg.Client, table: Entity, id: number): Promise<void> {
  if (id <= 0) return;
  await target.query(
    `SELECT setval(s, $2::bigint) FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS s) q
     WHERE coalesce(pg_sequence_last_value(s), 0) < $2::bigint`,
    [table, id],
  );
}

/** A timestamp or, when the original had none, the first fallback that exists. */
export const timeOr = (...values: unknown[]): Date => {
  for (const v of values) if (v instanceof Date) return v;
  return new Date();
};
export const timeOrNull = (v: unknown): Date | null => (v instanceof Date ? v : null);

/** Counts (and, for some reasons, logs) an original row of `table` that was skipped or changed. */
export const tallyRow = (c: ImportContext, table: ReportTable, code: ReasonCode, id: RowId, detail?: Record<string, unknown>): void =>
  tally(c.report, c.logger, table, code, id, detail);
