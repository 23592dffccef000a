import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor, User } from '../../domain/user.js';
import type { Broadcaster } from '../ports/fanout.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { AuditEntry, ModerationRepository, NewAuditEntry, PeopleRepository, PublicProfile, QueuedReport, Report } from '../ports/people.js';
import type { Clock } from '../ports/services.js';
import type { SessionRepository } from '../ports/session-repository.js';
import type { UserRepository } from '../ports/user-repository.js';
import type { DeleteMessage } from '../use-cases/delete-message.js';
import type { AuditQueryInput, ReportQueueInput } from './people-schemas.js';

/** Messages shown on each side of a reported one. */
const CONTEXT = 2;

const reportNotFound = <T>(id: number): Result<T> => fail('REPORT_NOT_FOUND', `No open report ${id}`);
const userNotFound = <T>(id: number): Result<T> => fail('USER_NOT_FOUND', `User ${id} does not exist`);
const GONE: Omit<PublicProfile, 'id'> = { username: '', displayName: null, role: 'tenant', pictureUrl: null };

export interface Page<T> {
  readonly items: T[];
  readonly nextBefore: number | null;
}

/**
 * What staff do: work the report queue, deactivate and reactivate accounts,
 * and (superusers) grant or remove staff. The routes reach it only for staff
 * (everyone else gets 404); each change is stored with its audit entry.
 */
export class Moderation {
  constructor(
    private readonly moderation: ModerationRepository,
    private readonly people: PeopleRepository,
    private readonly users: UserRepository,
    private readonly messages: MessageRepository,
    private readonly sessions: SessionRepository,
    private readonly deleteMessage: DeleteMessage,
    private readonly broadcaster: Broadcaster,
    private readonly clock: Clock,
  ) {}

  async queue(input: ReportQueueInput): Promise<Page<QueuedReport>> {
    const reports = await this.moderation.queue({ status: input.status, beforeId: input.before ?? 2_147_483_647, limit: input.limit });
    const items = await Promise.all(reports.map((r) => this.withContext(r)));
    return { items, nextBefore: reports.length === input.limit ? (reports.at(-1)?.id ?? null) : null };
  }

  async dismiss(staff: Actor, reportId: number): Promise<Result<Report>> {
    const report = await this.openReport(reportId);
    if (!report) return reportNotFound(reportId);
    const done = await this.moderation.resolve(reportId, 'dismissed', this.entry(staff, 'report.dismissed', report.senderId, report), this.clock.now());
    return done ? this.reportNow(reportId) : reportNotFound(reportId);
  }

  /** Deletes the reported message (its participants get `messageDeleted`) and closes the report as actioned. */
  async removeMessage(staff: Actor, reportId: number): Promise<Result<Report>> {
    const report = await this.openReport(reportId);
    if (!report) return reportNotFound(reportId);
    const deleted = await this.deleteMessage.execute(staff, report.messageId);
    const audit = { ...this.entry(staff, 'message.deleted', report.senderId, report), details: { already_deleted: !deleted.ok } };
    const done = await this.moderation.resolve(reportId, 'actioned', audit, this.clock.now());
    return done ? this.reportNow(reportId) : reportNotFound(reportId);
  }

  /** The account stops working at once: its sessions end and its sockets close with 4001 on every process. */
  async deactivate(staff: User, userId: number): Promise<Result<{ id: number; is_active: boolean }>> {
    const target = await this.targetOf(staff, userId);
    if (!target.ok) return target;
    const now = this.clock.now();
    if (!(await this.moderation.setActive(userId, false, this.entry(staff, 'user.deactivated', userId, null), now))) return userNotFound(userId);
    await this.sessions.revokeAll(userId, now);
    await this.broadcaster.accessChanged({ userId, sessionId: null, change: 'deactivated' });
    return ok({ id: userId, is_active: false });
  }

  async reactivate(staff: User, userId: number): Promise<Result<{ id: number; is_active: boolean }>> {
    const target = await this.targetOf(staff, userId);
    if (!target.ok) return target;
    if (!(await this.moderation.setActive(userId, true, this.entry(staff, 'user.reactivated', userId, null), this.clock.now()))) return userNotFound(userId);
    await this.broadcaster.accessChanged({ userId, sessionId: null, change: 'changed' });
    return ok({ id: userId, is_active: true });
  }

  /** Superusers only. */
  async setStaff(staff: User, userId: number, isStaff: boolean): Promise<Result<{ id: number; is_staff: boolean }>> {
    if (!staff.isSuperuser) return fail('FORBIDDEN', 'Only superusers grant or remove staff');
    if (userId === staff.id) return fail('VALIDATION_FAILED', 'You cannot change your own staff status');
    const action = isStaff ? 'staff.granted' : 'staff.removed';
    if (!(await this.moderation.setStaff(userId, isStaff, this.entry(staff, action, userId, null), this.clock.now()))) return userNotFound(userId);
    await this.broadcaster.accessChanged({ userId, sessionId: null, change: 'changed' });
    return ok({ id: userId, is_staff: isStaff });
  }

  async audit(input: AuditQueryInput): Promise<Page<AuditEntry>> {
    const items = await this.moderation.audit({ beforeId: input.before ?? Number.MAX_SAFE_INTEGER, limit: input.limit });
    return { items, nextBefore: items.length === input.limit ? (items.at(-1)?.id ?? null) : null };
  }

  /** Staff act on other people, and only superusers on staff. */
  private async targetOf(staff: User, userId: number): Promise<Result<User>> {
    if (userId === staff.id) return fail('VALIDATION_FAILED', 'You cannot change your own account this way');
    const target = await this.users.findById(userId);
    if (!target) return userNotFound(userId);
    if ((target.isStaff || target.isSuperuser) && !staff.isSuperuser) return fail('FORBIDDEN', 'Only superusers act on staff accounts');
    return ok(target);
  }

  private async openReport(id: number): Promise<Report | null> {
    const report = await this.moderation.findReport(id);
    return report?.status === 'open' ? report : null;
  }

  private async reportNow(id: number): Promise<Result<Report>> {
    const report = await this.moderation.findReport(id);
    return report ? ok(report) : reportNotFound(id);
  }

  private entry(staff: Actor, action: NewAuditEntry['action'], targetUserId: number | null, report: Report | null): NewAuditEntry {
    return { actorId: staff.id, action, targetUserId, messageId: report?.messageId ?? null, reportId: report?.id ?? null, details: {} };
  }

  private async withContext(report: Report): Promise<QueuedReport> {
    const [reporter, sender, message, before, after] = await Promise.all([
      this.people.find(report.reporterId),
      this.people.find(report.senderId),
      this.messages.findById(report.messageId),
      this.messages.page(report.conversationId, { before: report.messageId, limit: CONTEXT }),
      this.messages.page(report.conversationId, { after: report.messageId, limit: CONTEXT }),
    ]);
    return {
      report,
      reporter: reporter ?? { id: report.reporterId, ...GONE },
      sender: sender ?? { id: report.senderId, ...GONE },
      message,
      context: [...before.messages, ...(message ? [message] : []), ...after.messages],
    };
  }
}
