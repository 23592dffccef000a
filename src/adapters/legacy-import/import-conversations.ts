import { directKey } from '../../domain/conversation.js';
import { ids, inTransaction, keepOrDraw, mapped, record, tallyRow, timeOr, timeOrNull, type ImportContext } from './import-context.js';

type Row = Readonly<Record<string, unknown>>;

/**
 * Conversations. The original had no kinds: one without a title (or a blank
 * one) and with exactly two distinct participants whose rows are not deleted
 * is direct; every other one is a closed group. A second live direct
 * conversation of the same pair (which the original allowed, and this server
 * does not) is merged into the first: it is recorded as imported into it, and
 * its messages go there.
 */
export async function importConversations(c: ImportContext): Promise<void> {
  const report = c.report.conversations;
  for (let after = 0, batch = 1; ; batch++) {
    const rows = await c.original.batch('conversations', after, c.batchSize);
    if (rows.length === 0) break;
    after = Number(rows.at(-1)!.id);
    const done = await mapped(c.target, 'conversations', ids(rows));
    const todo = rows.filter((r) => !done.has(Number(r.id)));
    report.alreadyThere += rows.length - todo.length;
    if (todo.length > 0) await importBatch(c, todo);
    c.logger.info({ table: 'conversations', batch, imported: todo.length, alreadyThere: rows.length - todo.length, lastId: after }, 'import batch');
  }
}

async function importBatch(c: ImportContext, todo: readonly Row[]): Promise<void> {
  const report = c.report.conversations;
  const participants = await c.original.participantsOf(ids(todo));
  const users = await mapped(c.target, 'users', [
    ...ids(participants, 'user_id'),
    ...todo.filter((r) => r.created_by !== null).map((r) => Number(r.created_by)),
  ]);
  const plans = todo.map((r) => {
    const mine = participants.filter((p) => Number(p.conversation_id) === Number(r.id));
    const everyone = [...new Set(mine.map((p) => users.get(Number(p.user_id))).filter((id) => id !== undefined))].sort((x, y) => x - y);
    const live = [
      ...new Set(
        mine
          .filter((p) => p.deleted_at === null)
          .map((p) => users.get(Number(p.user_id)))
          .filter((id) => id !== undefined),
      ),
    ];
    const title = typeof r.title === 'string' && r.title.trim() !== '' ? r.title.trim() : null;
    const direct = title === null && live.length === 2;
    const createdBy = (r.created_by !== null ? users.get(Number(r.created_by)) : undefined) ?? everyone[0] ?? null;
    return { r, title, createdBy, key: direct ? directKey(live[0]!, live[1]!) : null, live: r.deleted_at === null };
  });

  // The pair's live direct conversation, here already or earlier in this batch, absorbs later ones.
  const keys = plans.filter((p) => p.key !== null && p.live).map((p) => p.key!);
  const { rows: existing } = await c.target.query<{ id: number; direct_key: string }>(
    'SELECT id, direct_key FROM conversations WHERE direct_key = ANY($1::text[]) AND deleted_at IS NULL',
    [keys],
  );
  const survivors = new Map(existing.map((e) => [e.direct_key, e.id]));
  const newIds = await keepOrDraw(c.target, 'conversations', ids(todo));
  const inserts: typeof plans = [];
  const records: Array<readonly [number, number]> = [];
  for (const plan of plans) {
    const legacyId = Number(plan.r.id);
    if (plan.createdBy === null) {
      tallyRow(c, 'conversations', 'NO_PARTICIPANTS', legacyId);
      continue;
    }
    const survivor = plan.key !== null && plan.live ? survivors.get(plan.key) : undefined;
    if (survivor !== undefined) {
      tallyRow(c, 'conversations', 'MERGED_DIRECT', legacyId, { into: survivor });
      records.push([legacyId, survivor]);
      continue;
    }
    if (plan.key !== null && plan.live) survivors.set(plan.key, newIds.get(legacyId)!);
    inserts.push(plan);
    records.push([legacyId, newIds.get(legacyId)!]);
  }
  await inTransaction(c.target, async () => {
    if (inserts.length > 0) {
      await c.target.query(
        `INSERT INTO conversations (id, title, kind, is_open, created_by, direct_key, created_at, updated_at, deleted_at)
         SELECT id, title, CASE WHEN direct_key IS NULL THEN 'group' ELSE 'direct' END::enum_conversations_kind, false, created_by, direct_key,
                created_at, updated_at, deleted_at
         FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])
           AS u(id, title, created_by, direct_key, created_at, updated_at, deleted_at)`,
        [
          inserts.map((p) => newIds.get(Number(p.r.id))!),
          inserts.map((p) => p.title),
          inserts.map((p) => p.createdBy),
          inserts.map((p) => p.key),
          inserts.map((p) => timeOr(p.r.created_at)),
          inserts.map((p) => timeOr(p.r.updated_at, p.r.created_at)),
          inserts.map((p) => timeOrNull(p.r.deleted_at)),
        ],
      );
    }
    await record(c.target, 'conversations', records);
  });
  report.imported += records.length;
}

/**
 * Participants, soft-deleted ones as such, one row per pair (see
 * `OriginalTables.participants`); rows naming a conversation or user that was
 * not imported are skipped.
 */
export async function importParticipants(c: ImportContext): Promise<void> {
  const report = c.report.participants;
  let after: readonly [number, number] = [0, 0];
  for (let batch = 1; ; batch++) {
    const rows = await c.original.participants(after, c.batchSize);
    if (rows.length === 0) break;
    const last = rows.at(-1)!;
    after = [Number(last.conversation_id), Number(last.user_id)];
    const conversations = await mapped(c.target, 'conversations', ids(rows, 'conversation_id'));
    const users = await mapped(c.target, 'users', ids(rows, 'user_id'));
    const rowsHere = rows.flatMap((r) => {
      const key = `${Number(r.conversation_id)}:${Number(r.user_id)}`;
      for (let copy = 1; copy < Number(r.copies); copy++) tallyRow(c, 'participants', 'DUPLICATE_PARTICIPANT', key);
      const conversation = conversations.get(Number(r.conversation_id));
      const user = users.get(Number(r.user_id));
      if (conversation === undefined) tallyRow(c, 'participants', 'CONVERSATION_NOT_IMPORTED', key);
      else if (user === undefined) tallyRow(c, 'participants', 'USER_NOT_IMPORTED', key);
      return conversation === undefined || user === undefined ? [] : [{ r, conversation, user }];
    });
    // A merged direct conversation's participants are the survivor's already: those rows conflict and are left alone.
    const inserted = await c.target.query(
      `INSERT INTO conversation_participants (conversation_id, user_id, created_at, updated_at, deleted_at)
       SELECT * FROM unnest($1::int[], $2::int[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[])
       ON CONFLICT (conversation_id, user_id) DO NOTHING`,
      [
        rowsHere.map((x) => x.conversation),
        rowsHere.map((x) => x.user),
        rowsHere.map((x) => timeOr(x.r.created_at)),
        rowsHere.map((x) => timeOr(x.r.updated_at, x.r.created_at)),
        rowsHere.map((x) => timeOrNull(x.r.deleted_at)),
      ],
    );
    const imported = inserted.rowCount ?? 0;
    report.imported += imported;
    report.alreadyThere += rowsHere.length - imported;
    c.logger.info({ table: 'conversation_participants', batch, imported, alreadyThere: rowsHere.length - imported }, 'import batch');
  }
}
