import { ok, type Result } from '../../domain/result.js';
import { actorOf, type Actor } from '../../domain/user.js';
import type { Authenticate } from './authenticate.js';

export interface OpenedConnection {
  readonly actor: Actor;
  readonly sessionId: string | null;
  /** The conversations the new connection follows from its first moment. */
  readonly conversationIds: readonly number[];
}

/** Authenticates a realtime connection and lists what it will receive (no query for a user seen recently). */
export class OpenConnection {
  constructor(private readonly authenticate: Authenticate) {}

  async execute(token: string | null | undefined): Promise<Result<OpenedConnection>> {
    const found = await this.authenticate.execute(token);
    if (!found.ok) return found;
    const { user, sessionId, conversationIds } = found.value;
    return ok({ actor: actorOf(user), sessionId, conversationIds });
  }
}
