import type pg from 'pg';

/** Why a connection failed, by the code Node (errno) or PostgreSQL (SQLSTATE) gives. */
const WHY: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused, nothing listens on that port',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved now',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'the connection was reset',
  '28P01': 'password authentication failed',
  '28000': 'the server refuses this user or host',
  '3D000': 'no such database',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'too many connections',
};

interface Coded {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** The first code on the error, or on the errors it aggregates (Node tries each address of a host). */
function codeOf(error: Coded): string | undefined {
  if (typeof error.code === 'string') return error.code;
  if (Array.isArray(error.errors)) for (const e of error.errors as Coded[]) if (typeof e?.code === 'string') return e.code;
  return undefined;
}

/** Where a client connects: host, port and database, never the password. */
export const whereOf = (client: pg.Client): string => `${client.host}:${client.port}, database "${client.database ?? ''}"`;

/**
 * One line saying which database could not be reached and why: for a person
 * running the import, so no stack. PostgreSQL's own message follows the
 * reason (it names the user or the database, not a password; the password is
 * blanked out should it appear anyway).
 */
export function connectionFailure(what: string, client: pg.Client, error: unknown, password?: string): string {
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as Coded;
  const code = codeOf(e);
  let detail = typeof e.message === 'string' ? (e.message.split('\n')[0] ?? '') : '';
  if (password) detail = detail.split(password).join('***');
  const why = (code !== undefined ? WHY[code] : undefined) ?? (detail || 'unknown error');
  // Node's own messages only repeat the code and the address; PostgreSQL's name the user or the database.
  const errno = code?.startsWith('E') === true;
  const more = !errno && detail !== '' && detail !== why ? `: ${detail}` : '';
  return `Cannot connect to ${what} at ${whereOf(client)}: ${why}${more}${code !== undefined ? ` (${code})` : ''}`;
}
