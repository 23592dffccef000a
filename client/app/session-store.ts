import type { Session, SessionSharing } from '../chat-client.js';

const KEY = 'chat.session';
const LOCK = 'chat.session';

/**
 * The session, kept in localStorage so that a reload, or another tab of the
 * same browser, stays signed in. Every tab holds the same pair, so the tabs
 * share it (see `sharedSession`).
 */
export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    const session = raw ? (JSON.parse(raw) as Session) : null;
    return session?.token && session.refresh_token && session.user ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(KEY, JSON.stringify(session));
}

/** Forgets the kept session, unless another tab has kept a newer one than `refreshToken` meanwhile. */
export function forgetSession(refreshToken: string | null): void {
  const kept = loadSession();
  if (!kept || refreshToken === null || kept.refresh_token === refreshToken) localStorage.removeItem(KEY);
}

/**
 * A refresh token works once: two tabs refreshing together would end the
 * session. With the Web Locks API the tabs refresh one at a time, and a tab
 * that finds a newer pair kept by another takes it instead of refreshing.
 * Without it (a plain-http page other than localhost) each tab only checks for
 * a newer pair first.
 */
export function sharedSession(userId: () => number | undefined): SessionSharing {
  const locks = (navigator as { locks?: LockManager }).locks;
  return {
    // The lock's promise settles with the task's result; the DOM typing nests the promise.
    exclusive: <T>(task: () => Promise<T>): Promise<T> => (locks ? (locks.request(LOCK, task) as unknown as Promise<T>) : task()),
    latest: () => {
      const kept = loadSession();
      return kept && kept.user.id === userId() ? kept : null;
    },
  };
}
