import type { Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { RemoveParticipant } from './remove-participant.js';

/** Leaving is removing oneself; only groups can be left. */
export class LeaveConversation {
  constructor(private readonly removeParticipant: RemoveParticipant) {}

  execute(actor: Actor, conversationId: number): Promise<Result<{ conversation_id: number; user_id: number }>> {
    return this.removeParticipant.execute(actor, conversationId, actor.id);
  }
}
