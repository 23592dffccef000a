import { ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationNotFound } from '../access.js';
import type { PushStore } from '../ports/push.js';

/** Mutes (or unmutes) a conversation for the caller: a muted conversation never pushes to them. */
export class MuteConversation {
  constructor(private readonly store: PushStore) {}

  async execute(actor: Actor, conversationId: number, muted: boolean): Promise<Result<{ conversation_id: number; muted: boolean }>> {
    // Only a participant's row changes: anyone else learns nothing about the conversation.
    if (!(await this.store.setMuted(conversationId, actor.id, muted))) return conversationNotFound(conversationId);
    return ok({ conversation_id: conversationId, muted });
  }
}
