import { QueryTypes, type Sequelize } from 'sequelize';
import type { MessageHistory, MessageVersion } from '../../../application/ports/conversation-features.js';
import { date } from '../database.js';
import type { Row } from './message-row.js';

/** Versions the edit statement wrote (SequelizeMessageRepository.edit), oldest first. */
export class PgMessageHistory implements MessageHistory {
  constructor(private readonly sequelize: Sequelize) {}

  async versions(messageId: number): Promise<MessageVersion[]> {
    const rows = await this.sequelize.query<Row>('SELECT content, created_at, replaced_at FROM message_versions WHERE message_id = $1 ORDER BY id', {
      bind: [messageId],
      type: QueryTypes.SELECT,
    });
    return rows.map((r) => ({ content: String(r.content), createdAt: date(r.created_at), replacedAt: date(r.replaced_at) }));
  }
}
