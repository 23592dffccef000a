import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { originalVariables, type IgnoredVariable } from './original-variables.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(min).max(max);
const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);

/** Every variable the server reads; `.env.example` lists them with their defaults. */
const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(8001),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.preprocess(blankToUndefined, z.url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' }).optional()),
  DB_HOST: z.preprocess(blankToUndefined, z.string().optional()),
  DB_PORT: z.preprocess(blankToUndefined, int(1, 65535).optional()),
  DB_USER: z.preprocess(blankToUndefined, z.string().optional()),
  DB_PASSWORD: z.preprocess(blankToUndefined, z.string().optional()),
  DB_NAME: z.preprocess(blankToUndefined, z.string().optional()),
  DB_SCHEMA: z.preprocess(blankToUndefined, z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain identifier').optional()),
  DB_POOL_MAX: int(1, 1000).default(10),
  DATA_DIR: z.string().min(1).default('./.data'),
  EMBEDDED_DB_PORT: int(0, 65535).default(0),
  MIGRATE_ON_START: bool.default(true),
  JWT_SECRET: z.preprocess(blankToUndefined, z.string().optional()),
  JWT_TTL_SECONDS: int(60, 86_400).default(900),
  JWT_MAX_LIFETIME_SECONDS: int(60, 31_536_000).default(86_400),
  REFRESH_TOKEN_TTL_DAYS: int(1, 365).default(30),
  JWT_ISSUER: z.preprocess(blankToUndefined, z.string().max(512).optional()),
  JWT_AUDIENCE: z.preprocess(blankToUndefined, z.string().max(512).optional()),
  JWT_JWKS_URL: z.preprocess(blankToUndefined, z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional()),
  JWT_PUBLIC_KEY: z.preprocess(blankToUndefined, z.string().regex(/-----BEGIN PUBLIC KEY-----/, 'must be a PEM public key (SPKI)').optional()),
  JWT_USER_ID_CLAIM: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a claim name').default('sub'),
  PASSWORD_HASH_MEMORY_KIB: int(1024, 1_048_576).default(19_456),
  PASSWORD_HASH_TIME_COST: int(1, 100).default(2),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean)),
  // The original backend's single CORS origin, used when CORS_ORIGINS is empty (original-variables.ts).
  FRONTEND_URL: z.preprocess(blankToUndefined, z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional()),
  DB_DIALECT: z.preprocess(blankToUndefined, z.string().regex(/^postgres(ql)?$/i, 'this server runs on PostgreSQL only').optional()),
  MAX_CONTENT_LENGTH: int(1, 1_000_000).default(10_000),
  DUPLICATE_WINDOW_SECONDS: int(0, 3600).default(0),
  MAX_FRAME_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  MAX_BODY_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  RATE_LIMIT_PER_SECOND: z.coerce.number({ message: 'must be a number' }).min(0).default(50),
  RATE_LIMIT_BURST: int(1, 1_000_000).default(100),
  RATE_LIMITS: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on'),
  LOGIN_PER_IP_PER_MINUTE: int(0, 1_000_000).default(30),
  REGISTER_PER_IP_PER_MINUTE: int(0, 1_000_000).default(10),
  REST_SENDS_PER_USER_PER_MINUTE: int(0, 1_000_000).default(120),
  CONVERSATIONS_PER_USER_PER_MINUTE: int(0, 1_000_000).default(20),
  GROUPS_PER_USER_PER_HOUR: int(0, 1_000_000).default(50),
  MAX_CONNECTIONS_PER_USER: int(0, 1_000_000).default(50),
  MAX_CONNECTIONS_PER_ADDRESS: int(0, 1_000_000).default(1000),
  UPGRADE_MAX_IN_FLIGHT: int(1, 100_000).default(256),
  LOGIN_LOCKOUT_FAILURES: int(1, 1000).default(10),
  LOGIN_LOCKOUT_WINDOW_MINUTES: int(1, 10_080).default(15),
  LOGIN_LOCKOUT_MINUTES: int(1, 10_080).default(15),
  TRUST_PROXY_HOPS: int(0, 10).default(0),
  METRICS_PORT: int(0, 65535).default(9464),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_TOKEN: z.preprocess(blankToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  WS_IDLE_TIMEOUT_SECONDS: int(0, 960).default(120),
  WS_MAX_BACKPRESSURE_BYTES: int(1024, 1024 * 1024 * 1024).default(1024 * 1024),
  WS_MAX_IN_FLIGHT: int(1, 100_000).default(256),
  // At most 800, so a batch's ids always fit in one NOTIFY payload.
  WRITE_BATCH_MAX: int(1, 800).default(500),
  WRITE_BATCH_WAIT_MS: int(0, 1000).default(0),
  WRITE_QUEUE_MAX: int(1, 10_000_000).default(10_000),
  WRITE_LANES: int(1, 64).default(4),
  PRESENCE_LEASE_SECONDS: int(3, 600).default(20),
  PRESENCE_GRACE_MS: int(0, 60_000).default(5_000),
  TRANSPORT: z.enum(['auto', 'uws', 'node']).default('auto'),
  SOCKETIO_ENABLED: bool.default(true),
  WEB_CLIENT_ENABLED: bool.default(true),
  FANOUT: z.enum(['postgres', 'local']).default('postgres'),
  NOTIFY_CHANNEL: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier').default('chat_fanout'),
  WORKERS: int(1, 64).default(1),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
});

export type Config = z.infer<typeof schema> & {
  /** Variables set but not read, to be named in a warning at start-up. */
  readonly ignoredVariables: readonly IgnoredVariable[];
  /** The database to use, or null to start the embedded one. */
  readonly databaseUrl: string | null;
  readonly dataDir: string;
};

export class ConfigError extends Error {}

/** Reads `.env` (if present, without overriding the environment) and validates everything. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, envFile = '.env'): Config {
  if (env === process.env && existsSync(envFile)) process.loadEnvFile(envFile);
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      const value = env[name];
      const shown = name.includes('SECRET') || name.includes('PASSWORD') ? '(hidden)' : JSON.stringify(value);
      return `  ${name}: ${i.message}${value === undefined ? ' (missing)' : ` (got ${shown})`}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.WORKERS > 1 && c.PORT === 0) {
    throw new ConfigError('Invalid configuration:\n  WORKERS: several workers share one port, so PORT must not be 0');
  }
  if (c.NODE_ENV === 'production') {
    const weakness = c.JWT_SECRET ? secretWeakness(c.JWT_SECRET) : 'must be set in production';
    if (weakness) throw new ConfigError(`Invalid configuration:\n  JWT_SECRET: ${weakness} (generate one with: openssl rand -base64 48)`);
  }
  const original = originalVariables(env, c);
  return { ...c, CORS_ORIGINS: original.corsOrigins, ignoredVariables: original.ignored, databaseUrl: databaseUrl(c), dataDir: path.resolve(c.DATA_DIR) };
}

/**
 * Why a signing secret is too weak, or null: shorter than 32 bytes, too few
 * distinct characters, a short pattern repeated, or under 128 bits by a
 * character-frequency estimate (a random base64 secret of 32 bytes has ~190).
 */
export function secretWeakness(secret: string): string | null {
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < 32) return `must be at least 32 bytes (got ${bytes})`;
  const counts = new Map<string, number>();
  for (const ch of secret) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  if (counts.size < 10) return 'has too few distinct characters to be random';
  if (/^(.{1,16})\1+$/s.test(secret)) return 'is a short pattern repeated';
  let bitsPerChar = 0;
  for (const n of counts.values()) bitsPerChar -= (n / secret.length) * Math.log2(n / secret.length);
  if (bitsPerChar * secret.length < 128) return 'has too little entropy to be random';
  return null;
}

/** DATABASE_URL, or one built from the original DB_* variables, or null for the embedded database. */
function databaseUrl(c: z.infer<typeof schema>): string | null {
  if (c.DATABASE_URL) return c.DATABASE_URL;
  if (!c.DB_HOST) return null;
  const auth = c.DB_USER ? `${encodeURIComponent(c.DB_USER)}${c.DB_PASSWORD ? `:${encodeURIComponent(c.DB_PASSWORD)}` : ''}@` : '';
  return `postgres://${auth}${c.DB_HOST}:${c.DB_PORT ?? 5432}/${encodeURIComponent(c.DB_NAME ?? 'postgres')}`;
}
