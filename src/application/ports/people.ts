import type { Message } from '../../domain/message.js';
import type { Role, User } from '../../domain/user.js';

/** What anyone allowed to see a user is shown: never the e-mail or the phone number. */
export interface PublicProfile {
  readonly id: number;
  readonly username: string;
  readonly displayName: string | null;
  readonly role: Role;
  readonly pictureUrl: string | null;
}

export interface DirectoryQuery {
  /** Lower-case; matched as a prefix of the username or of the display name. */
  readonly prefix: string;
  readonly callerId: number;
  /** Only people who share a conversation with the caller. */
  readonly sharedOnly: boolean;
  /** Only ids above it (the previous page's last). */
  readonly afterId: number;
  readonly limit: number;
}

export interface ProfileChanges {
  readonly displayName?: string | null;
  readonly phoneNumber?: string | null;
  readonly pictureUrl?: string | null;
}

export interface BlockEntry {
  readonly profile: PublicProfile;
  readonly blockedAt: Date;
}

/** Directory, profiles and blocks. Deleted users are invisible to every finder; deactivated ones to the directory. */
export interface PeopleRepository {
  /** Active users matching the prefix, by id, leaving out the caller and whoever blocks the caller. */
  search(query: DirectoryQuery): Promise<PublicProfile[]>;
  find(id: number): Promise<PublicProfile | null>;
  sharesConversation(a: number, b: number): Promise<boolean>;
  /** Null when there is no such (live) user. */
  update(userId: number, changes: ProfileChanges, now: Date): Promise<User | null>;
  /** False when the block existed already. */
  block(blockerId: number, blockedId: number, now: Date): Promise<boolean>;
  /** False when there was no such block. */
  unblock(blockerId: number, blockedId: number): Promise<boolean>;
  blocks(blockerId: number): Promise<BlockEntry[]>;
  blockedEitherWay(a: number, b: number): Promise<boolean>;
  /** The direct conversation of the pair, if they have one. */
  directConversation(a: number, b: number): Promise<number | null>;
}

export const REPORT_STATUSES = ['open', 'dismissed', 'actioned'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

export interface Report {
  readonly id: number;
  readonly messageId: number;
  readonly conversationId: number;
  readonly senderId: number;
  /** The message's content when it was reported (kept should the sender edit or delete it). */
  readonly content: string;
  readonly reporterId: number;
  readonly reason: string;
  readonly status: ReportStatus;
  readonly resolvedBy: number | null;
  readonly resolvedAt: Date | null;
  readonly createdAt: Date;
}

/** A report as staff see it in the queue: the reported message as it is now (null once deleted), and its neighbours. */
export interface QueuedReport {
  readonly report: Report;
  readonly reporter: PublicProfile;
  readonly sender: PublicProfile;
  readonly message: Message | null;
  readonly context: readonly Message[];
}

export const AUDIT_ACTIONS = ['report.dismissed', 'message.deleted', 'user.deactivated', 'user.reactivated', 'staff.granted', 'staff.removed'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface NewAuditEntry {
  readonly actorId: number;
  readonly action: AuditAction;
  readonly targetUserId: number | null;
  readonly messageId: number | null;
  readonly reportId: number | null;
  readonly details: Record<string, unknown>;
}

export interface AuditEntry extends NewAuditEntry {
  readonly id: number;
  readonly createdAt: Date;
}

export interface NewReport {
  readonly message: Message;
  readonly reporterId: number;
  readonly reason: string;
}

/**
 * Reports and staff actions. Every change staff make is written with its
 * audit entry in one transaction: no action without its record.
 */
export interface ModerationRepository {
  /** Null when this reporter reported this message before. */
  report(report: NewReport, now: Date): Promise<Report | null>;
  findReport(id: number): Promise<Report | null>;
  /** Newest first, ids below `beforeId`. */
  queue(query: { readonly status: ReportStatus; readonly beforeId: number; readonly limit: number }): Promise<Report[]>;
  /** Closes an open report; false when it is not open (or does not exist). */
  resolve(reportId: number, status: Exclude<ReportStatus, 'open'>, audit: NewAuditEntry, now: Date): Promise<boolean>;
  /** False when there is no such (live) user. */
  setActive(userId: number, active: boolean, audit: NewAuditEntry, now: Date): Promise<boolean>;
  setStaff(userId: number, staff: boolean, audit: NewAuditEntry, now: Date): Promise<boolean>;
  /** Newest first, ids below `beforeId`. */
  audit(query: { readonly beforeId: number; readonly limit: number }): Promise<AuditEntry[]>;
}
