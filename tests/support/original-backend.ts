import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export const ORIGINAL_SCHEMA_SQL = readFileSync(path.resolve(import.meta.dirname, '../fixtures/original-schema.sql'), 'utf8');

/** A password hash as Django's default hasher writes it. */
export function djangoHash(password: string, iterations = 100_000): string {
  const salt = randomBytes(9).toString('base64url').slice(0, 12);
  return `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64')}`;
}

export const PASSWORDS = { ann: 'ann has a long password', ben: 'ben has a long password' } as const;
const URL_OF = (name: string) => `https://media.example.com/uploads/${name}`;

/** What the original database holds, as the tests look for it after the import. */
export const ORIGINAL = {
  /** In users_user (Django's). `ghost` is only in `user`, the table the migrations' foreign keys name. */
  users: { ann: 2, ben: 3, cat: 5, Ben: 7, dan: 9, admin: 11, olga: 12, ghost: 13 },
  /** Ids with gaps, as a long-lived database has them. */
  conversations: { direct: 3, group: 4, secondDirect: 6, untitledGroup: 8, deletedDirect: 10, empty: 12 },
  groupMessages: 120,
} as const;

/**
 * Fills an original database (the fixture schema, in `schema`) with users
 * holding Django hashes and the roles the original's data has (`user`,
 * `staff`, none, an unknown one), a direct and a group conversation and a few
 * odd ones (a second direct one of the same pair, one nobody is in, someone
 * who left and came back), and messages: soft-deleted ones, media with the
 * URL as content, read ones, one from a user Django does not know.
 */
export async function fillOriginal(
  url: string,
  schema = 'public',
): Promise<{ messages: number; deleted: number; lastMessageId: number; ghostMessageId: number }> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path = ${schema}`);
    await db.query(ORIGINAL_SCHEMA_SQL);
    const u = ORIGINAL.users;
    const c = ORIGINAL.conversations;
    const t = (minutes: number) => new Date(Date.UTC(2025, 0, 1) + minutes * 60_000);
    const people = [u.ann, u.ben, u.cat, u.Ben, u.dan, u.admin, u.olga];
    await db.query(
      `INSERT INTO users_user (id, email, username, password, phone_number, role, is_active, is_staff, is_superuser, date_joined, last_login,
                               created_at, updated_at, deleted_at)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::bool[], $9::bool[],
                            $10::timestamptz[], $11::timestamptz[], $10::timestamptz[], $10::timestamptz[], $12::timestamptz[])`,
      [
        people,
        ['Ann@Example.com', 'ben@example.com', 'cat@example.com', 'big.ben@example.com', 'dan@example.com', 'admin@example.com', 'olga@example.com'],
        ['ann', 'ben', 'cat', 'Ben', 'dan', 'admin', 'olga'],
        [
          djangoHash(PASSWORDS.ann),
          djangoHash(PASSWORDS.ben),
          djangoHash('cat password'),
          djangoHash('other ben'),
          djangoHash('dan password'),
          '!unusable',
          djangoHash('olga password'),
        ],
        ['+15550001', null, null, null, null, null, null],
        ['landlord', 'tenant', 'user', 'staff', 'tenant', '', 'owner'],
        [true, true, true, true, false, true, true],
        [false, false, false, false, false, true, false],
        [false, false, false, false, false, true, false],
        [t(0), t(1), t(2), t(3), t(4), t(0), t(5)],
        [t(100), null, null, null, null, null, null],
        [null, null, null, null, t(50), null, null],
      ],
    );
    await db.query(`SELECT setval(pg_get_serial_sequence('users_user', 'id'), 12)`);
    // The rows the migrations' foreign keys need (the original never wrote them: its model reads users_user), and one more.
    await db.query(
      `INSERT INTO "user" (id, email, username, password, role, created_at, updated_at)
       SELECT id, 'user' || id || '@example.com', 'user' || id, 'hashed_password', 'tenant', $2, $2 FROM unnest($1::int[]) id`,
      [[...people, u.ghost], t(0)],
    );
    await db.query(`SELECT setval(pg_get_serial_sequence('"user"', 'id'), 13)`);
    // [id, participants (in the order they joined), deleted at]
    const conversations: Array<[number, number[], Date | null]> = [
      [c.direct, [u.ann, u.ben], null],
      [c.group, [u.ann, u.ben, u.cat, u.dan, u.ghost], null],
      [c.secondDirect, [u.ben, u.ann], null],
      [c.untitledGroup, [u.cat, u.ann, u.ben], null],
      [c.deletedDirect, [u.ann, u.cat], t(60)],
      [c.empty, [], null],
    ];
    for (const [id, members, deletedAt] of conversations) {
      await db.query(`INSERT INTO conversations (id, created_at, updated_at, deleted_at) VALUES ($1, $2, $2, $3)`, [id, t(10 + id), deletedAt]);
      for (const person of members) {
        // dan left the group (his row is soft-deleted) before his account was deleted.
        const left = id === c.group && person === u.dan ? t(40) : null;
        await db.query(`INSERT INTO conversation_participants (conversation_id, user_id, created_at, updated_at, deleted_at) VALUES ($1, $2, $3, $3, $4)`, [
          id,
          person,
          t(10 + id),
          left,
        ]);
      }
    }
    // cat left the group once and came back: a deleted row beside the live one.
    await db.query(`INSERT INTO conversation_participants (conversation_id, user_id, created_at, updated_at, deleted_at) VALUES ($1, $2, $3, $4, $4)`, [
      c.group,
      u.cat,
      t(12),
      t(13),
    ]);
    await db.query(`SELECT setval('conversations_id_seq', 12)`);

    // Messages, in time order across conversations, as the original's serial ids gave them.
    type M = [conversation: number, sender: number, content: string, type: string, read: boolean, deleted: boolean];
    const direct: M[] = [
      [c.direct, u.ann, 'hi ben', 'text', true, false],
      [c.direct, u.ben, 'hi ann', 'text', true, false],
      [c.direct, u.ann, URL_OF('kitchen.jpg'), 'image', true, false],
      [c.direct, u.ben, 'oops, wrong chat', 'text', false, true],
      [c.direct, u.ben, URL_OF('lease.pdf'), 'file', false, false],
      [c.direct, u.ben, 'see attached', 'text', false, false],
    ];
    const group: M[] = Array.from({ length: ORIGINAL.groupMessages }, (_, i) => [
      c.group,
      [u.ann, u.ben, u.cat][i % 3]!,
      `group message ${i}`,
      'text',
      i < 100,
      i % 25 === 24,
    ]);
    group[10] = [c.group, u.cat, '/uploads/relative/photo.png', 'image', true, false];
    group[20] = [c.group, u.ann, URL_OF('voice.ogg'), 'audio', true, false];
    const others: M[] = [
      [c.secondDirect, u.ben, 'in the second direct chat', 'text', false, false],
      [c.untitledGroup, u.cat, 'three of us, no title', 'text', false, false],
      [c.deletedDirect, u.ann, 'in a deleted chat', 'text', false, false],
    ];
    const ghost: M = [c.group, u.ghost, 'from someone Django does not know', 'text', false, false];
    const all = [...direct.slice(0, 3), ...group.slice(0, 60), others[0]!, ...direct.slice(3), ...group.slice(60), others[1]!, others[2]!, ghost];
    let minute = 100;
    for (const [conversation, sender, content, type, read, deleted] of all) {
      minute += 1;
      await db.query(
        `INSERT INTO messages (conversation_id, sender_id, content, type, read_at, created_at, updated_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`,
        [conversation, sender, content, type, read ? t(minute + 0.5) : null, t(minute), deleted ? t(minute + 1) : null],
      );
    }
    const { rows } = await db.query<{ max: number }>('SELECT max(id) AS max FROM messages');
    // The ghost's message is the last one: the importable ones are ids 1 to `messages`.
    return { messages: all.length - 1, deleted: all.filter((m) => m[5]).length, lastMessageId: rows[0]!.max, ghostMessageId: rows[0]!.max };
  } finally {
    await db.end();
  }
}
