import { z } from 'zod';
import type { Result } from '../../domain/result.js';
import { messageId as messageIdParam } from '../../application/schemas.js';
import { messageView, userView } from '../../application/views.js';
import { messageViewSchema, publicProfileSchema, userViewSchema } from '../../application/wire-schemas.js';
import { AUDIT_ACTIONS, REPORT_STATUSES, type AuditEntry, type PublicProfile, type QueuedReport, type Report } from '../../application/ports/people.js';
import type { PresentProfile } from '../../application/people/directory.js';
import type { People } from '../../application/people/people.js';
import {
  auditQuerySchema,
  directoryQuerySchema,
  reportQueueSchema,
  reportSchema,
  updateProfileSchema,
  type AuditQueryInput,
  type DirectoryQueryInput,
  type ReportQueueInput,
  type UpdateProfileInput,
} from '../../application/people/people-schemas.js';
import { errorReply, type HttpReply } from './http.js';
import type { Route } from './rest-routes.js';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

const profileView = (p: PublicProfile) => ({ id: p.id, username: p.username, display_name: p.displayName, role: p.role, picture_url: p.pictureUrl });
const presentView = (p: PresentProfile) => ({ ...profileView(p), online: p.online, last_seen_at: iso(p.lastSeenAt) });

const reportView = (r: Report) => ({
  id: r.id,
  message_id: r.messageId,
  conversation_id: r.conversationId,
  sender_id: r.senderId,
  reporter_id: r.reporterId,
  reason: r.reason,
  status: r.status,
  created_at: r.createdAt.toISOString(),
  resolved_by: r.resolvedBy,
  resolved_at: iso(r.resolvedAt),
});

const queuedView = (q: QueuedReport) => ({
  ...reportView(q.report),
  reported_content: q.report.content,
  reporter: profileView(q.reporter),
  sender: profileView(q.sender),
  message: q.message ? messageView(q.message) : null,
  context: q.context.map(messageView),
});

const auditView = (a: AuditEntry) => ({
  id: a.id,
  actor_id: a.actorId,
  action: a.action,
  target_user_id: a.targetUserId,
  message_id: a.messageId,
  report_id: a.reportId,
  details: a.details,
  created_at: a.createdAt.toISOString(),
});

const int = z.number().int();
const profileSchema = publicProfileSchema.omit({ online: true, last_seen_at: true });
const directoryPageSchema = z.object({ users: z.array(publicProfileSchema), next_after: int.nullable().describe('Pass as `after` for the next page') });
const blockSchema = z.object({ user_id: int, blocked: z.boolean() });
const blockListSchema = z.object({ blocks: z.array(z.object({ user: profileSchema, blocked_at: z.string() })) });
const reportViewSchema = z
  .object({
    id: int,
    message_id: int,
    conversation_id: int,
    sender_id: int,
    reporter_id: int,
    reason: z.string(),
    status: z.enum(REPORT_STATUSES),
    created_at: z.string(),
    resolved_by: int.nullable(),
    resolved_at: z.string().nullable(),
  })
  .meta({ id: 'Report' });
const queuedSchema = reportViewSchema.extend({
  reported_content: z.string().describe('The content when it was reported'),
  reporter: profileSchema,
  sender: profileSchema,
  message: messageViewSchema.nullable().describe('The message as it is now; null once deleted'),
  context: z.array(messageViewSchema).describe('Up to two messages before it, the message, up to two after'),
});
const queueSchema = z.object({ reports: z.array(queuedSchema), next_before: int.nullable() });
const auditSchema = z.object({
  entries: z.array(
    z.object({
      id: int,
      actor_id: int,
      action: z.enum(AUDIT_ACTIONS),
      target_user_id: int.nullable(),
      message_id: int.nullable(),
      report_id: int.nullable(),
      details: z.record(z.string(), z.unknown()),
      created_at: z.string(),
    }),
  ),
  next_before: int.nullable(),
});
const activeSchema = z.object({ id: int, is_active: z.boolean() });
const staffSchema = z.object({ id: int, is_staff: z.boolean() });

const reply = <T>(result: Result<T>, status: number, view: (value: T) => unknown): HttpReply =>
  result.ok ? { status, body: view(result.value) } : errorReply(result.error);

/** Directory, profiles, blocks, reports and the staff's moderation routes (docs/API.md, "People"). */
export function peopleRoutes(p: People): Route[] {
  const routes: Array<Route<z.ZodType, z.ZodType>> = [
    {
      method: 'GET',
      pattern: '/users',
      auth: true,
      limit: 'directory',
      summary: 'Find people by a prefix of their username or display name (who can be found: DIRECTORY)',
      description: 'Ordered by id; pass `next_after` back as `after` for the next page. People who block the caller are left out.',
      query: directoryQuerySchema,
      replies: { 200: directoryPageSchema },
      refusals: ['QUERY_TOO_SHORT', 'FORBIDDEN'],
      handle: async (c, i) =>
        reply(await p.directory.search(c.actor, i.query as DirectoryQueryInput), 200, (page) => ({
          users: page.users.map(presentView),
          next_after: page.nextAfter,
        })),
    },
    {
      method: 'GET',
      pattern: '/users/me/blocks',
      auth: true,
      summary: 'The people the caller blocks, latest first',
      replies: { 200: blockListSchema },
      handle: async (c) => ({
        status: 200,
        body: { blocks: (await p.blocks.list(c.actor)).map((b) => ({ user: profileView(b.profile), blocked_at: b.blockedAt.toISOString() })) },
      }),
    },
    {
      method: 'PATCH',
      pattern: '/users/me',
      auth: true,
      summary: 'Change the caller’s display name, phone number or picture; participants get `profileUpdated`',
      body: updateProfileSchema,
      replies: { 200: userViewSchema },
      handle: async (c, i) => reply(await p.updateProfile.execute(c.actor, i.body as UpdateProfileInput), 200, userView),
    },
    {
      method: 'GET',
      pattern: '/users/:id',
      auth: true,
      summary: 'A public profile (under DIRECTORY=shared or off: people who share a conversation with the caller)',
      replies: { 200: publicProfileSchema },
      refusals: ['USER_NOT_FOUND'],
      handle: async (c) => reply(await p.directory.profile(c.actor, c.param(0)), 200, presentView),
    },
    {
      method: 'POST',
      pattern: '/users/:id/block',
      auth: true,
      summary: 'Block a user: no direct conversation, messages or typing between the two (groups unaffected)',
      replies: { 200: blockSchema },
      refusals: ['CANNOT_BLOCK_SELF', 'USER_NOT_FOUND', 'ALREADY_BLOCKED'],
      handle: async (c) => reply(await p.blocks.block(c.actor, c.param(0)), 200, (v) => v),
    },
    {
      method: 'DELETE',
      pattern: '/users/:id/block',
      auth: true,
      summary: 'Unblock a user',
      replies: { 200: blockSchema },
      refusals: ['NOT_BLOCKED'],
      handle: async (c) => reply(await p.blocks.unblock(c.actor, c.param(0)), 200, (v) => v),
    },
    {
      method: 'POST',
      pattern: '/messages/:id/report',
      auth: true,
      limit: 'report',
      summary: 'Report someone else’s message to staff (participants only, once per message)',
      params: [messageIdParam],
      body: reportSchema,
      replies: { 201: reportViewSchema },
      refusals: ['MESSAGE_NOT_FOUND', 'ALREADY_REPORTED'],
      handle: async (c, i) => reply(await p.reportMessage.execute(c.actor, c.param(0), (i.body as { reason: string }).reason), 201, reportView),
    },
    {
      method: 'GET',
      pattern: '/admin/reports',
      auth: true,
      staff: true,
      summary: 'Staff: reported messages with their context, newest first',
      query: reportQueueSchema,
      replies: { 200: queueSchema },
      handle: async (c, i) => {
        const page = await p.moderation.queue(i.query as ReportQueueInput);
        return { status: 200, body: { reports: page.items.map(queuedView), next_before: page.nextBefore } };
      },
    },
    {
      method: 'POST',
      pattern: '/admin/reports/:id/dismiss',
      auth: true,
      staff: true,
      summary: 'Staff: close a report without action',
      replies: { 200: reportViewSchema },
      refusals: ['REPORT_NOT_FOUND'],
      handle: async (c) => reply(await p.moderation.dismiss(c.actor, c.param(0)), 200, reportView),
    },
    {
      method: 'POST',
      pattern: '/admin/reports/:id/delete-message',
      auth: true,
      staff: true,
      summary: 'Staff: delete the reported message and close the report',
      replies: { 200: reportViewSchema },
      refusals: ['REPORT_NOT_FOUND'],
      handle: async (c) => reply(await p.moderation.removeMessage(c.actor, c.param(0)), 200, reportView),
    },
    {
      method: 'POST',
      pattern: '/admin/users/:id/deactivate',
      auth: true,
      staff: true,
      summary: 'Staff: deactivate an account; its sessions end and its sockets close with 4001 on every process',
      replies: { 200: activeSchema },
      refusals: ['USER_NOT_FOUND', 'FORBIDDEN'],
      handle: async (c) => reply(await p.moderation.deactivate(c.user!, c.param(0)), 200, (v) => v),
    },
    {
      method: 'POST',
      pattern: '/admin/users/:id/reactivate',
      auth: true,
      staff: true,
      summary: 'Staff: reactivate an account (its owner signs in again)',
      replies: { 200: activeSchema },
      refusals: ['USER_NOT_FOUND', 'FORBIDDEN'],
      handle: async (c) => reply(await p.moderation.reactivate(c.user!, c.param(0)), 200, (v) => v),
    },
    {
      method: 'PUT',
      pattern: '/admin/users/:id/staff',
      auth: true,
      staff: true,
      summary: 'Superusers: make a user staff',
      replies: { 200: staffSchema },
      refusals: ['USER_NOT_FOUND', 'FORBIDDEN'],
      handle: async (c) => reply(await p.moderation.setStaff(c.user!, c.param(0), true), 200, (v) => v),
    },
    {
      method: 'DELETE',
      pattern: '/admin/users/:id/staff',
      auth: true,
      staff: true,
      summary: 'Superusers: remove a user’s staff status',
      replies: { 200: staffSchema },
      refusals: ['USER_NOT_FOUND', 'FORBIDDEN'],
      handle: async (c) => reply(await p.moderation.setStaff(c.user!, c.param(0), false), 200, (v) => v),
    },
    {
      method: 'GET',
      pattern: '/admin/audit',
      auth: true,
      staff: true,
      summary: 'Staff: the append-only log of staff actions, newest first',
      query: auditQuerySchema,
      replies: { 200: auditSchema },
      handle: async (c, i) => {
        const page = await p.moderation.audit(i.query as AuditQueryInput);
        return { status: 200, body: { entries: page.items.map(auditView), next_before: page.nextBefore } };
      },
    },
  ];
  return routes as Route[];
}
