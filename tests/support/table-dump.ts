import type pg from 'pg';

/** Every row of this server's imported tables and the sequences, in a stable order: equal dumps, equal databases. */
export async function dumpImported(client: pg.Client | pg.Pool, leaveOut: readonly string[] = []): Promise<Record<string, unknown>> {
  const tables: Record<string, string> = {
    users: 'id',
    conversations: 'id',
    conversation_participants: 'conversation_id, user_id',
    messages: 'id',
    legacy_id_map: 'entity, legacy_id',
    write_lanes: 'lane',
  };
  const dump: Record<string, unknown> = {};
  for (const [table, order] of Object.entries(tables)) {
    const { rows } = await client.query(`SELECT * FROM ${table} ORDER BY ${order}`);
    dump[table] = rows.map((r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => !leaveOut.includes(k))));
  }
  const { rows } = await client.query(
    `SELECT t, pg_sequence_last_value(pg_get_serial_sequence(t, 'id')::regclass) AS last FROM unnest(array['users', 'conversations', 'messages']) t`,
  );
  dump.sequences = rows;
  return dump;
}
