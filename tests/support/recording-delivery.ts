import type { LocalDelivery, MembershipChange, PushEvent } from '../../src/application/ports/fanout.js';

export type Delivered =
  | { kind: 'publish'; conversationIds: number[]; event: PushEvent; data: any; exceptUserId?: number }
  | { kind: 'user'; userId: number; event: PushEvent; data: any }
  | { kind: 'membership'; change: MembershipChange }
  | { kind: 'endAccess'; userId: number; sessionId: string | null };

/** A process's connections, as far as fan-out can tell: records what it was handed, in order. */
export class RecordingDelivery implements LocalDelivery {
  readonly delivered: Delivered[] = [];
  users: number[] = [];
  followed: number[] = [];
  readonly reconciled: Array<{ userId: number; conversationIds: number[] }> = [];

  publish(conversationIds: readonly number[], event: PushEvent, dataJson: string, exceptUserId?: number): void {
    this.delivered.push({
      kind: 'publish',
      conversationIds: [...conversationIds],
      event,
      data: JSON.parse(dataJson),
      ...(exceptUserId === undefined ? {} : { exceptUserId }),
    });
  }

  sendToUser(userId: number, event: PushEvent, dataJson: string): void {
    this.delivered.push({ kind: 'user', userId, event, data: JSON.parse(dataJson) });
  }

  membership(change: MembershipChange): void {
    this.delivered.push({ kind: 'membership', change });
  }

  connectedUserIds(): number[] {
    return this.users;
  }

  followedConversationIds(): number[] {
    return this.followed;
  }

  reconcile(userId: number, conversationIds: readonly number[]): void {
    this.reconciled.push({ userId, conversationIds: [...conversationIds] });
  }

  endAccess(userId: number, sessionId: string | null): void {
    this.delivered.push({ kind: 'endAccess', userId, sessionId });
  }

  events(event: PushEvent): any[] {
    return this.delivered.flatMap((d) => ((d.kind === 'publish' || d.kind === 'user') && d.event === event ? [d.data] : []));
  }

  clear(): void {
    this.delivered.length = 0;
  }
}
