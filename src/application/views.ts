import type { Conversation, ParticipantSummary } from '../domain/conversation.js';
import type { Message } from '../domain/message.js';
import { attachmentView } from './files/attachment-links.js';
import type { User } from '../domain/user.js';
import type { ParticipantPresence } from './access.js';
import type { ConversationSummary } from './ports/conversation-repository.js';
import type { MessagePageWithState } from './use-cases/get-messages.js';
import { REPLAYED_AS, type ReplayedType, type StreamEvent, type StreamPage } from './ports/event-stream.js';
import type { ConversationSummaryView, ConversationView, EventPageView, MessageView, ParticipantView, StreamEventView, UserView } from './wire-schemas.js';

export type { MessageView } from './wire-schemas.js';

/** Wire shapes (wire-schemas.ts): snake_case and ISO 8601, the fields the original clients read plus new ones. */
const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export const messageView = (m: Message): MessageView => ({
  id: m.id,
  conversation: m.conversationId,
  conversation_id: m.conversationId,
  sender: { id: m.senderId, username: m.senderUsername },
  sender_id: m.senderId,
  content: m.content,
  type: m.type,
  attachment: m.attachment ? attachmentView(m.attachment) : null,
  client_id: m.clientId,
  read_at: iso(m.readAt),
  edited_at: iso(m.editedAt),
  created_at: m.createdAt.toISOString(),
  updated_at: m.updatedAt.toISOString(),
});

/**
 * A view already serialised: frames that carry it splice `json` in, and
 * anything else that serialises it (Socket.IO, REST) gets the view through
 * `toJSON`.
 */
export class Serialised<T = unknown> {
  constructor(
    readonly value: T,
    readonly json: string,
  ) {}

  toJSON(): T {
    return this.value;
  }
}

const serialisedMessages = new WeakMap<Message, Serialised<MessageView>>();

/** The message's view, serialised once however many frames (the ack, every push) carry it. */
export function serialisedMessage(m: Message): Serialised<MessageView> {
  let s = serialisedMessages.get(m);
  if (!s) {
    const view = messageView(m);
    serialisedMessages.set(m, (s = new Serialised(view, JSON.stringify(view))));
  }
  return s;
}

/** A participant, with presence where it was read. */
export const participantView = (p: ParticipantSummary | ParticipantPresence): ParticipantView => ({
  id: p.id,
  username: p.username,
  ...('online' in p ? { online: p.online, last_seen_at: iso(p.lastSeenAt) } : {}),
  ...(p.role === undefined ? {} : { display_name: p.displayName ?? null, role: p.role, picture_url: p.pictureUrl ?? null }),
});

export const conversationView = (c: Conversation, participants?: ReadonlyArray<ParticipantSummary | ParticipantPresence>): ConversationView => ({
  id: c.id,
  title: c.title,
  kind: c.kind,
  is_open: c.isOpen,
  created_by: c.createdBy,
  created_at: c.createdAt.toISOString(),
  updated_at: c.updatedAt.toISOString(),
  ...(participants ? { participants: participants.map(participantView) } : {}),
});

export const conversationSummaryView = (s: ConversationSummary): ConversationSummaryView => ({
  ...conversationView(s.conversation),
  participants: s.participants.map(participantView),
  participant_count: s.participantCount,
  last_message: s.lastMessage ? messageView(s.lastMessage) : null,
  unread_count: s.unreadCount,
});

/** Never includes the password hash. */
export const userView = (u: User): UserView => ({
  id: u.id,
  email: u.email,
  username: u.username,
  phone_number: u.phoneNumber,
  profile_picture: u.profilePicture,
  display_name: u.displayName ?? null,
  role: u.role,
  is_active: u.isActive,
  is_staff: u.isStaff,
  date_joined: u.dateJoined.toISOString(),
  last_login: iso(u.lastLogin),
});

/** A replayed stream event: `event` and `data` are the push it was delivered as live. */
export const streamEventView = (e: StreamEvent): StreamEventView => ({
  id: e.id,
  type: e.type as ReplayedType,
  event: REPLAYED_AS[e.type as ReplayedType],
  conversation_id: e.conversationId,
  data: e.data,
  created_at: e.createdAt.toISOString(),
});

/** A page of the stream; the cursor travels as text (ids exceed what some clients' integers hold). */
export const eventPageView = (p: StreamPage): EventPageView => ({ events: p.events.map(streamEventView), next_cursor: String(p.next), has_more: p.hasMore });

/** The extra fields of a history page: reactions by message id, and in groups how many others have read each. */
export const messagePageStateView = (p: MessagePageWithState) => ({
  reactions: Object.fromEntries([...p.reactions].map(([id, list]) => [String(id), list.map((r) => ({ emoji: r.emoji, count: r.count, me: r.me }))])),
  ...(p.readBy ? { read_by: Object.fromEntries([...p.readBy].map(([id, n]) => [String(id), n])) } : {}),
});
