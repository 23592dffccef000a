import { ChatError } from './chat-error.js';
import type { Session } from './types.js';

/** The clock and timer the refresh schedule runs on; a test passes one it fires itself. */
export interface RefreshClock {
  now(): number;
  /** Runs `task` after `delayMs`; returns the function that cancels it. */
  schedule(task: () => void, delayMs: number): () => void;
}

export const systemClock: RefreshClock = {
  now: () => Date.now(),
  schedule(task, delayMs) {
    const timer = setTimeout(task, delayMs);
    // Housekeeping only: in Node.js it must not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
    return () => clearTimeout(timer);
  },
};

/**
 * For several clients holding one session, such as browser tabs sharing
 * localStorage. A refresh token works once, so two holders refreshing at the
 * same moment would end the session: refreshes run one at a time among them,
 * and a pair another holder got already is taken instead of spending the
 * refresh token a second time.
 */
export interface SessionSharing {
  /** Runs `task` while no other holder runs one (in browsers, `navigator.locks.request`). */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
  /** The newest pair of this user that any holder kept (from its `session` event), or null. */
  latest(): Session | null;
}

/** What the client starts from; `expiresAt` lets it refresh before the token runs out. */
export interface HeldTokens {
  readonly token: string;
  readonly refreshToken?: string | undefined;
  readonly expiresAt?: string | undefined;
}

export interface TokenKeeperOptions {
  /** `POST /auth/refresh`; rejects with a ChatError (status 401 when the session is over). */
  readonly refresh: (refreshToken: string) => Promise<Session>;
  /** A new pair is in use. */
  readonly changed: (session: Session) => void;
  /** The refresh token was refused (401): the session is over and the keeper holds nothing now. */
  readonly ended: (error: ChatError) => void;
  /** @default the system clock and setTimeout */
  readonly clock?: RefreshClock | undefined;
  readonly sharing?: SessionSharing | undefined;
}

/** How far into the access token's remaining life it is refreshed: late enough to be cheap, early enough for a slow network. */
const REFRESH_AT = 0.8;
/** A token this close to its end is refreshed before it is used to open a connection. */
const EXPIRING_MS = 5_000;
/** Differences between the server's clock and ours below this are the JWT's rounding, not skew. */
const SKEW_THRESHOLD_MS = 2_000;
/** The longest delay setTimeout takes. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * When to refresh: `refreshAt` of the way from now to `expiresAtMs`, with no
 * jitter, so the same pair always gets the same schedule.
 */
export const refreshDelay = (expiresAtMs: number, nowMs: number, refreshAt = REFRESH_AT): number =>
  Math.min(MAX_DELAY_MS, Math.max(0, Math.floor((expiresAtMs - nowMs) * refreshAt)));

/** The `iat` claim of a JWT in ms, or null for a token that is not one. */
function issuedAt(token: string): number | null {
  try {
    const part = token.split('.')[1];
    if (!part) return null;
    const claims = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { iat?: unknown };
    return typeof claims.iat === 'number' ? claims.iat * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * Holds the access token and the refresh token. It refreshes on a timer
 * before the access token expires, and on demand (after a 401); concurrent
 * demands share one `POST /auth/refresh`, because a refresh token presented
 * twice ends the whole session.
 */
export class TokenKeeper {
  private access: string | null = null;
  private refreshToken: string | null = null;
  private expiresAtMs: number | null = null;
  /** Our clock minus the server's, when they differ by more than rounding; read from fresh tokens. */
  private skewMs = 0;
  /** The refresh under way, and the refresh token it spends. */
  private inFlight: { readonly spends: string; readonly done: Promise<void> } | null = null;
  /** Moves whenever the tokens are replaced, so a refresh that was overtaken leaves them alone. */
  private generation = 0;
  private cancelTimer: (() => void) | null = null;
  private running = false;
  private readonly clock: RefreshClock;

  constructor(private readonly options: TokenKeeperOptions) {
    this.clock = options.clock ?? systemClock;
  }

  get token(): string | null {
    return this.access;
  }

  get heldRefreshToken(): string | null {
    return this.refreshToken;
  }

  /** Tokens from an earlier run (the constructor's options). */
  restore(held: HeldTokens): void {
    this.replace(held.token, held.refreshToken ?? null, held.expiresAt ? Date.parse(held.expiresAt) : null);
  }

  /**
   * A pair that replaces whatever was held: one the server just issued
   * (sign-in, refresh, password change), or one another holder of the session
   * got (`fresh` false: its issue time says nothing about our clock).
   */
  adopt(session: Session, fresh = true): void {
    if (fresh) {
      const issued = issuedAt(session.token);
      const skew = issued === null ? 0 : this.clock.now() - issued;
      this.skewMs = Math.abs(skew) > SKEW_THRESHOLD_MS ? skew : 0;
    }
    this.replace(session.token, session.refresh_token, Date.parse(session.expires_at));
    this.options.changed(session);
  }

  /** Forgets everything (logged out). */
  clear(): void {
    this.replace(null, null, null);
  }

  /** Refreshes on the timer from now on (the client connects). */
  start(): void {
    this.running = true;
    this.schedule();
  }

  /** No more refreshing on the timer (the client closed); on demand still works. */
  stop(): void {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  /** The access token runs out within a few seconds (by the server's clock, as far as we know it). */
  expiring(): boolean {
    return this.refreshToken !== null && this.expiresAtMs !== null && this.expiresAtMs - this.serverNow() < EXPIRING_MS;
  }

  /**
   * Gets a new access token unless `stale` (the one a refused request used)
   * was replaced meanwhile. Resolves true when a newer token is in place, false
   * when there is no refresh token to renew with; rejects with the refresh's
   * error. Calls made while a refresh runs share it.
   */
  async renew(stale: string | null = this.access): Promise<boolean> {
    if (stale !== this.access) return this.access !== null;
    const held = this.refreshToken;
    if (held === null) return false;
    // Joined only while it spends the token held now: one that just finished has already replaced it.
    if (this.inFlight?.spends !== held) {
      const done: Promise<void> = this.refreshOnce(held).finally(() => {
        if (this.inFlight?.done === done) this.inFlight = null;
      });
      this.inFlight = { spends: held, done };
    }
    await this.inFlight.done;
    return true;
  }

  private async refreshOnce(held: string): Promise<void> {
    const generation = this.generation;
    const sharing = this.options.sharing;
    // Adopted inside the exclusive section: the other holders must find the new pair kept before they look.
    const exchange = async (): Promise<void> => {
      const latest = sharing?.latest();
      const fresh = !latest || latest.refresh_token === held;
      const session = fresh ? await this.options.refresh(held) : latest; // else another holder refreshed already
      if (generation === this.generation) this.adopt(session, fresh);
    };
    try {
      await (sharing ? sharing.exclusive(exchange) : exchange());
    } catch (error) {
      if (generation !== this.generation) return; // signed in anew meanwhile: that pair stands
      if (error instanceof ChatError && error.status === 401) {
        this.clear();
        this.options.ended(error);
      }
      throw error;
    }
  }

  private replace(access: string | null, refresh: string | null, expiresAtMs: number | null): void {
    this.generation += 1;
    this.access = access;
    this.refreshToken = refresh;
    this.expiresAtMs = expiresAtMs !== null && Number.isFinite(expiresAtMs) ? expiresAtMs : null;
    this.schedule();
  }

  private schedule(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (!this.running || this.refreshToken === null || this.expiresAtMs === null) return;
    const current = this.access;
    this.cancelTimer = this.clock.schedule(
      () => {
        this.cancelTimer = null;
        // A failure other than the end of the session waits for the next demand (a 401, a reconnect).
        this.renew(current).catch(() => undefined);
      },
      refreshDelay(this.expiresAtMs, this.serverNow()),
    );
  }

  private serverNow(): number {
    return this.clock.now() - this.skewMs;
  }
}
