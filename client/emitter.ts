import type { ClientEvents } from './types.js';

export type Listener<E extends keyof ClientEvents> = (payload: ClientEvents[E]) => void;

/** Typed listeners by event name. A throwing listener is reported, never allowed to break the client. */
export class Emitter {
  private readonly listeners = new Map<keyof ClientEvents, Set<(payload: never) => void>>();

  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  emit<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        setTimeout(() => {
          throw error; // the application's bug: surface it, outside the client's own work
        });
      }
    }
  }
}
