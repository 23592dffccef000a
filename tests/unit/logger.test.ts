import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/bootstrap/logger.js';

describe('log redaction', () => {
  it('censors contents, passwords, tokens, SQL parameters and quoted values wherever the code puts them', () => {
    const lines: string[] = [];
    const logger = createLogger('trace', false, { write: (line: string) => void lines.push(line) });
    const dbError = Object.assign(new Error('insert failed'), {
      sql: 'INSERT INTO messages VALUES ($1)',
      parameters: ['SECRET-PARAM'],
      detail: 'Key (email)=(SECRET-DETAIL) already exists.',
      parent: { parameters: ['SECRET-PARENT-PARAM'], detail: 'SECRET-PARENT-DETAIL', sql: 'SELECT 1' },
      original: { parameters: ['SECRET-ORIGINAL-PARAM'] },
    });
    logger.error({ err: dbError }, 'batch failed');
    logger.error({ err: new Error('wrapped', { cause: dbError }) }, 'wrapped');
    logger.info({ content: 'SECRET-CONTENT', password: 'SECRET-PASSWORD', token: 'SECRET-TOKEN' }, 'top level');
    logger.child({ userId: 1 }).debug({ data: { content: 'SECRET-NESTED', refresh_token: 'SECRET-REFRESH' } }, 'nested');
    logger.info({ headers: { authorization: 'Bearer SECRET-BEARER' } }, 'headers');
    const output = lines.join('');
    expect(lines).toHaveLength(5);
    expect(output).toContain('insert failed');
    expect(output.match(/SECRET-[A-Z-]+/g) ?? []).toEqual([]);
    expect(output).toContain('[redacted]');
  });
});
