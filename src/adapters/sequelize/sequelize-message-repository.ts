import { QueryTypes, type Sequelize } from 'sequelize';
import type { Message, MessageDraft } from '../../domain/message.js';
import type { MessagePage, MessageRepository, PageQuery } from '../../application/ports/message-repository.js';
import type { Logger } from '../../application/ports/services.js';
import { GroupCommit, type GroupCommitOptions } from './group-commit.js';
import { MESSAGE_COLUMNS, toMessage, type Row } from './message-row.js';
import { num } from './database.js';
import { MAX_NOTIFY_BYTES } from './fanout-notification.js';

type Stored = { message: Message; created: boolean };
type Settlement = { ok: true; value: Stored } | { ok: false; error: unknown };

/** Any constant; held per batch so that message ids are assigned in commit order, across processes too. */
const APPEND_LOCK = 727_002;

/**
 * Hot path, one statement per batch on purpose (one round trip, its own
 * transaction): take the ordering lock, draw ids in arrival order, insert
 * (a repeated (sender, client_id) is skipped by the unique index), and, when
 * fan-out is on, announce the new rows with one NOTIFY that commits with them:
 * inline as compact rows when they fit, else by ids.
 */
const INSERT_BATCH = `
  WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${APPEND_LOCK})),
  input AS MATERIALIZED (
    SELECT nextval('messages_id_seq') AS id, u.*
    FROM lock, unnest($1::int[], $2::int[], $3::text[], $4::enum_messages_type[], $5::jsonb[], $6::varchar[], $7::timestamptz[], $8::text[])
      WITH ORDINALITY AS u(conversation_id, sender_id, content, type, attachment, client_id, created_at, sender_username, ord)
  ), inserted AS (
    INSERT INTO messages (id, conversation_id, sender_id, content, type, attachment, client_id, created_at, updated_at)
    SELECT id, conversation_id, sender_id, content, type, attachment, client_id, created_at, created_at FROM input ORDER BY ord
    ON CONFLICT (sender_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
    RETURNING id
  ), payload AS (
    SELECT json_build_object('n', $10::text, 't', 'mc', 'm', json_agg(json_build_array(i.id, i.conversation_id, i.sender_id,
             i.sender_username, i.content, i.type, i.attachment, i.client_id, (extract(epoch FROM i.created_at) * 1000)::bigint) ORDER BY i.id))::text AS inline,
           json_build_object('n', $10::text, 't', 'mref', 'ids', json_agg(i.id ORDER BY i.id))::text AS refs
    FROM input i JOIN inserted USING (id)
    HAVING count(*) > 0 AND $9::text IS NOT NULL
  ), notified AS (
    SELECT pg_notify($9::text, CASE WHEN octet_length(inline) <= ${MAX_NOTIFY_BYTES} THEN inline ELSE refs END) FROM payload
  )
  SELECT i.id, (ins.id IS NOT NULL) AS created, (SELECT count(*) FROM notified) AS announced
  FROM input i LEFT JOIN inserted ins ON ins.id = i.id ORDER BY i.ord`;

const SELECT_ORIGINALS = `
  SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
  WHERE (m.sender_id, m.client_id) IN (SELECT * FROM unnest($1::int[], $2::varchar[]))`;

export class SequelizeMessageRepository implements MessageRepository {
  private readonly writer: GroupCommit<MessageDraft, Stored>;
  private announce: { channel: string; nodeId: string } | null = null;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly logger: Logger,
    options: GroupCommitOptions = {},
  ) {
    this.writer = new GroupCommit((drafts) => this.writeBatch(drafts), options);
  }

  /** Announces each batch on this LISTEN/NOTIFY channel, in the statement that stores it. */
  announceOn(channel: string, nodeId: string): void {
    this.announce = { channel, nodeId };
  }

  append(draft: MessageDraft): Promise<Stored> {
    return this.writer.push(draft);
  }

  /** Waits for every queued write to commit. */
  drain(): Promise<void> {
    return this.writer.drain();
  }

  async findById(id: number): Promise<Message | null> {
    const [row] = await this.select(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.id = $1 AND m.deleted_at IS NULL`,
      [id],
    );
    return row ? toMessage(row) : null;
  }

  async page(conversationId: number, query: PageQuery): Promise<MessagePage> {
    const newestFirst = query.after === undefined;
    const rows = await this.select(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
       WHERE m.conversation_id = $1 AND m.deleted_at IS NULL
         AND ($2::bigint IS NULL OR m.id < $2) AND ($3::bigint IS NULL OR m.id > $3)
       ORDER BY m.id ${newestFirst ? 'DESC' : 'ASC'} LIMIT $4`,
      [conversationId, query.before ?? null, query.after ?? null, query.limit + 1],
    );
    const hasMore = rows.length > query.limit;
    const messages = rows.slice(0, query.limit).map((r) => toMessage(r));
    if (newestFirst) messages.reverse();
    return { messages, hasMore };
  }

  async edit(id: number, content: string, at: Date): Promise<Message | null> {
    const [row] = await this.select(
      `WITH m AS (UPDATE messages SET content = $2, edited_at = $3, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL RETURNING *)
       SELECT ${MESSAGE_COLUMNS} FROM m JOIN users u ON u.id = m.sender_id`,
      [id, content, at],
    );
    return row ? toMessage(row) : null;
  }

  async softDelete(id: number, at: Date): Promise<boolean> {
    const rows = await this.select(
      'UPDATE messages SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING id',
      [id, at],
    );
    return rows.length > 0;
  }

  async markReadUpTo(conversationId: number, readerId: number, messageId: number, at: Date): Promise<number> {
    const rows = await this.select(
      `UPDATE messages SET read_at = $4, updated_at = $4
       WHERE conversation_id = $1 AND id <= $3 AND sender_id <> $2 AND read_at IS NULL AND deleted_at IS NULL RETURNING id`,
      [conversationId, readerId, messageId, at],
    );
    return rows.length;
  }

  private async writeBatch(drafts: MessageDraft[]): Promise<Settlement[]> {
    try {
      return (await this.insert(drafts)).map((value) => ({ ok: true, value }));
    } catch (error) {
      if (drafts.length === 1) return [{ ok: false, error }];
      // One bad row must not fail its neighbours: retry each on its own.
      this.logger.warn({ err: error, size: drafts.length }, 'message batch failed; retrying its rows one by one');
      const settled: Settlement[] = [];
      for (const draft of drafts) {
        try {
          const [value] = await this.insert([draft]);
          settled.push({ ok: true, value: value! });
        } catch (rowError) {
          settled.push({ ok: false, error: rowError });
        }
      }
      return settled;
    }
  }

  private async insert(drafts: MessageDraft[]): Promise<Stored[]> {
    const rows = await this.sequelize.query<Row>(INSERT_BATCH, {
      bind: [
        drafts.map((d) => d.conversationId),
        drafts.map((d) => d.senderId),
        drafts.map((d) => d.content),
        drafts.map((d) => d.type),
        drafts.map((d) => (d.attachment ? JSON.stringify(d.attachment) : null)),
        drafts.map((d) => d.clientId),
        drafts.map((d) => d.createdAt),
        drafts.map((d) => d.senderUsername),
        this.announce?.channel ?? null,
        this.announce?.nodeId ?? '',
      ],
      type: QueryTypes.SELECT,
    });
    const stored: Array<Stored | null> = drafts.map((d, i) => {
      const row = rows[i]!;
      if (!row.created) return null;
      const message: Message = { ...d, id: num(row.id), readAt: null, editedAt: null, updatedAt: d.createdAt };
      return { message, created: true };
    });
    const repeats = drafts.filter((_, i) => stored[i] === null);
    if (repeats.length > 0) {
      // The originals are committed (earlier, or by this very statement): read them back.
      const originals = await this.select(SELECT_ORIGINALS, [repeats.map((d) => d.senderId), repeats.map((d) => d.clientId)]);
      const byKey = new Map(originals.map((r) => [`${num(r.sender_id)}:${String(r.client_id)}`, toMessage(r)]));
      drafts.forEach((d, i) => {
        if (stored[i] !== null) return;
        const original = byKey.get(`${d.senderId}:${d.clientId}`);
        if (!original) throw new Error(`The original of repeated message ${d.clientId} could not be read`);
        stored[i] = { message: original, created: false };
      });
    }
    return stored as Stored[];
  }

  private select(sql: string, bind: unknown[]): Promise<Row[]> {
    return this.sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT });
  }
}
