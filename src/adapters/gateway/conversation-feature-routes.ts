import type { UseCases } from '../../application/use-cases.js';
import { messageId as messageIdParam, reactionParam, renameSchema, searchQuerySchema } from '../../application/schemas.js';
import { messageView } from '../../application/views.js';
import {
  archivedSchema,
  conversationStateSchema,
  messageVersionsSchema,
  reactionResultSchema,
  readStateSchema,
  searchResultsSchema,
} from '../../application/wire-schemas.js';
import { reply, route, type Route } from './rest-routes.js';

/** Search, reactions, read state, edit history and managing groups (docs/API.md). */
export function conversationFeatureRoutes(u: UseCases): Route[] {
  const react = (adding: boolean) =>
    route({
      method: adding ? 'PUT' : 'DELETE',
      pattern: '/messages/:id/reactions/:emoji',
      auth: true,
      summary: adding ? 'Add the caller’s emoji reaction to a message' : 'Remove the caller’s emoji reaction from a message',
      description: adding
        ? 'One emoji (URL-encoded); adding one the caller already gave changes nothing. Participants get `reactionUpdated`.'
        : 'Removing one the caller did not give changes nothing.',
      params: [messageIdParam, reactionParam],
      replies: { 200: reactionResultSchema },
      refusals: adding ? ['MESSAGE_NOT_FOUND', 'REACTION_LIMIT_REACHED'] : ['MESSAGE_NOT_FOUND'],
      handle: async (c) =>
        reply(await u.reactToMessage.execute(c.actor, c.param(0), c.paramAs<string>(1), adding), 200, (v) => ({
          message_id: v.messageId,
          reactions: v.reactions.map(({ emoji, count }) => ({ emoji, count })),
        })),
    });
  const archive = (archived: boolean) =>
    route({
      method: archived ? 'PUT' : 'DELETE',
      pattern: '/conversations/:id/archive',
      auth: true,
      summary: archived
        ? 'Archive the conversation for the caller: it leaves their default list (GET /conversations?archived=true lists it)'
        : 'Bring an archived conversation back to the caller’s default list',
      replies: { 200: archivedSchema },
      refusals: ['CONVERSATION_NOT_FOUND'],
      handle: async (c) => reply(await u.manageConversation.archive(c.actor, c.param(0), archived), 200, (v) => v),
    });
  return [
    route({
      method: 'PATCH',
      pattern: '/conversations/:id',
      auth: true,
      summary: 'Rename a group (its creator or staff); participants get `conversationUpdated`',
      body: renameSchema,
      replies: { 200: conversationStateSchema },
      refusals: ['CONVERSATION_NOT_FOUND', 'NOT_A_GROUP', 'FORBIDDEN'],
      handle: async (c, i) => reply(await u.manageConversation.rename(c.actor, c.param(0), i.body.title), 200, (v) => v),
    }),
    route({
      method: 'DELETE',
      pattern: '/conversations/:id',
      auth: true,
      summary: 'Delete a group, softly (its creator or staff); participants get `conversationUpdated` and then stop receiving it',
      replies: { 200: conversationStateSchema },
      refusals: ['CONVERSATION_NOT_FOUND', 'NOT_A_GROUP', 'FORBIDDEN'],
      handle: async (c) => reply(await u.manageConversation.remove(c.actor, c.param(0)), 200, (v) => v),
    }),
    route({
      method: 'POST',
      pattern: '/conversations/:id/restore',
      auth: true,
      summary: 'Restore a deleted group (staff)',
      replies: { 200: conversationStateSchema },
      refusals: ['CONVERSATION_NOT_FOUND', 'FORBIDDEN'],
      handle: async (c) => reply(await u.manageConversation.restore(c.actor, c.param(0)), 200, (v) => v),
    }),
    archive(true),
    archive(false),
    route({
      method: 'GET',
      pattern: '/search/messages',
      auth: true,
      limit: 'search',
      summary: 'Search the messages of the caller’s conversations (or one of them), best match first',
      description:
        'Full-text search (PostgreSQL, language-neutral): words, "quoted phrases", `or`, `-excluded`; any text is accepted as words. Deleted messages are never found. Pass `next_cursor` back as `cursor` for the next page.',
      query: searchQuerySchema,
      replies: { 200: searchResultsSchema },
      refusals: ['QUERY_TOO_SHORT', 'CONVERSATION_NOT_FOUND'],
      handle: async (c, i) =>
        reply(await u.searchMessages.execute(c.actor, i.query), 200, (r) => ({
          results: r.page.hits.map((h) => ({ message: messageView(h.message), snippet: h.snippet, rank: h.rank })),
          next_cursor: r.nextCursor,
        })),
    }),
    react(true),
    react(false),
    route({
      method: 'GET',
      pattern: '/conversations/:id/read-state',
      auth: true,
      summary: 'How far each participant has read: their last read message',
      replies: { 200: readStateSchema },
      refusals: ['CONVERSATION_NOT_FOUND'],
      handle: async (c) =>
        reply(await u.getReadState.execute(c.actor, c.param(0)), 200, (states) => ({
          conversation_id: c.param(0),
          participants: states.map((s) => ({ user_id: s.userId, username: s.username, last_read_message_id: s.lastReadMessageId })),
        })),
    }),
    route({
      method: 'GET',
      pattern: '/messages/:id/versions',
      auth: true,
      summary: 'The prior versions of an edited message',
      params: [messageIdParam],
      replies: { 200: messageVersionsSchema },
      refusals: ['MESSAGE_NOT_FOUND'],
      handle: async (c) =>
        reply(await u.getMessageVersions.execute(c.actor, c.param(0)), 200, (versions) => ({
          message_id: c.param(0),
          versions: versions.map((v) => ({ content: v.content, created_at: v.createdAt.toISOString(), replaced_at: v.replacedAt.toISOString() })),
        })),
    }),
  ];
}
