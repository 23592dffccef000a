import type pg from 'pg';
import type { Upload } from '../../../domain/upload.js';
import type { NewUpload, UploadFacts, UploadRepository } from '../../../application/ports/uploads.js';

/** Per-user advisory locks (namespace, user id): one upload created at a time per user, so the daily quota holds. */
const QUOTA_LOCK = 727_021;

type Row = Record<string, unknown>;

const uploadOf = (r: Row): Upload => ({
  id: String(r.id),
  ownerId: Number(r.owner_id),
  name: String(r.name),
  declaredMime: String(r.declared_mime),
  mime: r.mime === null ? null : String(r.mime),
  size: Number(r.size),
  state: r.state === 'complete' ? 'complete' : 'pending',
  width: r.width === null ? null : Number(r.width),
  height: r.height === null ? null : Number(r.height),
  hasThumbnail: r.has_thumbnail === true,
  conversationId: r.conversation_id === null ? null : Number(r.conversation_id),
  messageId: r.message_id === null ? null : Number(r.message_id),
  createdAt: r.created_at as Date,
});

/** Uploads in `uploads` (migration 20261204000000). */
export class PgUploadRepository implements UploadRepository {
  constructor(private readonly pool: pg.Pool) {}

  async create(u: NewUpload, quotaBytes: number): Promise<boolean> {
    const insert = `INSERT INTO uploads (id, owner_id, name, declared_mime, size, created_at) VALUES ($1, $2, $3, $4, $5, $6)`;
    const values = [u.id, u.ownerId, u.name, u.declaredMime, u.size, u.createdAt];
    if (quotaBytes <= 0) {
      await this.pool.query(insert, values);
      return true;
    }
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [QUOTA_LOCK, u.ownerId]);
      const { rows } = await client.query<{ used: string }>(
        `SELECT coalesce(sum(size), 0) AS used FROM uploads WHERE owner_id = $1 AND created_at > $2::timestamptz - interval '24 hours'`,
        [u.ownerId, u.createdAt],
      );
      if (Number(rows[0]?.used ?? 0) + u.size > quotaBytes) {
        await client.query('ROLLBACK');
        return false;
      }
      await client.query(insert, values);
      await client.query('COMMIT');
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async find(id: string): Promise<Upload | null> {
    const { rows } = await this.pool.query('SELECT * FROM uploads WHERE id = $1', [id]);
    return rows[0] ? uploadOf(rows[0] as Row) : null;
  }

  async complete(id: string, f: UploadFacts): Promise<void> {
    await this.pool.query(
      `UPDATE uploads SET state = 'complete', mime = $2, size = $3, width = $4, height = $5, has_thumbnail = $6 WHERE id = $1 AND state = 'pending'`,
      [id, f.mime, f.size, f.width, f.height, f.hasThumbnail],
    );
  }

  async claim(id: string, ownerId: number, conversationId: number): Promise<Upload | null> {
    const { rows } = await this.pool.query(
      `UPDATE uploads SET conversation_id = $3 WHERE id = $1 AND owner_id = $2 AND state = 'complete' AND conversation_id IS NULL RETURNING *`,
      [id, ownerId, conversationId],
    );
    return rows[0] ? uploadOf(rows[0] as Row) : null;
  }

  async attach(id: string, messageId: number): Promise<void> {
    await this.pool.query('UPDATE uploads SET message_id = $2 WHERE id = $1', [id, messageId]);
  }

  async release(id: string): Promise<void> {
    await this.pool.query('UPDATE uploads SET conversation_id = NULL WHERE id = $1 AND message_id IS NULL', [id]);
  }

  async unattached(before: Date, limit: number): Promise<Upload[]> {
    const { rows } = await this.pool.query('SELECT * FROM uploads WHERE conversation_id IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2', [
      before,
      limit,
    ]);
    return rows.map((r) => uploadOf(r as Row));
  }

  async remove(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<{ id: string }>('DELETE FROM uploads WHERE id = ANY($1::uuid[]) AND conversation_id IS NULL RETURNING id', [ids]);
    return rows.map((r) => r.id);
  }
}
