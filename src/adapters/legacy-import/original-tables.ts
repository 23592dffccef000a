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

/** What the importer reads of the original backend's tables (tests/fixtures/original-schema.sql shows their shape). */
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

/**
 * Where each table is looked for, in this order; the first that exists is
 * read. Users: `users_user` first, because the original's User model read it
 * (Django's table, with the real accounts and password hashes); `user` is
 * what the original's migration creates (and its foreign keys name), read
 * only where Django's is absent; `users` is the name the README and the
 * migration's index steps use. The other three tables have one name in the
 * original's migrations and models alike.
 */
export const CANDIDATES: Readonly<Record<OriginalTable, readonly string[]>> = {
  users: ['users_user', 'user', 'users'],
  conversations: ['conversations'],
  conversation_participants: ['conversation_participants'],
  messages: ['messages'],
};

/** A row as read: every column of the table's list, under its snake_case name (ids as strings, as pg returns bigint). */
export type OriginalRow = Readonly<Record<string, unknown>>;

const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;
const camel = (snake: string): string => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export class OriginalSchemaError extends Error {}

interface Select {
  /** The original's table name. */
  readonly table: string;
  /** Candidates that exist too but come later. */
  readonly passedOver: readonly string[];
  readonly list: string;
  readonly column: (name: string) => string;
  /** The column cast as the list reads it, or a typed NULL where it is absent. */
  readonly value: (name: string) => string;
}

/**
 * Reads the original backend's tables in one schema of its database, in
 * batches ordered by key, whichever spelling (snake_case or camelCase) its
 * columns use. Naive timestamps are read as UTC.
 */
export class OriginalTables {
  private readonly selects = new Map<OriginalTable, Select>();

  private constructor(
    private readonly client: pg.Client,
    private readonly schema: string,
  ) {}

  /**
   * Picks each table (`names`, else the first of its candidates that exists)
   * and checks that every required column is there; names all that is
   * missing at once.
   */
  static async open(client: pg.Client, schema: string, names: Partial<Record<OriginalTable, string>> = {}): Promise<OriginalTables> {
    await client.query(`SET TIME ZONE 'UTC'`);
    const tables = new OriginalTables(client, schema);
    const wanted = (Object.keys(TABLES) as OriginalTable[]).map((t) => [t, names[t] ? [names[t]] : CANDIDATES[t]] as const);
    const { rows } = await client.query<{ table_name: string; column_name: string }>(
      'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = ANY($2)',
      [schema, wanted.flatMap(([, candidates]) => candidates)],
    );
    const missing: string[] = [];
    for (const [logical, candidates] of wanted) {
      const columns: readonly Column[] = TABLES[logical];
      const table = candidates.find((name) => rows.some((r) => r.table_name === name));
      if (table === undefined) {
        missing.push(`table ${candidates.map((c) => `${schema}.${c}`).join(' or ')}`);
        continue;
      }
      const present = new Set(rows.filter((r) => r.table_name === table).map((r) => r.column_name));
      const resolved = new Map<string, string>();
      for (const c of columns) {
        const actual = [c.name, camel(c.name)].find((n) => present.has(n));
        if (actual) resolved.set(c.name, actual);
        else if (c.required) missing.push(`column ${table}.${c.name} (or ${camel(c.name)})`);
      }
      const value = (name: string) => {
        const c = columns.find((x) => x.name === name)!;
        return resolved.has(name) ? `${quote(resolved.get(name)!)}::${c.cast}` : `NULL::${c.cast}`;
      };
      const list = columns.map((c) => `${value(c.name)} AS ${c.name}`).join(', ');
      const passedOver = candidates.filter((n) => n !== table && rows.some((r) => r.table_name === n));
      tables.selects.set(logical, { table, passedOver, list, value, column: (name) => quote(resolved.get(name) ?? name) });
    }
    if (missing.length > 0) throw new OriginalSchemaError(`The original database lacks what the import reads: ${missing.join('; ')}`);
    return tables;
  }

  /** The original's name of each table read. */
  name(table: OriginalTable): string {
    return this.select(table).table;
  }

  /** Tables that could have been read for `table` but came later in its candidates. */
  passedOver(table: OriginalTable): readonly string[] {
    return this.select(table).passedOver;
  }

  private from(table: OriginalTable): string {
    return `${quote(this.schema)}.${quote(this.select(table).table)}`;
  }

  private select(table: OriginalTable): Select {
    return this.selects.get(table)!;
  }

  /** Up to `limit` rows with an id above `afterId`, by id. */
  async batch(table: 'users' | 'conversations' | 'messages', afterId: number, limit: number): Promise<OriginalRow[]> {
    const s = this.select(table);
    const id = s.column('id');
    const { rows } = await this.client.query(`SELECT ${s.list} FROM ${this.from(table)} WHERE ${id} > $1 ORDER BY ${id} LIMIT $2`, [afterId, limit]);
    return rows;
  }

  /**
   * About `limit` participants after the (conversation, user) key, in key
   * order: one row per pair, the live one or else the one deleted last (the
   * original keeps one live row per pair, and any number of deleted ones);
   * `copies` counts the pair's rows. The page ends at a pair's last row, so
   * no pair is split across pages.
   */
  async participants(after: readonly [number, number], limit: number): Promise<Array<OriginalRow & { copies: number }>> {
    const s = this.select('conversation_participants');
    const key = `(${s.column('conversation_id')}, ${s.column('user_id')})`;
    const { rows: page } = await this.client.query<{ conversation_id: string; user_id: string }>(
      `SELECT ${s.column('conversation_id')} AS conversation_id, ${s.column('user_id')} AS user_id
       FROM ${this.from('conversation_participants')} WHERE ${key} > ($1, $2) ORDER BY ${key} LIMIT $3`,
      [after[0], after[1], limit],
    );
    const last = page.at(-1);
    if (last === undefined) return [];
    const { rows } = await this.client.query(
      `SELECT ${s.list} FROM ${this.from('conversation_participants')} WHERE ${key} > ($1, $2) AND ${key} <= ($3, $4)
       ORDER BY ${key}, ${s.value('deleted_at')} IS NOT NULL, ${s.value('deleted_at')} DESC`,
      [after[0], after[1], last.conversation_id, last.user_id],
    );
    const pairs: Array<OriginalRow & { copies: number }> = [];
    for (const row of rows as OriginalRow[]) {
      const previous = pairs.at(-1);
      if (previous !== undefined && previous.conversation_id === row.conversation_id && previous.user_id === row.user_id) previous.copies += 1;
      else pairs.push({ ...row, copies: 1 });
    }
    return pairs;
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
