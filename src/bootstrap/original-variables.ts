/**
 * Variables that setups of the original backend (or older setups of this
 * server) still carry but that nothing here reads, each with what replaced it.
 * They are named in one warning at start-up, so nobody believes they still
 * take effect.
 */
export const IGNORED_VARIABLES: Readonly<Record<string, string>> = {
  BASE_URL: 'nothing builds URLs from it: media URLs arrive whole from clients',
  DJANGO_API_URL: 'accounts are in this database and tokens are verified here (JWT_SECRET, or JWT_JWKS_URL / JWT_PUBLIC_KEY)',
  DB_DIALECT: 'PostgreSQL is the only database',
  PASSWORD_HASH_COST: 'passwords are hashed with argon2id: see PASSWORD_HASH_MEMORY_KIB and PASSWORD_HASH_TIME_COST',
  SOCKETIO_NODE_PORT: 'the separate Node.js Socket.IO port was removed: TRANSPORT=node serves Socket.IO on PORT',
};

export interface IgnoredVariable {
  readonly name: string;
  readonly reason: string;
}

/** The browser origin of FRONTEND_URL (the original's single CORS origin): scheme, host and port, no path. */
export const originOf = (url: string): string => new URL(url).origin;

/**
 * CORS_ORIGINS when set, else the original FRONTEND_URL's origin (else none,
 * which allows any origin), and the variables set but ignored.
 */
export function originalVariables(
  env: NodeJS.ProcessEnv,
  parsed: { readonly CORS_ORIGINS: string[]; readonly FRONTEND_URL?: string | undefined },
): { corsOrigins: string[]; ignored: IgnoredVariable[] } {
  const isSet = (name: string) => (env[name] ?? '') !== '';
  const ignored = Object.entries(IGNORED_VARIABLES)
    .filter(([name]) => isSet(name))
    .map(([name, reason]) => ({ name, reason }));
  if (parsed.CORS_ORIGINS.length > 0) {
    if (parsed.FRONTEND_URL) ignored.push({ name: 'FRONTEND_URL', reason: 'CORS_ORIGINS is set and takes its place' });
    return { corsOrigins: parsed.CORS_ORIGINS, ignored };
  }
  return { corsOrigins: parsed.FRONTEND_URL ? [originOf(parsed.FRONTEND_URL)] : [], ignored };
}
