import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, configSchema, loadConfig, secretWeakness } from '../../src/bootstrap/config.js';
import { jwtSecret } from '../../src/bootstrap/jwt-secret.js';

/** The number inside a variable's schema (under its default, optional and preprocessing), or null. */
function numberIn(schema: z.ZodType): z.ZodNumber | null {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) return numberIn(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodPipe) return numberIn(schema.out as z.ZodType);
  return schema instanceof z.ZodNumber ? schema : null;
}
const numeric = Object.entries(configSchema.shape).flatMap(([name, schema]) => {
  const n = numberIn(schema as z.ZodType);
  return n ? [{ name, min: n.minValue ?? -Infinity, max: n.maxValue ?? Infinity }] : [];
});

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

  it('states the range an out-of-range number misses, and says "must be a number" only for what is not one', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/^Invalid configuration:\n {2}PORT: must be between 0 and 65535 \(got "70000"\)$/);
    expect(() => loadConfig({ JWT_TTL_SECONDS: '5' })).toThrow(/^Invalid configuration:\n {2}JWT_TTL_SECONDS: must be at least 60 \(got "5"\)$/);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT: must be a number \(got "eighty"\)/);
    expect(() => loadConfig({ PORT: '80.5' })).toThrow(/PORT: must be an integer \(got "80.5"\)/);
    expect(() => loadConfig({ RATE_LIMIT_PER_SECOND: '-1' })).toThrow(/RATE_LIMIT_PER_SECOND: must be at least 0 \(got "-1"\)/);
    expect(() => loadConfig({ RATE_LIMIT_PER_SECOND: 'fast' })).toThrow(/RATE_LIMIT_PER_SECOND: must be a number \(got "fast"\)/);
  });

  it('gives every whole-number variable its range in the message, below and above it', () => {
    // Read from the schema, so a variable added later is covered too.
    const bounded = numeric.filter((v) => Number.isFinite(v.min) && Number.isFinite(v.max));
    expect(bounded.map((v) => v.name)).toEqual(expect.arrayContaining(['PORT', 'JWT_TTL_SECONDS', 'WRITE_LANES', 'SHUTDOWN_TIMEOUT_MS']));
    expect(numeric.filter((v) => !bounded.includes(v)).map((v) => v.name)).toEqual(['RATE_LIMIT_PER_SECOND']);
    const message = (name: string, value: string) => {
      try {
        loadConfig({ [name]: value });
        return `${name}=${value} accepted`;
      } catch (error) {
        return (error as Error).message;
      }
    };
    for (const { name, min, max } of bounded) {
      // Values of variables named like a password are hidden, so the check stops at "(got ".
      expect(message(name, String(min - 1))).toContain(`${name}: must be at least ${min} (got `);
      expect(message(name, String(max + 1))).toContain(`${name}: must be between ${min} and ${max} (got `);
      expect(message(name, 'many')).toContain(`${name}: must be a number (got `);
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
  });

  it('refuses a weak JWT_SECRET in every mode unless JWT_SECRET_ALLOW_WEAK opts out, which production refuses', () => {
    for (const mode of ['development', 'test', undefined]) {
      expect(() => loadConfig({ NODE_ENV: mode, JWT_SECRET: 'secret' })).toThrow(/JWT_SECRET: must be at least 32 bytes/);
      expect(() => loadConfig({ NODE_ENV: mode, JWT_SECRET: 'test-secret-test-secret-test-secret-0123' })).toThrow(/JWT_SECRET: has too little entropy/);
      expect(loadConfig({ NODE_ENV: mode, JWT_SECRET: 'secret', JWT_SECRET_ALLOW_WEAK: 'true' }).JWT_SECRET).toBe('secret');
      // Unset stays the zero-config default: a strong one is generated under DATA_DIR.
      expect(loadConfig({ NODE_ENV: mode }).JWT_SECRET).toBeUndefined();
    }
    const random = randomBytes(32).toString('base64');
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: random, JWT_SECRET_ALLOW_WEAK: 'true' })).toThrow(/JWT_SECRET_ALLOW_WEAK: not allowed/);
  });

  it('generates a strong secret under DATA_DIR when JWT_SECRET is unset, keeps it, and refuses a kept one made weak', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-secret-unit-'));
    try {
      const config = loadConfig({ DATA_DIR: dataDir });
      const generated = await jwtSecret(config);
      expect(secretWeakness(generated)).toBeNull();
      expect(await jwtSecret(config)).toBe(generated);
      writeFileSync(path.join(dataDir, 'jwt-secret'), 'secret\n');
      await expect(jwtSecret(config)).rejects.toThrow(ConfigError);
      await expect(jwtSecret(config)).rejects.toThrow(/jwt-secret: the JWT secret kept there must be at least 32 bytes/);
      expect(await jwtSecret(loadConfig({ DATA_DIR: dataDir, JWT_SECRET_ALLOW_WEAK: 'true' }))).toBe('secret');
      expect(readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8')).toBe('secret\n');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
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

describe('the original backend’s variables', () => {
  it('takes FRONTEND_URL’s origin as the one CORS origin when CORS_ORIGINS is unset or empty', () => {
    expect(loadConfig({ FRONTEND_URL: 'https://app.example.com/' }).CORS_ORIGINS).toEqual(['https://app.example.com']);
    expect(loadConfig({ FRONTEND_URL: 'http://localhost:3000/some/path', CORS_ORIGINS: '' }).CORS_ORIGINS).toEqual(['http://localhost:3000']);
    expect(loadConfig({}).CORS_ORIGINS).toEqual([]);
  });

  it('lets CORS_ORIGINS win over FRONTEND_URL, and says FRONTEND_URL is ignored then', () => {
    const c = loadConfig({ FRONTEND_URL: 'https://app.example.com', CORS_ORIGINS: 'https://a.io,https://b.io' });
    expect(c.CORS_ORIGINS).toEqual(['https://a.io', 'https://b.io']);
    expect(c.ignoredVariables.map((v) => v.name)).toEqual(['FRONTEND_URL']);
  });

  it('refuses a FRONTEND_URL that is not an http(s) URL, naming it', () => {
    expect(() => loadConfig({ FRONTEND_URL: 'app.example.com' })).toThrow(/FRONTEND_URL: must be an http\(s\) URL/);
    expect(() => loadConfig({ FRONTEND_URL: 'ftp://app.example.com' })).toThrow(/FRONTEND_URL/);
  });

  it('names each variable that is set but no longer read, with what replaced it, and none that are empty', () => {
    const c = loadConfig({
      BASE_URL: 'https://api.example.com',
      DJANGO_API_URL: 'http://django:8000',
      DB_DIALECT: 'postgres',
      PASSWORD_HASH_COST: '16384',
      SOCKETIO_NODE_PORT: '',
    });
    expect(c.ignoredVariables.map((v) => v.name)).toEqual(['BASE_URL', 'DJANGO_API_URL', 'DB_DIALECT', 'PASSWORD_HASH_COST']);
    expect(c.ignoredVariables.find((v) => v.name === 'PASSWORD_HASH_COST')?.reason).toMatch(/PASSWORD_HASH_MEMORY_KIB/);
    expect(loadConfig({ PORT: '8001', DB_HOST: 'db', FRONTEND_URL: 'https://app.example.com' }).ignoredVariables).toEqual([]);
  });

  it('accepts DB_DIALECT=postgres (ignored) and refuses any other dialect', () => {
    expect(loadConfig({ DB_DIALECT: 'PostgreSQL' }).ignoredVariables.map((v) => v.name)).toEqual(['DB_DIALECT']);
    expect(() => loadConfig({ DB_DIALECT: 'mysql' })).toThrow(/DB_DIALECT: this server runs on PostgreSQL only \(got "mysql"\)/);
  });
  it('keeps outbound requests off private targets by default, allows them on request, and refuses that in production', () => {
    expect(loadConfig({}).OUTBOUND_ALLOW_PRIVATE).toBe(false);
    expect(loadConfig({ OUTBOUND_ALLOW_PRIVATE: 'true' }).OUTBOUND_ALLOW_PRIVATE).toBe(true);
    expect(() => loadConfig({ OUTBOUND_ALLOW_PRIVATE: 'maybe' })).toThrow(/OUTBOUND_ALLOW_PRIVATE: must be true or false/);
    const random = 'Zq3v9XkP2mR7tW1yB5nC8dF4gH6jL0sQ_aE-uIoYx';
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: random, OUTBOUND_ALLOW_PRIVATE: 'true' })).toThrow(
      /OUTBOUND_ALLOW_PRIVATE: not allowed with NODE_ENV=production/,
    );
  });
});
