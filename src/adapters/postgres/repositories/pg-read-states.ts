import { QueryTypes, type Sequelize } from 'sequelize';
import type { ParticipantReadState, ReadStates } from '../../../application/ports/conversation-features.js';
import { num } from '../database.js';
import type { Row } from './message-row.js';

/** Each current participant's read marker (conversation_participants.last_read_message_id). */
export class PgReadStates implements ReadStates {
  constructor(private readonly sequelize: Sequelize) {}

  async ofConversation(conversationId: number): Promise<ParticipantReadState[]> {
    const rows = await this.sequelize.query<Row>(
      `SELECT p.user_id, u.username, p.last_read_message_id FROM conversation_participants p JOIN users u ON u.id = p.user_id
       WHERE p.conversation_id = $1 AND p.deleted_at IS NULL ORDER BY p.user_id`,
      { bind: [conversationId], type: QueryTypes.SELECT },
    );
    return rows.map((r) => ({
      userId: num(r.user_id),
      username: String(r.username),
      lastReadMessageId: r.last_read_message_id === null ? null : num(r.last_read_message_id),
    }));
  }
}
