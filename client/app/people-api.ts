import type { ChatClient, PublicProfile } from '../chat-client.js';

/** A page of the directory (`GET /users?query=`). */
export interface DirectoryPage {
  readonly users: PublicProfile[];
  /** Pass as `after` for the next page; null at the end. */
  readonly next_after: number | null;
}

/** People whose username or display name starts with `query` (the server wants a few characters, QUERY_TOO_SHORT). */
export const searchPeople = (client: ChatClient, query: string, limit = 10): Promise<DirectoryPage> =>
  client.rest('GET', `/users?${new URLSearchParams({ query, limit: String(limit) })}`);

export const profileOf = (client: ChatClient, userId: number): Promise<PublicProfile> => client.rest('GET', `/users/${userId}`);

export const block = (client: ChatClient, userId: number): Promise<unknown> => client.rest('POST', `/users/${userId}/block`);

export const unblock = (client: ChatClient, userId: number): Promise<unknown> => client.rest('DELETE', `/users/${userId}/block`);

/** The ids of the people the caller blocks. */
export async function blockedIds(client: ChatClient): Promise<Set<number>> {
  const answer = await client.rest<{ blocks: ReadonlyArray<{ user?: { id: number }; id?: number }> }>('GET', '/users/me/blocks');
  return new Set(answer.blocks.map((b) => b.user?.id ?? b.id ?? 0));
}

export const reportMessage = (client: ChatClient, messageId: number, reason: string): Promise<unknown> =>
  client.rest('POST', `/messages/${messageId}/report`, { reason });
