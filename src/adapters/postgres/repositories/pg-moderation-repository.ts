import type pg from 'pg';
import type { AuditAction, AuditEntry, ModerationRepository, NewAuditEntry, NewReport, Report, ReportStatus } from '../../../application/ports/people.js';
import { date, dateOrNull, num } from '../database.js';

type Row = Record<string, unknown>;

const REPORT_COLUMNS = 'id, message_id, conversation_id, sender_id, content, reporter_id, reason, status, resolved_by, resolved_at, created_at';

const toReport = (r: Row): Report => ({
  id: num(r.id),
  messageId: num(r.message_id),
  conversationId: num(r.conversation_id),
  senderId: num(r.sender_id),
  content: String(r.content),
  reporterId: num(r.reporter_id),
  reason: String(r.reason),
  status: r.status as ReportStatus,
  resolvedBy: r.resolved_by === null ? null : num(r.resolved_by),
  resolvedAt: dateOrNull(r.resolved_at),
  createdAt: date(r.created_at),
});

const toAudit = (r: Row): AuditEntry => ({
  id: num(r.id),
  actorId: num(r.actor_id),
  action: r.action as AuditAction,
  targetUserId: r.target_user_id === null ? null : num(r.target_user_id),
  messageId: r.message_id === null ? null : num(r.message_id),
  reportId: r.report_id === null ? null : num(r.report_id),
  details: (r.details as Record<string, unknown> | null) ?? {},
  createdAt: date(r.created_at),
});

/** The audit entry, written by the same statement as the change it records (a change that touched nothing writes none). */
const AUDITED = (change: string) => `
  WITH changed AS (${change})
  INSERT INTO audit_log (actor_id, action, target_user_id, message_id, report_id, details, created_at)
  SELECT $1, $2, $3, $4, $5, $6::jsonb, $7 FROM changed RETURNING id`;

const auditValues = (a: NewAuditEntry, now: Date): unknown[] => [a.actorId, a.action, a.targetUserId, a.messageId, a.reportId, JSON.stringify(a.details), now];

/** Reports and staff actions on PostgreSQL; audit_log refuses UPDATE and DELETE (its trigger). */
export class PgModerationRepository implements ModerationRepository {
  constructor(private readonly pool: pg.Pool) {}

  async report(r: NewReport, now: Date): Promise<Report | null> {
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO message_reports (message_id, conversation_id, sender_id, content, reporter_id, reason, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id, reporter_id) DO NOTHING RETURNING ${REPORT_COLUMNS}`,
      [r.message.id, r.message.conversationId, r.message.senderId, r.message.content, r.reporterId, r.reason, now],
    );
    return rows[0] ? toReport(rows[0]) : null;
  }

  async findReport(id: number): Promise<Report | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${REPORT_COLUMNS} FROM message_reports WHERE id = $1`, [id]);
    return rows[0] ? toReport(rows[0]) : null;
  }

  async queue(q: { status: ReportStatus; beforeId: number; limit: number }): Promise<Report[]> {
    const { rows } = await this.pool.query<Row>(`SELECT ${REPORT_COLUMNS} FROM message_reports WHERE status = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, [
      q.status,
      q.beforeId,
      q.limit,
    ]);
    return rows.map(toReport);
  }

  async resolve(reportId: number, status: Exclude<ReportStatus, 'open'>, audit: NewAuditEntry, now: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      AUDITED(`UPDATE message_reports SET status = $9, resolved_by = $1, resolved_at = $7 WHERE id = $8 AND status = 'open' RETURNING id`),
      [...auditValues(audit, now), reportId, status],
    );
    return rowCount === 1;
  }

  async setActive(userId: number, active: boolean, audit: NewAuditEntry, now: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query(AUDITED(`UPDATE users SET is_active = $9, updated_at = $7 WHERE id = $8 AND deleted_at IS NULL RETURNING id`), [
      ...auditValues(audit, now),
      userId,
      active,
    ]);
    return rowCount === 1;
  }

  async setStaff(userId: number, staff: boolean, audit: NewAuditEntry, now: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query(AUDITED(`UPDATE users SET is_staff = $9, updated_at = $7 WHERE id = $8 AND deleted_at IS NULL RETURNING id`), [
      ...auditValues(audit, now),
      userId,
      staff,
    ]);
    return rowCount === 1;
  }

  async audit(q: { beforeId: number; limit: number }): Promise<AuditEntry[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT id, actor_id, action, target_user_id, message_id, report_id, details, created_at FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2`,
      [q.beforeId, q.limit],
    );
    return rows.map(toAudit);
  }
}
