import type pg from 'pg';
import type { Message, MessageDraft } from '../../../domain/message.js';
import type { AppendOptions, MessageAppender, MessageStore, Stored } from '../../../application/ports/fanout.js';
import type { Logger } from '../../../application/ports/services.js';
import { NO_TELEMETRY, type Telemetry } from '../../../application/ports/telemetry.js';
import { GroupCommit, type GroupCommitOptions } from './group-commit.js';
import { asUnavailable } from '../pool.js';
import { laneOf, LANE_LOCK } from './write-lanes.js';

export interface MessageWriterOptions extends GroupCommitOptions {
  /** Write lanes, as recorded in the database (see write-lanes.ts). */
  readonly lanes: number;
  /**
   * Announce each batch on this LISTEN/NOTIFY channel, in the statement that
   * stores it, as `encode` frames it (the fan-out's codec); null stores only.
   */
  readonly announce: { readonly channel: string; readonly encode: (lane: number, drafts: readonly MessageDraft[]) => MessageChunks } | null;
  readonly logger: Logger;
  /** @default NO_TELEMETRY */
  readonly telemetry?: Telemetry;
  /**
   * `conversation`: also keep each conversation's head in
   * `conversation_heads` and report the previous head per conversation
   * (for brokers that route by interest). @default 'lane'
   */
  readonly sequence?: 'lane' | 'conversation';
  /** See CommitListener (the fan-out uses it to deliver this process's own batches at once). */
  readonly onCommitted?: CommitListener;
}

/**
 * A batch's notifications as the statement writes them, one per chunk:
 * `prefix || <the chunk's ids as a JSON array, null where not inserted> || ',"r":' || rows || '}'`.
 */
export interface MessageChunks {
  readonly prefix: string;
  /** For each row of the batch, its chunk (1-based). */
  readonly chunkOfRow: number[];
  /** Each chunk's rows as a JSON array, or 'null' for a row too large to inline (read back by id). */
  readonly rows: string[];
}

type Settlement = { ok: true; value: Stored } | { ok: false; error: unknown };
interface Row {
  id: string;
  created: boolean;
  /** Whether the conversation and the sender exist (a row without them is not stored). */
  referable: boolean;
  /** The lane's highest id before this batch (null when nothing was inserted). */
  prev_id: string | null;
  /** The message a guarded row repeats (it was then not stored); only in the guarded statement. */
  original_id?: string | null;
  /** The conversation's head before this batch; only with the conversation sequence. */
  head_prev_id?: string | null;
}

/** A batch as it committed. */
export interface CommittedBatch {
  readonly lane: number;
  /** The highest id the lane had before this batch. */
  readonly previousId: number;
  /** The messages it stored, in id order. */
  readonly messages: readonly Message[];
  /** With the conversation sequence: each conversation's head before this batch. */
  readonly previousByConversation: ReadonlyMap<number, number> | null;
}

/** Told of each batch as it commits, before its appends resolve. */
export type CommitListener = (batch: CommittedBatch) => void;

/**
 * The write path, one statement per batch on purpose (one round trip, its own
 * transaction): take the lane's lock, draw ids in arrival order, insert the
 * rows whose conversation and sender exist (checked here, for the batch, in
 * place of the references trigger's own check: see migration
 * 20261128000500), skip a repeated (sender, conversation, client id) by the
 * unique index, move the lane's cursor, and, when announcing, NOTIFY the rows
 * in chunks that commit with them. `guarded` is the variant for batches with rows under the
 * duplicate guard: those rows are checked against recent messages (after the
 * lock, see migration 20261129000000) and skipped when they repeat one; a batch
 * without such rows runs the plain statement, unchanged.
 */
const insertBatch = (lock: number, guarded: boolean, heads: boolean) => `
  WITH lock AS MATERIALIZED (
    SELECT pg_advisory_xact_lock(${lock}, $9::int), set_config('chat.references_checked', statement_timestamp()::text, true)
  ),
  input AS MATERIALIZED (
    SELECT nextval('messages_id_seq') AS id, u.*,
      EXISTS (SELECT 1 FROM conversations c WHERE c.id = u.conversation_id) AND EXISTS (SELECT 1 FROM users s WHERE s.id = u.sender_id) AS referable
    FROM lock, unnest($1::int[], $2::int[], $3::text[], $4::enum_messages_type[], $5::jsonb[], $6::varchar[], $7::int8[], $11::int[]${guarded ? ', $13::int8[]' : ''})
      WITH ORDINALITY AS u(conversation_id, sender_id, content, type, attachment, client_id, created_ms, chunk${guarded ? ', window_ms' : ''}, ord)
  ), ${
    guarded
      ? `duplicate AS MATERIALIZED (
    SELECT i.id, messages_recent_duplicate(i.conversation_id, i.sender_id, i.type, i.content, i.attachment, i.created_ms - i.window_ms, ${CLOCK_SLACK_MS}) AS original_id
    FROM input i WHERE i.window_ms > 0
  ), `
      : ''
  }inserted AS (
    INSERT INTO messages (id, conversation_id, sender_id, content, type, attachment, client_id, created_at, updated_at)
    SELECT id, conversation_id, sender_id, content, type, attachment, client_id, at, at
    FROM input, LATERAL (SELECT timestamptz 'epoch' + created_ms * interval '1 millisecond' AS at) t
    WHERE referable${guarded ? ' AND NOT EXISTS (SELECT 1 FROM duplicate d WHERE d.id = input.id AND d.original_id IS NOT NULL)' : ''} ORDER BY ord
    ON CONFLICT (sender_id, conversation_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
    RETURNING id, conversation_id
  ), ${
    heads
      ? `heads AS (
    -- As for the lane's cursor, the conflicting row is the latest committed: prev_id is the head before this batch.
    INSERT INTO conversation_heads AS h (conversation_id, last_id)
    SELECT conversation_id, max(id) FROM inserted GROUP BY conversation_id
    ON CONFLICT (conversation_id) DO UPDATE SET prev_id = h.last_id, last_id = greatest(h.last_id, excluded.last_id)
    RETURNING h.conversation_id, h.prev_id
  ), `
      : ''
  }cursor AS (
    -- prev_id = last_id reads the row as this update finds it (the latest committed), not the statement's snapshot.
    UPDATE write_lanes SET prev_id = last_id, last_id = greatest(last_id, (SELECT max(id) FROM inserted))
    WHERE lane = $9::int AND EXISTS (SELECT 1 FROM inserted)
    RETURNING prev_id
  ), notified AS (
    SELECT pg_notify($8::text, $10::text || c.ids::text || ',"p":' || (SELECT prev_id FROM cursor) || ',"r":' || ($12::text[])[c.chunk] || '}')
    FROM (
      SELECT i.chunk, json_agg(ins.id ORDER BY i.ord) AS ids, bool_or(ins.id IS NOT NULL) AS stored
      FROM input i LEFT JOIN inserted ins ON ins.id = i.id GROUP BY i.chunk
    ) c
    WHERE $8::text IS NOT NULL AND c.stored
  )
  SELECT i.id, (ins.id IS NOT NULL) AS created, i.referable,${guarded ? ' d.original_id,' : ''}${heads ? ' (SELECT h.prev_id FROM heads h WHERE h.conversation_id = i.conversation_id) AS head_prev_id,' : ''}
    (SELECT count(*) FROM notified) AS announced, (SELECT prev_id FROM cursor) AS prev_id
  FROM input i LEFT JOIN inserted ins ON ins.id = i.id${guarded ? ' LEFT JOIN duplicate d ON d.id = i.id' : ''} ORDER BY i.ord`;

/** How far the guard looks past its window for messages stamped by a clock running a little behind. */
const CLOCK_SLACK_MS = 5_000;

const ORIGINAL_COLUMNS = `m.id, m.conversation_id, m.sender_id, u.username AS sender_username, m.content, m.type, m.attachment,
  m.client_id, m.read_at, m.edited_at, m.created_at, m.updated_at, m.deleted_at`;
/** Originals by client id, and (guarded repeats; they have none) by id: each branch on its own index. */
const SELECT_ORIGINALS = `
  SELECT ${ORIGINAL_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id
  WHERE (m.sender_id, m.conversation_id, m.client_id) IN (SELECT * FROM unnest($1::int[], $2::int[], $3::varchar[]))
  UNION ALL
  SELECT ${ORIGINAL_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id WHERE m.id = ANY($4::bigint[])`;

/** One append waiting in a lane's queue. */
interface Append {
  readonly draft: MessageDraft;
  /** The duplicate guard's window for this draft; 0 when it has a client id or the guard is off. */
  readonly windowMs: number;
}

/** What makes two guarded sends the same message. */
const duplicateKey = (d: MessageDraft): string => `${d.senderId}:${d.conversationId}:${d.type}:${JSON.stringify(d.attachment)}:${d.content}`;

/**
 * Ordered write lanes: conversations map to lanes, each lane has its own
 * group-commit queue here and its own advisory lock in the database, so that
 * across processes a lane commits one batch at a time (commit order = id order
 * = delivery order within a conversation) while different lanes commit
 * concurrently. Uses pg directly: this is the hottest statement there is.
 */
export class MessageWriter implements MessageAppender, MessageStore {
  private readonly queues: GroupCommit<Append, Stored>[];
  private readonly sql: string;
  private readonly guardedSql: string;
  private readonly heads: boolean;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: MessageWriterOptions,
  ) {
    this.heads = options.sequence === 'conversation';
    this.sql = insertBatch(LANE_LOCK, false, this.heads);
    this.guardedSql = insertBatch(LANE_LOCK, true, this.heads);
    this.queues = Array.from({ length: options.lanes }, (_, lane) => new GroupCommit((drafts) => this.writeBatch(lane, drafts), options));
  }

  get queued(): number {
    return this.queues.reduce((n, q) => n + q.queued, 0);
  }

  append(draft: MessageDraft, options?: AppendOptions): Promise<Stored> {
    const windowMs = draft.clientId === null ? (options?.duplicateWindowMs ?? 0) : 0;
    return this.queues[laneOf(draft.conversationId, this.options.lanes)]!.push({ draft, windowMs });
  }

  /** Waits for every queued write to commit (for shutdown). */
  async drain(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.drain()));
  }

  private async writeBatch(lane: number, appends: Append[]): Promise<Settlement[]> {
    const telemetry = this.options.telemetry ?? NO_TELEMETRY;
    const started = performance.now();
    try {
      const settled = await this.insertDeduplicated(lane, appends);
      telemetry.writeBatch(appends.length, (performance.now() - started) / 1000, true);
      telemetry.messagesAcknowledged(settled.filter((s) => s.ok && s.value.created).length);
      return settled;
    } catch (error) {
      telemetry.writeBatch(appends.length, (performance.now() - started) / 1000, false);
      if (appends.length === 1) return [{ ok: false, error: asUnavailable(error) }];
      // Validation keeps bad rows out; should one still fail, its neighbours must not: each is retried alone.
      this.options.logger.error({ err: redacted(error), lane, size: appends.length }, 'message batch failed; retrying its rows one by one');
      const settled: Settlement[] = [];
      for (const append of appends) {
        try {
          settled.push(...(await this.insert(lane, [append])));
        } catch (rowError) {
          settled.push({ ok: false, error: asUnavailable(rowError) });
        }
      }
      return settled;
    }
  }

  /**
   * Guarded sends repeated within one batch cannot see each other in the
   * database (one statement, one snapshot): only the first goes to the
   * statement, the repeats take its outcome.
   */
  private async insertDeduplicated(lane: number, appends: Append[]): Promise<Settlement[]> {
    if (!appends.some((a) => a.windowMs > 0)) return this.insert(lane, appends);
    const firstOf = new Map<string, number>();
    const unique: Append[] = [];
    const slot = appends.map((a) => {
      if (a.windowMs === 0) return unique.push(a) - 1;
      const key = duplicateKey(a.draft);
      const seen = firstOf.get(key);
      if (seen !== undefined) return seen;
      firstOf.set(key, unique.length);
      return unique.push(a) - 1;
    });
    const settled = await this.insert(lane, unique);
    const told = new Set<number>();
    return slot.map((k) => {
      const first = settled[k]!;
      if (!told.has(k)) return (told.add(k), first);
      return first.ok && first.value.message ? { ok: true, value: { message: first.value.message, created: false } } : first;
    });
  }

  /** Throws only when the statement failed (then nothing of the batch was stored); after it committed, each draft is settled on its own. */
  private async insert(lane: number, appends: Append[]): Promise<Settlement[]> {
    const drafts = appends.map((a) => a.draft);
    const guarded = appends.some((a) => a.windowMs > 0);
    const announce = this.options.announce;
    const chunks = announce ? announce.encode(lane, drafts) : null;
    // Named, so each connection plans it once; times go as epoch milliseconds (cheaper to encode than Dates).
    const { rows } = await this.pool.query<Row>({
      name: `message-batch${guarded ? '-guarded' : ''}${this.heads ? '-heads' : ''}`,
      text: guarded ? this.guardedSql : this.sql,
      values: [
        drafts.map((d) => d.conversationId),
        drafts.map((d) => d.senderId),
        drafts.map((d) => d.content),
        drafts.map((d) => d.type),
        drafts.map((d) => (d.attachment ? JSON.stringify(d.attachment) : null)),
        drafts.map((d) => d.clientId),
        drafts.map((d) => d.createdAt.getTime()),
        announce?.channel ?? null,
        lane,
        chunks?.prefix ?? '',
        chunks?.chunkOfRow ?? drafts.map(() => 1),
        chunks?.rows ?? [],
        ...(guarded ? [appends.map((a) => a.windowMs)] : []),
      ],
    });
    const settled: Array<Settlement | null> = drafts.map((d, i) => {
      const row = rows[i]!;
      if (!row.referable) return { ok: false, error: new MissingReferenceError(d) };
      if (!row.created) return null;
      const message: Message = { ...d, id: Number(row.id), readAt: null, editedAt: null, updatedAt: d.createdAt };
      return { ok: true, value: { message, created: true } };
    });
    const previous = rows[0]?.prev_id;
    if (previous !== null && previous !== undefined && this.options.onCommitted) {
      let previousByConversation: Map<number, number> | null = null;
      if (this.heads) {
        previousByConversation = new Map();
        rows.forEach((r, i) => {
          if (r.head_prev_id != null) previousByConversation!.set(drafts[i]!.conversationId, Number(r.head_prev_id));
        });
      }
      this.options.onCommitted({
        lane,
        previousId: Number(previous),
        messages: settled.flatMap((s) => (s?.ok && s.value.created ? [s.value.message!] : [])),
        previousByConversation,
      });
    }
    if (settled.some((s) => s === null)) {
      try {
        await this.resolveRepeats(drafts, rows, settled);
      } catch (error) {
        for (const [i, s] of settled.entries()) if (s === null) settled[i] = { ok: false, error: asUnavailable(error) };
      }
    }
    return settled as Settlement[];
  }

  /**
   * The originals of repeated client ids are committed (earlier, or by this very statement), and so are
   * those of guarded repeats (by id): read them back.
   */
  private async resolveRepeats(drafts: MessageDraft[], rows: Row[], settled: Array<Settlement | null>): Promise<void> {
    const repeats = drafts.filter((d, i) => settled[i] === null && d.clientId !== null);
    const duplicates = rows.flatMap((r, i) => (settled[i] === null && r.original_id != null ? [r.original_id] : []));
    const { rows: originals } = await this.pool.query<Record<string, unknown>>(SELECT_ORIGINALS, [
      repeats.map((d) => d.senderId),
      repeats.map((d) => d.conversationId),
      repeats.map((d) => d.clientId),
      duplicates,
    ]);
    const byKey = new Map(
      originals.filter((r) => r.client_id !== null).map((r) => [`${String(r.sender_id)}:${String(r.conversation_id)}:${String(r.client_id)}`, r]),
    );
    const byId = new Map(originals.map((r) => [String(r.id), r]));
    drafts.forEach((d, i) => {
      if (settled[i] !== null) return;
      const duplicateOf = rows[i]!.original_id ?? null;
      const r = duplicateOf !== null ? byId.get(String(duplicateOf)) : byKey.get(`${d.senderId}:${d.conversationId}:${d.clientId}`);
      settled[i] = !r
        ? { ok: false, error: new Error('The original of a repeated message could not be read') }
        : { ok: true, value: r.deleted_at === null ? { message: originalOf(r), created: false } : { message: null, created: false } };
    });
  }
}

/** A draft whose conversation or sender no longer exists (deleted since the caller checked); it was not stored, its neighbours were. */
export class MissingReferenceError extends Error {
  constructor(draft: MessageDraft) {
    super(`conversation ${draft.conversationId} or sender ${draft.senderId} does not exist`);
  }
}

function originalOf(r: Record<string, unknown>): Message {
  const date = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));
  return {
    id: Number(r.id),
    conversationId: Number(r.conversation_id),
    senderId: Number(r.sender_id),
    senderUsername: String(r.sender_username),
    content: String(r.content),
    type: r.type as Message['type'],
    attachment: (r.attachment as Message['attachment']) ?? null,
    clientId: (r.client_id as string | null) ?? null,
    readAt: r.read_at === null ? null : date(r.read_at),
    editedAt: r.edited_at === null ? null : date(r.edited_at),
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
  };
}

/** A database error without anything a row carried (pg errors may quote values in `detail`). */
function redacted(error: unknown): object {
  const e = error as { code?: string; message?: string; constraint?: string; name?: string } | null;
  return { name: e?.name, code: e?.code, constraint: e?.constraint };
}
