import { pino } from 'pino';
import type { Logger } from '../application/ports/services.js';

/** JSON logs; human-readable ones in development. */
export function createLogger(level: string, pretty: boolean): Logger & pino.Logger {
  return pino({
    level,
    base: { pid: process.pid },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
