import type { Frame } from './ws-client.js';
import { sleep } from './ws-client.js';

/** Polls until `check` holds, failing after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

/** Ids of the messages a client was pushed in one conversation, in arrival order. */
export const receivedIds = (frames: Frame[], conversationId: number): number[] =>
  frames.filter((f) => f.event === 'receiveMessage' && f.data.conversation_id === conversationId).map((f) => f.data.id as number);
