import type { ClientEvents } from './types.js';

export type Listener<E extends keyof ClientEvents> = (payload: ClientEvents[E]) => void;

/** Typed listeners by event name. A throwing listener is reported, never allowed to break the client. */
export class Emitter<Events extends object = ClientEvents> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (payload: Events[E]) => void)(payload);
      } catch (error) {
        setTimeout(() => {
          throw error; // the application's bug: surface it, outside the client's own work
        });
      }
    }
  }
}
