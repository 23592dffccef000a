import { checkResponse } from './api-conformance.js';

export interface HttpResult<T = any> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/** A thin JSON client over fetch. */
export class HttpClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    const parsed = text && res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text || undefined;
    checkResponse(method, path, res.status, parsed);
    return { status: res.status, body: parsed, headers: res.headers };
  }

  get = <T = any>(path: string, token?: string) => this.request<T>('GET', path, { token });
  post = <T = any>(path: string, body: unknown, token?: string) => this.request<T>('POST', path, { body, token });
  patch = <T = any>(path: string, body: unknown, token?: string) => this.request<T>('PATCH', path, { body, token });
  del = <T = any>(path: string, token?: string) => this.request<T>('DELETE', path, { token });

  private counter = 0;

  /** Registers a user with unique names and returns its id and token. */
  async register(name?: string): Promise<{ id: number; token: string; username: string }> {
    const username = name ?? `user${process.pid}_${++this.counter}_${Math.random().toString(36).slice(2, 7)}`;
    const res = await this.post('/auth/register', { email: `${username}@example.com`, username, password: 'correct horse', role: 'tenant' });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: res.body.user.id, token: res.body.token, username };
  }
}
