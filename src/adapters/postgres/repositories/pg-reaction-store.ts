import { QueryTypes, type Sequelize } from 'sequelize';
import type { ReactionStore, ReactOutcome } from '../../../application/ports/conversation-features.js';
import type { ReactionCount } from '../../../domain/reaction.js';
import { num } from '../database.js';
import type { Row } from './message-row.js';

/** Reactions through `message_react` (migration 20261204000300): the change, the cap and the stream event in one transaction. */
export class PgReactionStore implements ReactionStore {
  constructor(private readonly sequelize: Sequelize) {}

  async react(messageId: number, userId: number, emoji: string, adding: boolean, maxDistinct: number, at: Date): Promise<ReactOutcome> {
    const [row] = await this.sequelize.query<Row>('SELECT message_react($1, $2, $3, $4, $5, $6) AS r', {
      bind: [messageId, userId, emoji, adding, maxDistinct, at],
      type: QueryTypes.SELECT,
    });
    const r = row?.r as { limit?: boolean; conversation_id: number; reactions: ReactionCount[]; changed: boolean } | null;
    if (!r) return { kind: 'missing' };
    if (r.limit) return { kind: 'limit' };
    return { kind: 'done', change: { conversationId: r.conversation_id, messageId, reactions: r.reactions, changed: r.changed, at } };
  }

  async of(messageIds: readonly number[], userId: number): Promise<Map<number, Array<ReactionCount & { me: boolean }>>> {
    const result = new Map<number, Array<ReactionCount & { me: boolean }>>();
    if (messageIds.length === 0) return result;
    const rows = await this.sequelize.query<Row>(
      `SELECT message_id, emoji, count(*) AS n, bool_or(user_id = $2) AS me, min(created_at) AS first_at
       FROM message_reactions WHERE message_id = ANY($1::bigint[]) GROUP BY message_id, emoji ORDER BY message_id, first_at, emoji`,
      { bind: [messageIds, userId], type: QueryTypes.SELECT },
    );
    for (const r of rows) {
      const id = num(r.message_id);
      const list = result.get(id) ?? [];
      list.push({ emoji: String(r.emoji), count: num(r.n), me: r.me === true });
      result.set(id, list);
    }
    return result;
  }
}
