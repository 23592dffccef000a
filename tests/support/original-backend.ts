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
  users: { ann: 2, ben: 3, cat: 5, Ben: 7, dan: 9, admin: 11 },
  /** Ids with gaps, as a long-lived database has them. */
  conversations: { direct: 3, group: 4, secondDirect: 6, untitledGroup: 8, deletedDirect: 10, empty: 12 },
  groupMessages: 120,
} as const;

/**
 * Fills an original database (the fixture schema, in `schema`) with users
 * holding Django hashes, a direct and a group conversation and a few odd ones,
 * and messages: soft-deleted ones, media with the URL as content, read ones.
 */
export async function fillOriginal(url: string, schema = 'public'): Promise<{ messages: number; deleted: number; lastMessageId: number }> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path = ${schema}`);
    await db.query(ORIGINAL_SCHEMA_SQL);
    const u = ORIGINAL.users;
    const c = ORIGINAL.conversations;
    const t = (minutes: number) => new Date(Date.UTC(2025, 0, 1) + minutes * 60_000);
    await db.query(
      `INSERT INTO users (id, email, username, password, phone_number, role, is_staff, is_superuser, date_joined, last_login, created_at, updated_at, deleted_at)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::enum_users_role[], $7::bool[], $8::bool[],
                            $9::timestamptz[], $10::timestamptz[], $9::timestamptz[], $9::timestamptz[], $11::timestamptz[])`,
      [
        [u.ann, u.ben, u.cat, u.Ben, u.dan, u.admin],
        ['Ann@Example.com', 'ben@example.com', 'cat@example.com', 'big.ben@example.com', 'dan@example.com', 'admin@example.com'],
        ['ann', 'ben', 'cat', 'Ben', 'dan', 'admin'],
        [djangoHash(PASSWORDS.ann), djangoHash(PASSWORDS.ben), djangoHash('cat password'), djangoHash('other ben'), djangoHash('dan password'), '!unusable'],
        ['+15550001', null, null, null, null, null],
        ['landlord', 'tenant', 'tenant', 'tenant', 'tenant', null],
        [false, false, false, false, false, true],
        [false, false, false, false, false, true],
        [t(0), t(1), t(2), t(3), t(4), t(0)],
        [t(100), null, null, null, null, null],
        [null, null, null, null, t(50), null],
      ],
    );
    await db.query(`SELECT setval('users_id_seq', 11)`);
    const conversations: Array<[number, string | null, number, number[], Date | null]> = [
      [c.direct, null, u.ann, [u.ann, u.ben], null],
      [c.group, 'House 12', u.ann, [u.ann, u.ben, u.cat, u.dan], null],
      [c.secondDirect, '  ', u.ben, [u.ben, u.ann], null],
      [c.untitledGroup, null, u.cat, [u.ann, u.ben, u.cat], null],
      [c.deletedDirect, null, u.ann, [u.ann, u.cat], t(60)],
      [c.empty, null, u.ann, [], null],
    ];
    for (const [id, title, createdBy, people, deletedAt] of conversations) {
      await db.query(`INSERT INTO conversations (id, title, created_by, "createdAt", "updatedAt", "deletedAt") VALUES ($1, $2, $3, $4, $4, $5)`, [
        id,
        title,
        createdBy,
        t(10 + id),
        deletedAt,
      ]);
      for (const person of people) {
        // dan left the group (his row is soft-deleted) before his account was deleted.
        const left = id === c.group && person === u.dan ? t(40) : null;
        await db.query(`INSERT INTO conversation_participants (conversation_id, user_id, "createdAt", "updatedAt", "deletedAt") VALUES ($1, $2, $3, $3, $4)`, [
          id,
          person,
          t(10 + id),
          left,
        ]);
      }
    }
    await db.query(`UPDATE conversations SET created_by = NULL WHERE id = $1`, [c.empty]);
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
    const others: M[] = [
      [c.secondDirect, u.ben, 'in the second direct chat', 'text', false, false],
      [c.untitledGroup, u.cat, 'three of us, no title', 'text', false, false],
      [c.deletedDirect, u.ann, 'in a deleted chat', 'text', false, false],
    ];
    const all = [...direct.slice(0, 3), ...group.slice(0, 60), others[0]!, ...direct.slice(3), ...group.slice(60), others[1]!, others[2]!];
    let minute = 100;
    for (const [conversation, sender, content, type, read, deleted] of all) {
      minute += 1;
      await db.query(
        `INSERT INTO messages (conversation_id, sender_id, content, type, read_at, "createdAt", "updatedAt", "deletedAt") VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`,
        [conversation, sender, content, type, read ? t(minute + 0.5) : null, t(minute), deleted ? t(minute + 1) : null],
      );
    }
    const { rows } = await db.query<{ max: number }>('SELECT max(id) AS max FROM messages');
    return { messages: all.length, deleted: all.filter((m) => m[5]).length, lastMessageId: rows[0]!.max };
  } finally {
    await db.end();
  }
}
