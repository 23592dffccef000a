import { isHttpUrl, MAX_URL_LENGTH, MESSAGE_TYPES, type Attachment, type MessageType } from '../../domain/message.js';
import { ids, inTransaction, keepOrDraw, mapped, moveSequencePast, record, tallyRow, timeOr, timeOrNull, type ImportContext } from './import-context.js';

const typeOf = (value: unknown): MessageType | null => ((MESSAGE_TYPES as readonly unknown[]).includes(value) ? (value as MessageType) : null);

/**
 * The original kept a media message's URL in `content`: it becomes the
 * attachment, and `content` stays as it was (the original clients read it
 * there), as for media sent that way now. A media message whose content is no
 * http(s) URL keeps no attachment, and is counted.
 */
function attachmentOf(type: MessageType, content: string): Attachment | null {
  if (type === 'text') return null;
  const url = content.trim();
  return url.length <= MAX_URL_LENGTH && isHttpUrl(url) ? { url } : null;
}

/** Messages, soft-deleted ones as such, ids kept where free; rows naming a conversation or sender that was not imported are skipped. */
export async function importMessages(c: ImportContext): Promise<void> {
  const report = c.report.messages;
  for (let after = 0, batch = 1; ; batch++) {
    const rows = await c.original.batch('messages', after, c.batchSize);
    if (rows.length === 0) break;
    after = Number(rows.at(-1)!.id);
    const done = await mapped(c.target, 'messages', ids(rows));
    const todo = rows.filter((r) => !done.has(Number(r.id)));
    const conversations = await mapped(c.target, 'conversations', ids(todo, 'conversation_id'));
    const senders = await mapped(c.target, 'users', ids(todo, 'sender_id'));
    const rowsHere = todo.flatMap((r) => {
      const id = Number(r.id);
      const conversation = conversations.get(Number(r.conversation_id));
      const sender = senders.get(Number(r.sender_id));
      if (conversation === undefined) tallyRow(c, 'messages', 'CONVERSATION_NOT_IMPORTED', id, { conversation_id: Number(r.conversation_id) });
      else if (sender === undefined) tallyRow(c, 'messages', 'SENDER_NOT_IMPORTED', id, { sender_id: Number(r.sender_id) });
      if (conversation === undefined || sender === undefined) return [];
      const known = typeOf(r.type);
      if (known === null && r.type !== null) tallyRow(c, 'messages', 'TYPE_UNKNOWN', id);
      const type = known ?? 'text';
      const content = String(r.content);
      const attachment = attachmentOf(type, content);
      if (type !== 'text' && attachment === null) tallyRow(c, 'messages', 'MEDIA_WITHOUT_URL', id);
      return [{ r, conversation, sender, type, content, attachment }];
    });
    report.alreadyThere += rows.length - todo.length;
    if (rowsHere.length > 0) {
      const newIds = await keepOrDraw(c.target, 'messages', ids(rowsHere.map((x) => x.r)));
      const idOf = (x: (typeof rowsHere)[number]) => newIds.get(Number(x.r.id))!;
      await inTransaction(c.target, async () => {
        await c.target.query(
          `INSERT INTO messages (id, conversation_id, sender_id, content, type, attachment, read_at, created_at, updated_at, deleted_at)
           SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::enum_messages_type[], $6::jsonb[],
                                $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])`,
          [
            rowsHere.map(idOf),
            rowsHere.map((x) => x.conversation),
            rowsHere.map((x) => x.sender),
            rowsHere.map((x) => x.content),
            rowsHere.map((x) => x.type),
            rowsHere.map((x) => (x.attachment ? JSON.stringify(x.attachment) : null)),
            rowsHere.map((x) => timeOrNull(x.r.read_at)),
            rowsHere.map((x) => timeOr(x.r.created_at)),
            rowsHere.map((x) => timeOr(x.r.updated_at, x.r.created_at)),
            rowsHere.map((x) => timeOrNull(x.r.deleted_at)),
          ],
        );
        await record(
          c.target,
          'messages',
          rowsHere.map((x) => [Number(x.r.id), idOf(x)] as const),
        );
      });
    }
    report.imported += rowsHere.length;
    c.logger.info({ table: 'messages', batch, imported: rowsHere.length, alreadyThere: rows.length - todo.length, lastId: after }, 'import batch');
  }
}

/**
 * Once everything is in: sequences past every id; the write lanes' cursors
 * past the imported messages (so a server process that starts later does not
 * take them for new ones to catch up on); and each imported participant's
 * read marker, where it has none, at the newest message they sent or that the
 * original marked read (`read_at`), so the history does not arrive unread.
 */
export async function finish(c: ImportContext): Promise<void> {
  for (const table of ['users', 'conversations', 'messages'] as const) {
    const { rows } = await c.target.query<{ max: string | null }>(`SELECT max(id) AS max FROM ${table}`);
    await moveSequencePast(c.target, table, Number(rows[0]!.max ?? 0));
  }
  await c.target.query(`UPDATE write_lanes SET last_id = m.max FROM (SELECT max(id) AS max FROM messages) m WHERE write_lanes.last_id < m.max`);
  const markers = await c.target.query(`
    WITH own AS (
      SELECT conversation_id, sender_id, max(id) AS id FROM messages WHERE deleted_at IS NULL GROUP BY conversation_id, sender_id
    ), seen AS (
      SELECT conversation_id, max(id) AS id FROM messages WHERE deleted_at IS NULL AND read_at IS NOT NULL GROUP BY conversation_id
    ), marker AS (
      SELECT p.conversation_id, p.user_id, greatest(own.id, seen.id) AS id
      FROM conversation_participants p
      LEFT JOIN own ON own.conversation_id = p.conversation_id AND own.sender_id = p.user_id
      LEFT JOIN seen ON seen.conversation_id = p.conversation_id
      WHERE p.last_read_message_id IS NULL
        AND p.conversation_id IN (SELECT new_id FROM legacy_id_map WHERE entity = 'conversations')
    )
    UPDATE conversation_participants p SET last_read_message_id = marker.id
    FROM marker WHERE p.conversation_id = marker.conversation_id AND p.user_id = marker.user_id AND marker.id IS NOT NULL`);
  c.report.readMarkersSet += markers.rowCount ?? 0;
}

/** Before anything is copied: sequences past the original's ids, so rows this server creates meanwhile never take one. */
export async function reserveOriginalIds(c: ImportContext): Promise<void> {
  for (const table of ['users', 'conversations', 'messages'] as const) await moveSequencePast(c.target, table, await c.original.maxId(table));
}
