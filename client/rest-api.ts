import { ChatError } from './chat-error.js';
import type {
  Conversation,
  ConversationPage,
  CreateConversationInput,
  LogInInput,
  MessagePage,
  RegisterInput,
  Session,
  User,
  WireError,
} from './types.js';

/** The REST API (docs/API.md); every failure is a ChatError with the server's code and the HTTP status. */
export class RestApi {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch,
    private readonly token: () => string | null,
  ) {}

  register(input: RegisterInput): Promise<Session> {
    return this.call('POST', '/auth/register', input, false);
  }

  logIn(input: LogInInput): Promise<Session> {
    return this.call('POST', '/auth/login', input, false);
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

  messages(conversationId: number, page: { before?: number; after?: number; limit?: number }): Promise<MessagePage> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(page)) if (value !== undefined) query.set(key, String(value));
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.call('GET', `/conversations/${conversationId}/messages${suffix}`);
  }

  private async call<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = {};
    const token = auth ? this.token() : null;
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
