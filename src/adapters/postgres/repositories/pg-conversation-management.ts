import { QueryTypes, type Sequelize } from 'sequelize';
import type { ConversationChange, ConversationManagement, ManagedGroup } from '../../../application/ports/conversation-features.js';
import { num } from '../database.js';
import type { Row } from './message-row.js';

/**
 * Each change and its `conversation.updated` event (the pushed
 * `conversationUpdated`'s payload) in one statement: a rename, a soft
 * deletion (`deleted_at`, `deleted_by`) and a restore.
 */
export class PgConversationManagement implements ConversationManagement {
  constructor(private readonly sequelize: Sequelize) {}

  async findGroup(conversationId: number): Promise<ManagedGroup | null> {
    const [row] = await this.select('SELECT id, kind, created_by, deleted_at FROM conversations WHERE id = $1', [conversationId]);
    return row ? { id: num(row.id), kind: row.kind as 'group' | 'direct', createdBy: num(row.created_by), deleted: row.deleted_at !== null } : null;
  }

  rename(conversationId: number, title: string, by: number, at: Date): Promise<ConversationChange | null> {
    return this.change(`title = $title, updated_at = $at`, `kind = 'group' AND deleted_at IS NULL`, conversationId, by, at, title);
  }

  setDeleted(conversationId: number, deleted: boolean, by: number, at: Date): Promise<ConversationChange | null> {
    return deleted
      ? this.change(`deleted_at = $at, deleted_by = $by, updated_at = $at`, `kind = 'group' AND deleted_at IS NULL`, conversationId, by, at)
      : this.change(`deleted_at = NULL, deleted_by = NULL, updated_at = $at`, `kind = 'group' AND deleted_at IS NOT NULL`, conversationId, by, at);
  }

  async setArchived(conversationId: number, userId: number, archived: boolean, at: Date): Promise<boolean> {
    const rows = await this.select(
      `UPDATE conversation_participants SET archived_at = CASE WHEN $3::boolean THEN coalesce(archived_at, $4) END
       WHERE conversation_id = $1 AND user_id = $2 AND deleted_at IS NULL RETURNING user_id`,
      [conversationId, userId, archived, at],
    );
    return rows.length > 0;
  }

  private async change(set: string, where: string, conversationId: number, by: number, at: Date, title?: string): Promise<ConversationChange | null> {
    const [row] = await this.select(
      `WITH c AS (UPDATE conversations SET ${set} WHERE id = $id AND ${where} RETURNING id, title, deleted_at)
       SELECT c.id, c.title, c.deleted_at IS NOT NULL AS deleted,
         (SELECT coalesce(array_agg(p.user_id ORDER BY p.user_id), '{}') FROM conversation_participants p WHERE p.conversation_id = c.id AND p.deleted_at IS NULL) AS participant_ids,
         record_conversation_event(c.id, 'conversation.updated', jsonb_build_object('conversation_id', c.id, 'title', c.title,
           'deleted', c.deleted_at IS NOT NULL, 'updated_by', $by::int, 'updated_at', $atText::text)) AS event_id
       FROM c`,
      { id: conversationId, by, at, atText: at.toISOString(), ...(title === undefined ? {} : { title }) },
    );
    if (!row) return null;
    return {
      conversationId,
      title: (row.title as string | null) ?? null,
      deleted: row.deleted === true,
      participantIds: (row.participant_ids as number[]).map(Number),
      at,
    };
  }

  private select(sql: string, bind: unknown[] | Record<string, unknown>): Promise<Row[]> {
    return this.sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT });
  }
}
