import type pg from 'pg';
import type { PushStore, PushSubscription, Recipient } from '../../../application/ports/push.js';

/** Per-user advisory locks (namespace, user id): one registration at a time per user, so the cap holds. */
const SUBSCRIBE_LOCK = 727_006;

type Row = Record<string, unknown>;

const subscriptionOf = (r: Row): PushSubscription => ({
  endpoint: String(r.endpoint),
  p256dh: String(r.p256dh),
  auth: String(r.auth),
  expirationTime: r.expiration_time ? (r.expiration_time as Date).getTime() : null,
});

/** Subscriptions in `push_subscriptions`, mutes on `conversation_participants` (migration 20261203200200). */
export class PgPushStore implements PushStore {
  constructor(private readonly pool: pg.Pool) {}

  async subscribe(userId: number, sessionId: string | null, s: PushSubscription, max: number): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [SUBSCRIBE_LOCK, userId]);
      await client.query(
        `INSERT INTO push_subscriptions (user_id, session_id, endpoint, p256dh, auth, expiration_time)
         VALUES ($1, $6, $2, $3, $4, to_timestamp($5::double precision / 1000))
         ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, session_id = excluded.session_id, p256dh = excluded.p256dh,
           auth = excluded.auth, expiration_time = excluded.expiration_time, updated_at = now()`,
        [userId, s.endpoint, s.p256dh, s.auth, s.expirationTime, sessionId],
      );
      // The newest `max` stay: a renewed registration counts as new.
      await client.query(
        `DELETE FROM push_subscriptions WHERE id IN (
           SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY updated_at DESC, id DESC OFFSET $2)`,
        [userId, max],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async unsubscribe(userId: number, endpoint: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2', [userId, endpoint]);
    return (rowCount ?? 0) > 0;
  }

  async forget(endpoint: string): Promise<void> {
    await this.pool.query('DELETE FROM push_subscriptions WHERE endpoint = $1', [endpoint]);
  }

  async setMuted(conversationId: number, userId: number, muted: boolean): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE conversation_participants SET muted = $3 WHERE conversation_id = $1 AND user_id = $2 AND deleted_at IS NULL',
      [conversationId, userId, muted],
    );
    return (rowCount ?? 0) > 0;
  }

  async recipients(conversationIds: readonly number[]): Promise<Map<number, Recipient[]>> {
    const { rows } = await this.pool.query<Row>(
      `SELECT p.conversation_id, p.user_id, p.muted, EXISTS (SELECT 1 FROM push_subscriptions s WHERE s.user_id = p.user_id) AS subscribed
       FROM conversation_participants p JOIN users u ON u.id = p.user_id
       WHERE p.conversation_id = ANY($1::int[]) AND p.deleted_at IS NULL AND u.is_active`,
      [conversationIds],
    );
    const out = new Map<number, Recipient[]>();
    for (const r of rows) {
      const id = Number(r.conversation_id);
      const list = out.get(id) ?? [];
      list.push({ userId: Number(r.user_id), muted: Boolean(r.muted), subscribed: Boolean(r.subscribed) });
      out.set(id, list);
    }
    return out;
  }

  async deliverable(userId: number, conversationId: number): Promise<PushSubscription[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT s.endpoint, s.p256dh, s.auth, s.expiration_time FROM push_subscriptions s
       WHERE s.user_id = $1 AND (s.expiration_time IS NULL OR s.expiration_time > now())
         -- Only while the session that registered it lasts: a revoked device (or every device, after a new password) gets nothing.
         AND (s.session_id IS NULL OR EXISTS (SELECT 1 FROM sessions x WHERE x.id = s.session_id AND x.revoked_at IS NULL AND x.expires_at > now()))
         AND EXISTS (SELECT 1 FROM conversation_participants p
                     WHERE p.conversation_id = $2 AND p.user_id = $1 AND p.deleted_at IS NULL AND NOT p.muted)
       ORDER BY s.id`,
      [userId, conversationId],
    );
    return rows.map(subscriptionOf);
  }
}
