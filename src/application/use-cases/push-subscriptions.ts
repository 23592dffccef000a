import { fail, ok, type Result } from '../../domain/result.js';
import type { Actor } from '../../domain/user.js';
import type { PushStore } from '../ports/push.js';
import type { PushSubscriptionInput } from '../push-schemas.js';

/** Why an endpoint may not be pushed to (the outbound guard's verdict on its URL), or null. */
export type EndpointCheck = (endpoint: string) => string | null;

/** Registers the caller's browser for pushes (an endpoint registered before moves to the caller). */
export class SubscribePush {
  constructor(
    private readonly store: PushStore,
    private readonly checkEndpoint: EndpointCheck,
    private readonly maxPerUser: number,
  ) {}

  async execute(actor: Actor, sessionId: string | null, input: PushSubscriptionInput): Promise<Result<{ endpoint: string }>> {
    const problem = this.checkEndpoint(input.endpoint);
    if (problem) return fail('VALIDATION_FAILED', `endpoint: ${problem}`, [{ path: 'endpoint', message: problem }]);
    await this.store.subscribe(
      actor.id,
      sessionId,
      { endpoint: input.endpoint, p256dh: input.keys.p256dh, auth: input.keys.auth, expirationTime: input.expirationTime ?? null },
      this.maxPerUser,
    );
    return ok({ endpoint: input.endpoint });
  }
}

export class UnsubscribePush {
  constructor(private readonly store: PushStore) {}

  async execute(actor: Actor, endpoint: string): Promise<Result<null>> {
    if (!(await this.store.unsubscribe(actor.id, endpoint))) return fail('SUBSCRIPTION_NOT_FOUND', 'No push subscription of yours has this endpoint');
    return ok(null);
  }
}

/** The key browsers need to subscribe (`applicationServerKey`). */
export class PushPublicKey {
  constructor(private readonly publicKey: string) {}

  execute(): { public_key: string } {
    return { public_key: this.publicKey };
  }
}
