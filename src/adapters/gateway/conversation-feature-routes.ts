import type { UseCases } from '../../application/use-cases.js';
import { messageId as messageIdParam, reactionParam, searchQuerySchema } from '../../application/schemas.js';
import { messageView } from '../../application/views.js';
import { messageVersionsSchema, reactionResultSchema, readStateSchema, searchResultsSchema } from '../../application/wire-schemas.js';
import { reply, route, type Route } from './rest-routes.js';

/** Search, reactions, read state and edit history (docs/API.md). */
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
  return [
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
