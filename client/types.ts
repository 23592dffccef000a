/**
 * Every type of the client module in one place: first the wire contract of the
 * chat server (REST bodies, `/ws` requests with their results, pushed events,
 * error codes; docs/API.md and docs/PROTOCOL.md), then what the module itself
 * adds (its own events, pending messages, the WebSocket it needs).
 * `PushEvents` and `Requests` are interfaces, so an application can add an
 * event the server learns later by declaration merging.
 */

export interface UserSummary {
  readonly id: number;
  readonly username: string;
}

/** A participant of a conversation; servers that track presence add whether they are online. */
export interface Participant extends UserSummary {
  readonly online?: boolean;
  readonly last_seen_at?: string | null;
  readonly display_name?: string | null;
  readonly role?: Role;
  readonly picture_url?: string | null;
}

export type Role = 'landlord' | 'tenant';

/** What anyone allowed to see a user is shown (`GET /users`, `GET /users/:id`). */
export interface PublicProfile {
  readonly id: number;
  readonly username: string;
  readonly display_name: string | null;
  readonly role: Role;
  readonly picture_url: string | null;
  readonly online: boolean;
  readonly last_seen_at: string | null;
}

export interface User {
  readonly id: number;
  readonly email: string;
  readonly username: string;
  readonly phone_number: string | null;
  readonly profile_picture: string | null;
  readonly display_name: string | null;
  readonly role: Role;
  readonly is_active: boolean;
  readonly is_staff: boolean;
  readonly date_joined: string;
  readonly last_login: string | null;
}

/** What register, log-in, a refresh and a password change answer: the user and a token pair. */
export interface Session {
  readonly user: User;
  /** The access token, sent as a bearer token and to open `/ws`; short-lived. */
  readonly token: string;
  readonly expires_at: string;
  /** Exchanged once at `POST /auth/refresh` for the next pair; a second use ends the session. */
  readonly refresh_token: string;
  readonly refresh_expires_at: string;
}

/** One signed-in device of the user (`GET /auth/sessions`). */
export interface DeviceSession {
  readonly id: string;
  /** The device as it described itself (its User-Agent). */
  readonly device: string | null;
  readonly ip: string | null;
  readonly created_at: string;
  readonly last_used_at: string;
  /** When its refresh token stops working unless used. */
  readonly expires_at: string;
  /** The session of the token that asked. */
  readonly current: boolean;
}

export type MessageType = 'text' | 'image' | 'video' | 'file';

export interface Attachment {
  readonly url: string;
  readonly name?: string;
  readonly mime_type?: string;
  readonly size?: number;
  /** Files uploaded to the server (POST /uploads); `url` and `thumbnail_url` are then short-lived signed links. */
  readonly upload_id?: string;
  readonly width?: number;
  readonly height?: number;
  readonly thumbnail_url?: string;
}

export interface Message {
  readonly id: number;
  /** The original backend's name for `conversation_id`. */
  readonly conversation: number;
  readonly conversation_id: number;
  readonly sender: UserSummary;
  readonly sender_id: number;
  readonly content: string;
  readonly type: MessageType;
  readonly attachment: Attachment | null;
  readonly client_id: string | null;
  readonly read_at: string | null;
  readonly edited_at: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface Conversation {
  readonly id: number;
  readonly title: string | null;
  readonly kind: 'direct' | 'group';
  readonly is_open: boolean;
  readonly created_by: number;
  readonly created_at: string;
  readonly updated_at: string;
  readonly participants: readonly Participant[];
}

export interface ConversationSummary extends Conversation {
  /** All participants; `participants` lists the first 50 of them. */
  readonly participant_count: number;
  readonly last_message: Message | null;
  /** Messages from others after the caller's read marker, counted up to 100 (show "99+"). */
  readonly unread_count: number;
}

/** A page of the conversation list, most recent activity first. */
export interface ConversationPage {
  readonly conversations: ConversationSummary[];
  /** Pass back as `cursor` for the next page; null at the end. */
  readonly next_cursor: string | null;
}

/** A page of history, always ascending by id. */
export interface MessagePage {
  readonly messages: Message[];
  readonly has_more: boolean;
}

export interface RegisterInput {
  readonly email: string;
  readonly username: string;
  readonly password: string;
  readonly role: Role;
  readonly phone_number?: string | null;
  readonly profile_picture?: string | null;
}

export type LogInInput = { readonly password: string } & ({ readonly email: string } | { readonly username: string });

export interface CreateConversationInput {
  readonly participant_ids: readonly number[];
  readonly title?: string | null;
  readonly is_open?: boolean;
}

export interface SendMessageData {
  readonly conversation_id: number;
  readonly content?: string;
  readonly type?: MessageType;
  /** One per message, reused on every retry: the server stores it once. */
  readonly client_id?: string;
  readonly attachment?: OutgoingAttachment | null;
}

/** What a send attaches: a file uploaded first (`POST /uploads`) by its id, or a URL hosted elsewhere as is. */
export type OutgoingAttachment = Attachment | { readonly upload_id: string };

export interface ReadMarker {
  readonly conversation_id: number;
  readonly message_id: number;
  readonly read_at: string;
}

/** Client events of `/ws`: what each sends and what its ack carries. */
export interface Requests {
  sendMessage: { data: SendMessageData; result: Message };
  joinConversation: {
    data: { conversation_id: number; since?: number };
    /**
     * With `since`, every change after it (messages, edits, deletions, read receipts, participants) has been
     * pushed, in order, before this answer; `next_cursor` is where that replay stopped.
     */
    result: { conversation: Conversation; messages: Message[]; has_more: boolean; next_cursor?: string };
  };
  leaveConversation: { data: { conversation_id: number }; result: { conversation_id: number; user_id: number } };
  editMessage: { data: { message_id: number; content: string }; result: Message };
  deleteMessage: { data: { message_id: number }; result: { id: number } };
  markRead: { data: { conversation_id: number; message_id: number }; result: ReadMarker };
  /** Tells the other participants the caller is (or stopped) typing; throttled by the server. */
  typing: { data: { conversation_id: number; is_typing?: boolean }; result: { conversation_id: number; is_typing: boolean } };
}

/** Events the server pushes to every open connection of every participant. */
export interface PushEvents {
  receiveMessage: Message;
  messageUpdated: Message;
  messageDeleted: { readonly id: number; readonly conversation_id: number; readonly deleted_at: string };
  readReceipt: ReadMarker & { readonly user_id: number };
  participantAdded: { readonly conversation_id: number; readonly user: UserSummary; readonly added_by: number };
  participantRemoved: { readonly conversation_id: number; readonly user_id: number; readonly removed_by: number };
  /** Someone sharing a conversation came online or went offline. */
  presence: { readonly user_id: number; readonly online: boolean; readonly last_seen_at: string | null };
  /** Another participant started or stopped typing (drop it after 6 s without a renewal, or on their message). */
  typing: { readonly conversation_id: number; readonly user_id: number; readonly is_typing: boolean };
  /** A participant added or removed an emoji reaction; `reactions` are the message's counts after it. */
  reactionUpdated: {
    readonly conversation_id: number;
    readonly message_id: number;
    readonly user_id: number;
    readonly emoji: string;
    readonly added: boolean;
    readonly reactions: ReadonlyArray<{ readonly emoji: string; readonly count: number }>;
    readonly updated_at: string;
  };
  /** A group was renamed, deleted (its participants stop receiving it) or restored. */
  conversationUpdated: {
    readonly conversation_id: number;
    readonly title: string | null;
    readonly deleted: boolean;
    readonly updated_by: number;
    readonly updated_at: string;
  };
  /** A participant changed their display name or picture. */
  profileUpdated: Omit<PublicProfile, 'online' | 'last_seen_at'>;
}

/** Codes the server answers with, over REST and `/ws`. */
export type ServerErrorCode =
  | 'VALIDATION_FAILED'
  | 'CONTENT_TOO_LONG'
  | 'INVALID_CREDENTIALS'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_A_PARTICIPANT'
  | 'NOT_MESSAGE_SENDER'
  | 'CONVERSATION_CLOSED'
  | 'NOT_A_GROUP'
  | 'USER_NOT_FOUND'
  | 'CONVERSATION_NOT_FOUND'
  | 'MESSAGE_NOT_FOUND'
  | 'SESSION_NOT_FOUND'
  | 'WEBHOOK_NOT_FOUND'
  | 'WEBHOOK_LIMIT_REACHED'
  | 'REACTION_LIMIT_REACHED'
  | 'SUBSCRIPTION_NOT_FOUND'
  | 'EMAIL_TAKEN'
  | 'USERNAME_TAKEN'
  | 'RESET_TOKEN_INVALID'
  | 'USER_BLOCKED'
  | 'CANNOT_BLOCK_SELF'
  | 'ALREADY_BLOCKED'
  | 'NOT_BLOCKED'
  | 'ALREADY_REPORTED'
  | 'REPORT_NOT_FOUND'
  | 'QUERY_TOO_SHORT'
  | 'UPLOAD_NOT_FOUND'
  | 'UPLOAD_TOO_LARGE'
  | 'UPLOAD_SIZE_MISMATCH'
  | 'UPLOAD_TYPE_MISMATCH'
  | 'UPLOAD_TYPE_NOT_ALLOWED'
  | 'UPLOAD_QUOTA_EXCEEDED'
  | 'UPLOAD_INCOMPLETE'
  | 'UPLOAD_ALREADY_ATTACHED'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_UNREADABLE'
  | 'FILE_LINK_INVALID'
  | 'FILE_LINK_EXPIRED'
  | 'INVALID_JSON'
  | 'INVALID_FRAME'
  | 'UNKNOWN_EVENT'
  | 'PAYLOAD_TOO_LARGE'
  | 'MALFORMED_REQUEST'
  | 'REQUEST_TIMEOUT'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'HEADERS_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'TOO_MANY_CONNECTIONS'
  | 'ORIGIN_NOT_ALLOWED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'RANGE_NOT_SATISFIABLE'
  | 'OVERLOADED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

/**
 * Codes the client module adds: the socket closed before the answer came
 * (`DISCONNECTED`), no answer in time (`TIMEOUT`), the server could not be
 * reached (`NETWORK`), the client was closed (`CLOSED`), a frame larger than
 * the server accepts (`FRAME_TOO_LARGE`).
 */
export type ClientErrorCode = 'DISCONNECTED' | 'TIMEOUT' | 'NETWORK' | 'CLOSED' | 'FRAME_TOO_LARGE';

export type ErrorCode = ServerErrorCode | ClientErrorCode;

/** The error body of REST replies and of `/ws` error frames. */
export interface WireError {
  readonly code: ServerErrorCode;
  readonly message: string;
  readonly details?: unknown;
}

/**
 * A frame the server sends on `/ws`: `ack` with `ack` and `data`, `error` with
 * `error` (and `ack` when it answers a request), or a push with `data`.
 */
export interface ServerFrame {
  readonly event: 'ack' | 'error' | keyof PushEvents;
  readonly ack?: number | string;
  readonly data?: unknown;
  readonly error?: WireError;
}

// ---- The client module's own events and shapes ----

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateChange {
  readonly state: ConnectionState;
  /** `reconnecting`: failures since the last open connection (1 for the first retry). */
  readonly attempt?: number;
  /** `reconnecting`: the back-off delay before the next try, in ms. */
  readonly delayMs?: number;
  /** The close code that ended the previous connection (1006 when it never opened). */
  readonly closeCode?: number;
  /**
   * `closed`: why the client stopped for good: `close()` (`client`), `logOut()`
   * (`logged-out`), the session was ended elsewhere (`revoked`: a log-out, a
   * revocation or a password change closed the socket with 4001), the token
   * was refused and could not be refreshed (`unauthorized`), or another final
   * close code (`refused`).
   */
  readonly reason?: 'client' | 'logged-out' | 'revoked' | 'unauthorized' | 'refused';
}

/** A message sent but not acknowledged yet; it is re-sent after every reconnect until it is. */
export interface PendingMessage {
  readonly client_id: string;
  readonly conversation_id: number;
  readonly content: string;
  readonly type: MessageType;
  readonly attachment: OutgoingAttachment | null;
  /** When it was handed to the client, ISO 8601. */
  readonly created_at: string;
}

/** What `on()` can listen to: the server's pushes plus the client's own events. */
export interface ClientEvents extends PushEvents {
  state: StateChange;
  /** The pending messages of one conversation changed (one was added, acknowledged or failed). */
  pending: { readonly conversation_id: number; readonly messages: readonly PendingMessage[] };
  /** A followed conversation caught up after (re)connecting; `messages` counts those it brought. */
  synced: { readonly conversation_id: number; readonly messages: number };
  /**
   * A new token pair is in use (signed in, refreshed, password changed): keep
   * it where the next start finds it. The refresh token it replaces no longer works.
   */
  session: Session;
}

/**
 * The part of the WebSocket API the client needs, met by the browser's
 * `WebSocket` and by the `ws` package's.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { readonly code: number; readonly reason: string }) => void): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;
