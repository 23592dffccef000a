import { pino } from 'pino';
import type { Logger } from '../application/ports/services.js';

/**
 * Never logged, at any level: message contents, passwords, tokens, SQL
 * parameter lists and the values a database error quotes. (pino's paths match
 * at the depth given; errors are logged under `err`, wrapped ones under
 * `err.cause` or `err.parent`/`err.original` as Sequelize nests them.)
 */
export const REDACTED_PATHS = [
  'password',
  'token',
  'content',
  'refresh_token',
  'authorization',
  'parameters',
  'bind',
  'detail',
  '*.password',
  '*.token',
  '*.content',
  '*.refresh_token',
  '*.authorization',
  '*.parameters',
  '*.bind',
  '*.detail',
  'err.parent.parameters',
  'err.original.parameters',
  'err.parent.detail',
  'err.original.detail',
  'err.cause.detail',
  'err.cause.parameters',
  'err.cause.parent.parameters',
  'err.cause.parent.detail',
  'err.cause.original.parameters',
  'err.cause.original.detail',
  'err.sql',
  'err.parent.sql',
  'err.original.sql',
  'err.cause.sql',
  'req.headers.authorization',
  'headers.authorization',
];

/** JSON logs; human-readable ones in development. `destination` is for tests. */
export function createLogger(level: string, pretty: boolean, destination?: pino.DestinationStream): Logger & pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty && !destination ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
  if (destination) return pino(options, destination);
  if (pretty) return pino(options);
  // Asynchronous, as pino's default, but with minLength 1: with 0, flush(cb) calls back at
  // once instead of after the write in flight, and a process exiting then loses its last lines.
  return pino(options, pino.destination({ dest: 1, sync: false, minLength: 1 }));
}
