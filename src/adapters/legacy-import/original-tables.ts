import type pg from 'pg';

type Cast = 'bigint' | 'text' | 'boolean' | 'timestamptz';
interface Column {
  /** The snake_case name; the camelCase one (createdAt) is accepted too. */
  readonly name: string;
  readonly cast: Cast;
  /** Absent optional columns read as NULL. */
  readonly required?: boolean;
}

const col = (name: string, cast: Cast, required = false): Column => ({ name, cast, required });
const timestamps = [col('created_at', 'timestamptz'), col('updated_at', 'timestamptz'), col('deleted_at', 'timestamptz')];

/** What the importer reads of the original backend's tables (tests/fixtures/original-schema.sql shows the assumed shape). */
const TABLES = {
  users: [
    col('id', 'bigint', true),
    col('email', 'text', true),
    col('username', 'text', true),
    col('password', 'text', true),
    col('phone_number', 'text'),
    col('profile_picture', 'text'),
    col('role', 'text'),
    col('is_active', 'boolean'),
    col('is_staff', 'boolean'),
    col('is_superuser', 'boolean'),
    col('date_joined', 'timestamptz'),
    col('last_login', 'timestamptz'),
    ...timestamps,
  ],
  conversations: [col('id', 'bigint', true), col('title', 'text'), col('created_by', 'bigint'), ...timestamps],
  conversation_participants: [col('conversation_id', 'bigint', true), col('user_id', 'bigint', true), ...timestamps],
  messages: [
    col('id', 'bigint', true),
    col('conversation_id', 'bigint', true),
    col('sender_id', 'bigint', true),
    col('content', 'text', true),
    col('type', 'text'),
    col('read_at', 'timestamptz'),
    ...timestamps,
  ],
} as const satisfies Record<string, readonly Column[]>;

export type OriginalTable = keyof typeof TABLES;
/** A row as read: every column of the table's list, under its snake_case name (ids as strings, as pg returns bigint). */
export type OriginalRow = Readonly<Record<string, unknown>>;

const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;
const camel = (snake: string): string => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export class OriginalSchemaError extends Error {}

/**
 * Reads the original backend's tables in one schema of its database, in
 * batches ordered by key, whichever spelling (snake_case or camelCase) its
 * columns use. Naive timestamps are read as UTC.
 */
export class OriginalTables {
  private readonly selects = new Map<OriginalTable, { list: string; column: (name: string) => string }>();

  private constructor(
    private readonly client: pg.Client,
    private readonly schema: string,
  ) {}

  /** Checks that every table and required column is there; names all that are missing at once. */
  static async open(client: pg.Client, schema: string): Promise<OriginalTables> {
    await client.query(`SET TIME ZONE 'UTC'`);
    const tables = new OriginalTables(client, schema);
    const { rows } = await client.query<{ table_name: string; column_name: string }>(
      'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = ANY($2)',
      [schema, Object.keys(TABLES)],
    );
    const missing: string[] = [];
    for (const [table, columns] of Object.entries(TABLES) as Array<[OriginalTable, readonly Column[]]>) {
      const present = new Set(rows.filter((r) => r.table_name === table).map((r) => r.column_name));
      if (present.size === 0) {
        missing.push(`table ${schema}.${table}`);
        continue;
      }
      const resolved = new Map<string, string>();
      for (const c of columns) {
        const actual = [c.name, camel(c.name)].find((n) => present.has(n));
        if (actual) resolved.set(c.name, actual);
        else if (c.required) missing.push(`column ${table}.${c.name} (or ${camel(c.name)})`);
      }
      const list = columns
        .map((c) => (resolved.has(c.name) ? `${quote(resolved.get(c.name)!)}::${c.cast} AS ${c.name}` : `NULL::${c.cast} AS ${c.name}`))
        .join(', ');
      tables.selects.set(table, { list, column: (name) => quote(resolved.get(name) ?? name) });
    }
    if (missing.length > 0) throw new OriginalSchemaError(`The original database lacks what the import reads: ${missing.join('; ')}`);
    return tables;
  }

  private from(table: OriginalTable): string {
    return `${quote(this.schema)}.${quote(table)}`;
  }

  private select(table: OriginalTable) {
    return this.selects.get(table)!;
  }

  /** Up to `limit` rows with an id above `afterId`, by id. */
  async batch(table: 'users' | 'conversations' | 'messages', afterId: number, limit: number): Promise<OriginalRow[]> {
    const s = this.select(table);
    const id = s.column('id');
    const { rows } = await this.client.query(`SELECT ${s.list} FROM ${this.from(table)} WHERE ${id} > $1 ORDER BY ${id} LIMIT $2`, [afterId, limit]);
    return rows;
  }

  /** Up to `limit` participant rows after the (conversation, user) key, in key order. */
  async participants(after: readonly [number, number], limit: number): Promise<OriginalRow[]> {
    const s = this.select('conversation_participants');
    const key = `(${s.column('conversation_id')}, ${s.column('user_id')})`;
    const { rows } = await this.client.query(
      `SELECT ${s.list} FROM ${this.from('conversation_participants')} WHERE ${key} > ($1, $2) ORDER BY ${key} LIMIT $3`,
      [after[0], after[1], limit],
    );
    return rows;
  }

  /** The participant rows of these conversations. */
  async participantsOf(conversationIds: readonly number[]): Promise<OriginalRow[]> {
    const s = this.select('conversation_participants');
    const { rows } = await this.client.query(
      `SELECT ${s.list} FROM ${this.from('conversation_participants')} WHERE ${s.column('conversation_id')} = ANY($1::bigint[])`,
      [conversationIds],
    );
    return rows;
  }

  async maxId(table: 'users' | 'conversations' | 'messages'): Promise<number> {
    const { rows } = await this.client.query<{ max: string | null }>(`SELECT max(${this.select(table).column('id')})::bigint AS max FROM ${this.from(table)}`);
    return Number(rows[0]?.max ?? 0);
  }

  /** Groups of user ids (ascending) that share a value of `column` regardless of case. */
  async caseInsensitiveDuplicates(column: 'email' | 'username'): Promise<number[][]> {
    const s = this.select('users');
    const { rows } = await this.client.query<{ ids: string[] }>(
      `SELECT array_agg(${s.column('id')}::bigint ORDER BY ${s.column('id')}) AS ids FROM ${this.from('users')}
       GROUP BY lower(${s.column(column)}) HAVING count(*) > 1`,
    );
    return rows.map((r) => r.ids.map(Number));
  }
}
