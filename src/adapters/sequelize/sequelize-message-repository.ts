import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Message, MessageDraft } from '../../domain/message.js';
import type { MessagePage, MessageRepository, PageQuery } from '../../application/ports/message-repository.js';
import type { Logger } from '../../application/ports/services.js';
import { GroupCommit, type GroupCommitOptions } from './group-commit.js';
import { MESSAGE_COLUMNS, toMessage, type Row } from './message-row.js';
import { num } from './database.js';

type Stored = { message: Message; created: boolean };
type Settlement = { ok: true; value: Stored } | { ok: false; error: unknown };

/** Any constant; held per batch so that message ids are assigned in commit order, across processes too. */
const APPEND_LOCK = 727_002;

/**
 * One multi-row INSERT per batch. Ids are drawn in arrival order; a repeated
 * (sender, client_id) is skipped by the unique index and answered with the original.
 */
const INSERT_BATCH = `
  WITH input AS (
    SELECT nextval('messages_id_seq') AS id, u.*
    FROM unnest($1::int[], $2::int[], $3::text[], $4::enum_messages_type[], $5::jsonb[], $6::varchar[], $7::timestamptz[])
      WITH ORDINALITY AS u(conversation_id, sender_id, content, type, attachment, client_id, created_at, ord)
  ), inserted AS (
    INSERT INTO messages (id, conversation_id, sender_id, content, type, attachment, client_id, created_at, updated_at)
    SELECT id, conversation_id, sender_id, content, type, attachment, client_id, created_at, created_at FROM input ORDER BY ord
    ON CONFLICT (sender_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
    RETURNING id
  )
  SELECT i.id, (ins.id IS NOT NULL) AS created FROM input i LEFT JOIN inserted ins ON ins.id = i.id ORDER BY i.ord`;

const SELECT_ORIGINALS = `
  SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
  WHERE (m.sender_id, m.client_id) IN (SELECT * FROM unnest($1::int[], $2::varchar[]))`;

export interface MessageBatchHook {
  /** Runs inside each batch's transaction after the insert, with what was newly stored. */
  (transaction: Transaction, created: Message[]): Promise<void>;
}

export class SequelizeMessageRepository implements MessageRepository {
  private readonly writer: GroupCommit<MessageDraft, Stored>;
  private readonly hooks: MessageBatchHook[] = [];

  constructor(
    private readonly sequelize: Sequelize,
    private readonly logger: Logger,
    options: GroupCommitOptions = {},
  ) {
    this.writer = new GroupCommit((drafts) => this.writeBatch(drafts), options);
  }

  /** Lets a broadcaster announce a batch in the transaction that stores it. */
  onBatch(hook: MessageBatchHook): void {
    this.hooks.push(hook);
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

  private insert(drafts: MessageDraft[]): Promise<Stored[]> {
    return this.sequelize.transaction(async (transaction) => {
      await this.sequelize.query('SELECT pg_advisory_xact_lock($1)', { bind: [APPEND_LOCK], transaction });
      const rows = await this.sequelize.query<Row>(INSERT_BATCH, {
        bind: [
          drafts.map((d) => d.conversationId),
          drafts.map((d) => d.senderId),
          drafts.map((d) => d.content),
          drafts.map((d) => d.type),
          drafts.map((d) => (d.attachment ? JSON.stringify(d.attachment) : null)),
          drafts.map((d) => d.clientId),
          drafts.map((d) => d.createdAt),
        ],
        type: QueryTypes.SELECT,
        transaction,
      });
      const stored: Array<Stored | null> = drafts.map((d, i) => {
        const row = rows[i]!;
        if (!row.created) return null;
        const message: Message = { ...d, id: num(row.id), readAt: null, editedAt: null, updatedAt: d.createdAt };
        return { message, created: true };
      });
      const repeats = drafts.filter((_, i) => stored[i] === null);
      if (repeats.length > 0) {
        const originals = await this.sequelize.query<Row>(SELECT_ORIGINALS, {
          bind: [repeats.map((d) => d.senderId), repeats.map((d) => d.clientId)],
          type: QueryTypes.SELECT,
          transaction,
        });
        const byKey = new Map(originals.map((r) => [`${num(r.sender_id)}:${String(r.client_id)}`, toMessage(r)]));
        drafts.forEach((d, i) => {
          if (stored[i] !== null) return;
          const original = byKey.get(`${d.senderId}:${d.clientId}`);
          if (!original) throw new Error(`The original of repeated message ${d.clientId} could not be read`);
          stored[i] = { message: original, created: false };
        });
      }
      const created = stored.filter((s): s is Stored => s!.created).map((s) => s.message);
      for (const hook of this.hooks) await hook(transaction, created);
      return stored as Stored[];
    });
  }

  private select(sql: string, bind: unknown[]): Promise<Row[]> {
    return this.sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT });
  }
}
