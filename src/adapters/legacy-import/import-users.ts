import { ROLES, type Role } from '../../domain/user.js';
import { ids, inTransaction, mapped, record, tallyRow, timeOr, timeOrNull, type ImportContext } from './import-context.js';
import type { ChangeCode } from './import-report.js';

export class ImportConflictError extends Error {}

/**
 * Usernames that differ only in case (possible in the original; unique here
 * regardless of case): the oldest keeps its name, later ones get `_<id>`
 * appended, the rule migration 20261128000100 applied to this server's own.
 */
export async function usernameRenames(c: ImportContext): Promise<ReadonlySet<number>> {
  return new Set((await c.original.caseInsensitiveDuplicates('username')).flatMap((group) => group.slice(1)));
}

/**
 * Before anything is written: every original user must be able to keep its
 * id, and its email and username must be free here (or be its own, from an
 * earlier run). Ids are kept because they are identities outside this
 * database: tokens of the Django identity provider carry them (user_id).
 * Emails equal regardless of case within the original are refused too.
 */
export async function refuseConflicts(c: ImportContext, renames: ReadonlySet<number>): Promise<void> {
  const problems: string[] = [];
  for (const group of await c.original.caseInsensitiveDuplicates('email')) {
    problems.push(`original users ${group.join(', ')} share one email (regardless of case), which must be unique here`);
  }
  for (let after = 0; ;) {
    const rows = await c.original.batch('users', after, c.batchSize);
    if (rows.length === 0) break;
    after = Number(rows.at(-1)!.id);
    const wanted = rows.map((r) => ({ id: Number(r.id), email: String(r.email).toLowerCase(), username: usernameOf(r, renames).toLowerCase() }));
    const { rows: clashes } = await c.target.query<{ id: number; email: string; username: string }>(
      `SELECT u.id, lower(u.email) AS email, lower(u.username) AS username FROM users u
       WHERE (u.id = ANY($1::int[]) OR lower(u.email) = ANY($2::text[]) OR lower(u.username) = ANY($3::text[]))
         AND NOT EXISTS (SELECT 1 FROM legacy_id_map m WHERE m.entity = 'users' AND m.legacy_id = u.id AND m.new_id = u.id)`,
      [wanted.map((w) => w.id), wanted.map((w) => w.email), wanted.map((w) => w.username)],
    );
    for (const clash of clashes) {
      const w = wanted.find((x) => x.id === clash.id || x.email === clash.email || x.username === clash.username)!;
      const what = w.id === clash.id ? 'id' : w.email === clash.email ? 'email' : 'username';
      problems.push(`original user ${w.id}: its ${what} is taken here by user ${clash.id}, which the import did not create`);
    }
  }
  if (problems.length > 0) {
    const shown = problems
      .slice(0, 20)
      .map((p) => `  - ${p}`)
      .join('\n');
    throw new ImportConflictError(
      `Nothing was imported: ${problems.length} conflict(s) with this database or within the original.\n${shown}${problems.length > 20 ? '\n  ...' : ''}\n` +
        'Import into an empty database (or one that holds only earlier runs of this import), and make emails unique in the original.',
    );
  }
}

const usernameOf = (r: Readonly<Record<string, unknown>>, renames: ReadonlySet<number>): string =>
  renames.has(Number(r.id)) ? `${String(r.username)}_${Number(r.id)}` : String(r.username);

/**
 * The original's role here. Roles here are the two sides of a letting
 * (landlord, tenant), and no rule reads them; what grants rights is the staff
 * flag (staff see and moderate every conversation). The original never read
 * its role for rights either (only `is_staff`), so a role label grants
 * nothing: every role that is not one of the two sides (`user`, `staff`,
 * none, any other) becomes `tenant`, the one that claims nothing (a landlord
 * is one who lets), each counted under its reason, and `is_staff` is kept.
 */
function roleOf(r: Readonly<Record<string, unknown>>): { role: Role; staff: boolean; reason: ChangeCode | null } {
  const value = typeof r.role === 'string' ? r.role.trim().toLowerCase() : '';
  const staff = r.is_staff === true;
  if ((ROLES as readonly string[]).includes(value)) return { role: value as Role, staff, reason: null };
  if (value === 'user') return { role: 'tenant', staff, reason: 'ROLE_USER' };
  if (value === 'staff') return { role: 'tenant', staff, reason: 'ROLE_STAFF' };
  return { role: 'tenant', staff, reason: value === '' ? 'ROLE_MISSING' : 'ROLE_UNKNOWN' };
}

/** Users, ids kept, Django password hashes as they are (this server verifies and upgrades them at login). */
export async function importUsers(c: ImportContext, renames: ReadonlySet<number>): Promise<void> {
  const report = c.report.users;
  for (let after = 0, batch = 1; ; batch++) {
    const rows = await c.original.batch('users', after, c.batchSize);
    if (rows.length === 0) break;
    after = Number(rows.at(-1)!.id);
    const done = await mapped(c.target, 'users', ids(rows));
    const todo = rows.filter((r) => !done.has(Number(r.id)));
    report.alreadyThere += rows.length - todo.length;
    const roles = new Map(todo.map((r) => [Number(r.id), roleOf(r)]));
    for (const r of todo) {
      const id = Number(r.id);
      if (renames.has(id)) tallyRow(c, 'users', 'USERNAME_RENAMED', id, { from: String(r.username), to: usernameOf(r, renames) });
      const { reason } = roles.get(id)!;
      if (reason !== null) tallyRow(c, 'users', reason, id, reason === 'ROLE_UNKNOWN' ? { role: String(r.role) } : undefined);
    }
    const column = <T>(f: (r: Readonly<Record<string, unknown>>) => T) => todo.map(f);
    if (todo.length > 0) {
      await inTransaction(c.target, async () => {
        await c.target.query(
          `INSERT INTO users (id, email, username, password, phone_number, profile_picture, role, is_active, is_staff, is_superuser,
                              date_joined, last_login, created_at, updated_at, deleted_at)
           SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::enum_users_role[],
                                $8::bool[], $9::bool[], $10::bool[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[],
                                $14::timestamptz[], $15::timestamptz[])`,
          [
            ids(todo),
            column((r) => String(r.email).toLowerCase()),
            column((r) => usernameOf(r, renames)),
            // No usable password (Django marks those with '!'): verifies against nothing.
            column((r) => (typeof r.password === 'string' && r.password !== '' ? r.password : '!')),
            column((r) => r.phone_number ?? null),
            column((r) => r.profile_picture ?? null),
            column((r) => roles.get(Number(r.id))!.role),
            column((r) => r.is_active ?? true),
            column((r) => roles.get(Number(r.id))!.staff),
            column((r) => r.is_superuser ?? false),
            column((r) => timeOr(r.date_joined, r.created_at)),
            column((r) => timeOrNull(r.last_login)),
            column((r) => timeOr(r.created_at, r.date_joined)),
            column((r) => timeOr(r.updated_at, r.created_at, r.date_joined)),
            column((r) => timeOrNull(r.deleted_at)),
          ],
        );
        await record(
          c.target,
          'users',
          ids(todo).map((id) => [id, id] as const),
        );
      });
    }
    report.imported += todo.length;
    c.logger.info({ table: 'users', batch, imported: todo.length, alreadyThere: rows.length - todo.length, lastId: after }, 'import batch');
  }
}
