import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/bootstrap/config.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 8001, NODE_ENV: 'development', databaseUrl: null, MAX_CONTENT_LENGTH: 10_000, MAX_FRAME_BYTES: 65_536 });
  });

  it('names every bad or missing variable in one message', () => {
    expect(() => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', MIGRATE_ON_START: 'maybe' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', MIGRATE_ON_START: 'maybe' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/PORT: .*"eighty"/);
      expect(message).toMatch(/LOG_LEVEL/);
      expect(message).toMatch(/MIGRATE_ON_START/);
    }
  });

  it('refuses a missing, short or low-entropy JWT_SECRET in production, without echoing it, and accepts a random one', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET: must be set/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'secret' })).toThrow(/at least 32 bytes/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'k'.repeat(32) })).toThrow(/too few distinct/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'abcdefghij'.repeat(4) })).toThrow(/short pattern repeated/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'aaaaaaaaaaaaaaaaaaaaaaabcdefghijklm' })).toThrow(/too little entropy/);
    try {
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'secret' });
    } catch (error) {
      expect(String(error)).not.toContain('secret"');
    }
    const random = randomBytes(32).toString('base64');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: random }).JWT_SECRET).toBe(random);
    // Outside production a weak secret is the developer's business.
    expect(loadConfig({ NODE_ENV: 'development', JWT_SECRET: 'secret' }).JWT_SECRET).toBe('secret');
  });

  it('builds the database URL from the original DB_* variables', () => {
    const c = loadConfig({ DB_HOST: 'db', DB_PORT: '5433', DB_USER: 'chat', DB_PASSWORD: 'p@ss', DB_NAME: 'chat', DB_SCHEMA: 'app' });
    expect(c.databaseUrl).toBe('postgres://chat:p%40ss@db:5433/chat');
    expect(c.DB_SCHEMA).toBe('app');
    expect(loadConfig({ DATABASE_URL: 'postgres://x@h/d', DB_HOST: 'ignored' }).databaseUrl).toBe('postgres://x@h/d');
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x@h/d' })).toThrow(/DATABASE_URL/);
  });

  it('splits CORS_ORIGINS', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.io, https://b.io' }).CORS_ORIGINS).toEqual(['https://a.io', 'https://b.io']);
  });
});
