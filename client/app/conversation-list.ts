import type { Conversation, ConversationSummary, Message, PresenceState } from '../chat-client.js';
import { fullDate, h, shortWhen } from './dom.js';
import { directPeer, presenceDot } from './presence-view.js';

interface Entry {
  conversation: Conversation;
  lastMessage: Message | null;
  unread: number;
}

/** A conversation's name: its title, or the other participants. */
export const titleOf = (c: Conversation, myId: number): string =>
  c.title ??
  (c.participants
    .filter((p) => p.id !== myId)
    .map((p) => p.username)
    .join(', ') ||
    'Just you');

/** A message in a line: its text, or what it carries when it is a file (or a URL sent as its content). */
export function previewText(m: Message): string {
  const a = m.attachment;
  if (!a || (m.content.trim() !== '' && m.content.trim() !== a.url)) return m.content;
  if (m.type === 'image') return '📷 Photo';
  if (m.type === 'video') return '🎬 Video';
  return `📎 ${a.name ?? 'File'}`;
}

/**
 * The sidebar: conversations by latest activity, each with its last message
 * and unread count, and a presence dot beside the other user of a direct one.
 */
export class ConversationList {
  readonly element = h('ul', { className: 'conversations', ariaLabel: 'Conversations' });
  private readonly entries = new Map<number, Entry>();
  private selected: number | null = null;

  constructor(
    private readonly myId: number,
    private readonly presence: PresenceState,
    private readonly open: (id: number) => void,
  ) {}

  /** The direct conversations, those whose other user's presence is still unknown with `unknownOnly`. */
  directConversations(unknownOnly: boolean): number[] {
    return [...this.entries.values()]
      .filter((e) => {
        const peer = directPeer(e.conversation, this.myId);
        return peer !== null && (!unknownOnly || this.presence.of(peer.id) === undefined);
      })
      .map((e) => e.conversation.id);
  }

  /** Someone's presence changed: redraw if they are the other user of a listed direct conversation. */
  presenceChanged(userId: number): void {
    if ([...this.entries.values()].some((e) => directPeer(e.conversation, this.myId)?.id === userId)) this.render();
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  conversation(id: number): Conversation | undefined {
    return this.entries.get(id)?.conversation;
  }

  unread(id: number): number {
    return this.entries.get(id)?.unread ?? 0;
  }

  replaceAll(summaries: readonly ConversationSummary[]): void {
    this.entries.clear();
    for (const s of summaries) this.entries.set(s.id, { conversation: s, lastMessage: s.last_message, unread: s.unread_count });
    this.render();
  }

  /** A new message: it becomes the preview, and counts as unread when `unread` says so. */
  received(message: Message, unread: boolean): void {
    const entry = this.entries.get(message.conversation_id);
    if (!entry) return;
    if (!entry.lastMessage || message.id >= entry.lastMessage.id) entry.lastMessage = message;
    if (unread) entry.unread += 1;
    this.render();
  }

  updated(message: Message): void {
    const entry = this.entries.get(message.conversation_id);
    if (entry?.lastMessage?.id !== message.id) return;
    entry.lastMessage = message;
    this.render();
  }

  /** Whether the deleted message was a preview (the caller then reloads the list). */
  showsMessage(conversationId: number, messageId: number): boolean {
    return this.entries.get(conversationId)?.lastMessage?.id === messageId;
  }

  markAllRead(id: number): void {
    const entry = this.entries.get(id);
    if (!entry || entry.unread === 0) return;
    entry.unread = 0;
    this.render();
  }

  select(id: number | null): void {
    this.selected = id;
    this.render();
  }

  private render(): void {
    const activity = (e: Entry) => e.lastMessage?.created_at ?? e.conversation.updated_at;
    const sorted = [...this.entries.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
    this.element.replaceChildren(...sorted.map((e) => this.item(e)));
    if (sorted.length === 0) this.element.append(h('li', { className: 'empty' }, 'No conversations yet.'));
  }

  private item({ conversation, lastMessage, unread }: Entry): HTMLLIElement {
    const preview = lastMessage
      ? `${lastMessage.sender_id === this.myId ? 'You' : lastMessage.sender.username}: ${previewText(lastMessage)}`
      : 'No messages yet';
    const peer = directPeer(conversation, this.myId);
    const button = h(
      'button',
      { type: 'button', onclick: () => this.open(conversation.id) },
      h('span', { className: 'title' }, peer && presenceDot(this.presence.isOnline(peer.id)), titleOf(conversation, this.myId)),
      unread > 0 && h('span', { className: 'unread', ariaLabel: `${unread} unread` }, String(unread)),
      h('span', { className: 'preview' }, preview),
      lastMessage &&
        h('time', { className: 'when', dateTime: lastMessage.created_at, title: fullDate(lastMessage.created_at) }, shortWhen(lastMessage.created_at)),
    );
    return h(
      'li',
      { className: conversation.id === this.selected ? 'conversation selected' : 'conversation', dataset: { conversationId: conversation.id } },
      button,
    );
  }
}
