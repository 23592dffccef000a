import type { Conversation, Participant } from '../chat-client.js';
import { h } from './dom.js';

/** The dot beside a name: green while the user is online. */
export const presenceDot = (online: boolean): HTMLSpanElement =>
  h('span', {
    className: 'presence',
    role: 'img',
    ariaLabel: online ? 'online' : 'offline',
    title: online ? 'Online' : 'Offline',
    dataset: { online: String(online) },
  });

/** The other participant of a direct conversation, or null for a group. */
export const directPeer = (c: Conversation, myId: number): Participant | null =>
  c.kind === 'direct' ? (c.participants.find((p) => p.id !== myId) ?? null) : null;

/** "ann is typing…", "ann and ben are typing…", "3 people are typing…", or '' for nobody. */
export function typingLine(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
