import { ChatError } from './chat-error.js';
import type {
  Conversation,
  ConversationPage,
  CreateConversationInput,
  DeviceSession,
  LogInInput,
  MessagePage,
  Participant,
  RegisterInput,
  Session,
  User,
  WireError,
} from './types.js';

/** Where the REST API gets its bearer token, and how it gets a new one. */
export interface RestAuth {
  token(): string | null;
  /** Replaces `stale`, the token a request was refused with; true when a newer one is in place. */
  renew(stale: string): Promise<boolean>;
}

/**
 * The REST API (docs/API.md); every failure is a ChatError with the server's
 * code and the HTTP status. A request refused with 401 `UNAUTHORIZED` is made
 * once more after the token was renewed.
 */
export class RestApi {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch,
    private readonly auth: RestAuth,
  ) {}

  register(input: RegisterInput): Promise<Session> {
    return this.call('POST', '/auth/register', input, false);
  }

  logIn(input: LogInInput): Promise<Session> {
    return this.call('POST', '/auth/login', input, false);
  }

  /** Exchanges the refresh token for a new pair; the old one stops working. */
  refresh(refreshToken: string): Promise<Session> {
    return this.call('POST', '/auth/refresh', { refresh_token: refreshToken }, false);
  }

  logOut(): Promise<{ revoked: boolean }> {
    return this.call('POST', '/auth/logout');
  }

  sessions(): Promise<{ sessions: DeviceSession[] }> {
    return this.call('GET', '/auth/sessions');
  }

  revokeSession(id: string): Promise<{ id: string }> {
    return this.call('DELETE', `/auth/sessions/${encodeURIComponent(id)}`);
  }

  /** Ends every session of the user, this one included, and answers a new pair. */
  changePassword(input: { current_password: string; new_password: string }): Promise<Session> {
    return this.call('POST', '/users/me/password', input);
  }

  /** Asks for a reset link by mail; the answer is the same whether or not the address has an account. */
  forgotPassword(email: string): Promise<{ accepted: true; message: string }> {
    return this.call('POST', '/auth/password/forgot', { email }, false);
  }

  /** Sets a new password with a mailed token; every session of the account ends. */
  resetPassword(token: string, password: string): Promise<void> {
    return this.call('POST', '/auth/password/reset', { token, password }, false);
  }

  me(): Promise<User> {
    return this.call('GET', '/users/me');
  }

  /** One page of the caller's conversations, most recent activity first. */
  listConversations(page: { limit?: number; cursor?: string } = {}): Promise<ConversationPage> {
    const query = new URLSearchParams();
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    if (page.cursor !== undefined) query.set('cursor', page.cursor);
    return this.call('GET', `/conversations${query.size > 0 ? `?${query}` : ''}`);
  }

  createConversation(input: CreateConversationInput): Promise<Conversation> {
    return this.call('POST', '/conversations', input);
  }

  participants(conversationId: number): Promise<{ participants: Participant[] }> {
    return this.call('GET', `/conversations/${conversationId}/participants`);
  }

  messages(conversationId: number, page: { before?: number; after?: number; limit?: number }): Promise<MessagePage> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(page)) if (value !== undefined) query.set(key, String(value));
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.call('GET', `/conversations/${conversationId}/messages${suffix}`);
  }

  /** Any authenticated route by method and path (with its query), for routes this class has no method for. */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.call(method, path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const token = auth ? this.auth.token() : null;
    try {
      return await this.send<T>(method, path, body, token);
    } catch (error) {
      // The token expired (or its session ended): renew it once and ask again; an ended session fails the renewal.
      const expired = token !== null && error instanceof ChatError && error.status === 401 && error.code === 'UNAUTHORIZED';
      if (!expired || !(await this.auth.renew(token))) throw error;
      return this.send<T>(method, path, body, this.auth.token());
    }
  }

  private async send<T>(method: string, path: string, body: unknown, token: string | null): Promise<T> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new ChatError('NETWORK', `Could not reach the server: ${String(error)}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as { error?: WireError } | undefined)?.error;
      throw new ChatError(error?.code ?? 'INTERNAL', error?.message ?? `HTTP ${response.status}`, error?.details, response.status);
    }
    return parsed as T;
  }
}
