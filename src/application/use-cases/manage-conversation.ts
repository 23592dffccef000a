import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import { conversationNotFound } from '../access.js';
import type { ConversationChange, ConversationManagement, ManagedGroup } from '../ports/conversation-features.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { Clock } from '../ports/services.js';

export interface ConversationState {
  readonly conversation_id: number;
  readonly title: string | null;
  readonly deleted: boolean;
}

const stateOf = (c: ConversationChange): ConversationState => ({ conversation_id: c.conversationId, title: c.title, deleted: c.deleted });

/**
 * Renaming and deleting a group (its creator or staff), restoring one (staff),
 * archiving for oneself (any participant). Participants see
 * `conversationUpdated`; a deleted group's participants then stop receiving it
 * and every process forgets it.
 */
export class ManageConversation {
  constructor(
    private readonly conversations: ConversationRepository,
    private readonly management: ConversationManagement,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async rename(actor: Actor, conversationId: number, title: string): Promise<Result<ConversationState>> {
    const group = await this.managed(actor, conversationId);
    if (!group.ok) return group;
    const change = await this.management.rename(conversationId, title, actor.id, this.clock.now());
    if (!change) return conversationNotFound(conversationId);
    // Every process's cached copy of the conversation is dropped (the membership itself is unchanged).
    await this.broadcaster.membershipChanged([{ conversationId, userId: actor.id, added: true }]);
    await this.announce(change, actor.id);
    return ok(stateOf(change));
  }

  async remove(actor: Actor, conversationId: number): Promise<Result<ConversationState>> {
    const group = await this.managed(actor, conversationId);
    if (!group.ok) return group;
    const change = await this.management.setDeleted(conversationId, true, actor.id, this.clock.now());
    if (!change) return conversationNotFound(conversationId);
    // Told while they still follow it; then every process forgets it.
    await this.announce(change, actor.id);
    await this.broadcaster.membershipChanged(change.participantIds.map((userId) => ({ conversationId, userId, added: false })));
    return ok(stateOf(change));
  }

  async restore(actor: Actor, conversationId: number): Promise<Result<ConversationState>> {
    if (!actor.isStaff) return fail('FORBIDDEN', 'Only staff restore a deleted group');
    const group = await this.management.findGroup(conversationId);
    if (!group || group.kind !== 'group' || !group.deleted) return conversationNotFound(conversationId);
    const change = await this.management.setDeleted(conversationId, false, actor.id, this.clock.now());
    if (!change) return conversationNotFound(conversationId);
    await this.broadcaster.membershipChanged(change.participantIds.map((userId) => ({ conversationId, userId, added: true })));
    await this.announce(change, actor.id);
    return ok(stateOf(change));
  }

  async archive(actor: Actor, conversationId: number, archived: boolean): Promise<Result<{ conversation_id: number; archived: boolean }>> {
    if (!(await this.management.setArchived(conversationId, actor.id, archived, this.clock.now()))) return conversationNotFound(conversationId);
    return ok({ conversation_id: conversationId, archived });
  }

  /** A live group the actor may manage: its creator, or staff; others who take part are refused, anyone else learns nothing. */
  private async managed(actor: Actor, conversationId: number): Promise<Result<ManagedGroup>> {
    const group = await this.management.findGroup(conversationId);
    if (!group || group.deleted) return conversationNotFound(conversationId);
    if (!actor.isStaff && !(await this.conversations.isParticipant(conversationId, actor.id))) return conversationNotFound(conversationId);
    if (group.kind !== 'group') return fail('NOT_A_GROUP', 'Direct conversations have no title and are not deleted');
    if (group.createdBy !== actor.id && !actor.isStaff) return fail('FORBIDDEN', 'Only the group’s creator or staff do this');
    return ok(group);
  }

  private announce(c: ConversationChange, by: number): Promise<void> {
    return this.broadcaster.toConversation(c.conversationId, 'conversationUpdated', {
      conversation_id: c.conversationId,
      title: c.title,
      deleted: c.deleted,
      updated_by: by,
      updated_at: c.at.toISOString(),
    });
  }
}
