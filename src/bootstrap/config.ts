import { BROKERS } from './fanout.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { checkOutboundUrl } from '../adapters/outbound/outbound-url.js';
import { webhookSecretProblem } from '../adapters/outbound/webhook-signature.js';
import { originalVariables, type IgnoredVariable } from './original-variables.js';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');
/** A number's own messages: zod would otherwise report a range failure with the type's message. */
const number = () => z.coerce.number({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a number' : undefined) });
/** Below the minimum says the minimum; above the maximum says the whole range. */
const int = (min: number, max: number) => number().int('must be an integer').min(min, `must be at least ${min}`).max(max, `must be between ${min} and ${max}`);
const blankToUndefined = (v: unknown) => (v === '' ? undefined : v);

export interface VariableDoc {
  readonly group: 'server' | 'database' | 'auth' | 'limits' | 'connections' | 'write path' | 'fan-out' | 'metrics' | 'outbound' | 'webhooks' | 'push' | 'files';
  readonly description: string;
}

/** What each variable is for: docs/CONFIGURATION.md and .env.example are generated from it (`npm run docs:config`). */
export const documented = z.registry<VariableDoc>();

/** Every variable the server reads, validated at start-up. */
export const configSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'])
    .default('development')
    .register(documented, { group: 'server', description: '`production` requires `JWT_SECRET` (none is generated) and refuses `JWT_SECRET_ALLOW_WEAK`' }),
  HOST: z.string().min(1).default('0.0.0.0').register(documented, { group: 'server', description: 'Address to listen on' }),
  PORT: int(0, 65535).default(8001).register(documented, { group: 'server', description: 'Port for REST, `/ws` and Socket.IO (0: a free one)' }),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .register(documented, { group: 'server', description: 'pino level; JSON lines, pretty in development on a terminal' }),
  ACCESS_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info').register(documented, {
    group: 'server',
    description: 'Level of the one log line per REST request (method, route, status, duration, bytes, request id); `silent`: none',
  }),
  DATABASE_URL: z.preprocess(blankToUndefined, z.url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' }).optional()).register(documented, {
    group: 'database',
    description: 'PostgreSQL to use (postgres://user:password@host:5432/db); empty (and no DB_HOST): the embedded one under DATA_DIR',
  }),
  DB_HOST: z
    .preprocess(blankToUndefined, z.string().optional())
    .register(documented, { group: 'database', description: 'The original backend’s variables, used when DATABASE_URL is empty' }),
  DB_PORT: z.preprocess(blankToUndefined, int(1, 65535).optional()).register(documented, { group: 'database', description: '' }),
  DB_USER: z.preprocess(blankToUndefined, z.string().optional()).register(documented, { group: 'database', description: '' }),
  DB_PASSWORD: z.preprocess(blankToUndefined, z.string().optional()).register(documented, { group: 'database', description: '' }),
  DB_NAME: z.preprocess(blankToUndefined, z.string().optional()).register(documented, { group: 'database', description: '' }),
  DB_SCHEMA: z
    .preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain identifier')
        .optional(),
    )
    .register(documented, { group: 'database', description: 'Schema for the tables (created if missing); default `public` (docs/MIGRATING.md)' }),
  DB_POOL_MAX: int(1, 1000).default(10).register(documented, { group: 'database', description: 'Connections per server process' }),
  DATA_DIR: z
    .string()
    .min(1)
    .default('./.data')
    .register(documented, { group: 'database', description: 'Embedded database and generated secrets (any writable folder; works as root)' }),
  EMBEDDED_DB_PORT: int(0, 65535).default(0).register(documented, { group: 'database', description: 'Port of the embedded database (0: a free one)' }),
  STORAGE: z.enum(['local', 's3'], { message: 'must be local or s3' }).default('local').register(documented, {
    group: 'files',
    description: 'Where uploaded files are kept: `local` (DATA_DIR/files) or `s3` (an S3-compatible bucket, S3_*)',
  }),
  S3_BUCKET: z.preprocess(blankToUndefined, z.string().optional()).register(documented, { group: 'files', description: 'The bucket (STORAGE=s3)' }),
  S3_REGION: z.string().min(1).default('us-east-1').register(documented, { group: 'files', description: 'The bucket’s region' }),
  S3_ENDPOINT: z
    .preprocess(blankToUndefined, z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional())
    .register(documented, { group: 'files', description: 'An S3-compatible service’s endpoint (MinIO, R2...); empty: AWS' }),
  S3_ACCESS_KEY_ID: z
    .preprocess(blankToUndefined, z.string().optional())
    .register(documented, { group: 'files', description: 'Credentials; empty: the AWS SDK’s default chain (environment, instance role)' }),
  S3_SECRET_ACCESS_KEY: z.preprocess(blankToUndefined, z.string().optional()).register(documented, { group: 'files', description: '' }),
  S3_FORCE_PATH_STYLE: bool.default(false).register(documented, { group: 'files', description: 'Path-style URLs (endpoint/bucket/key), as MinIO needs' }),
  UPLOAD_MAX_BYTES: int(1, 5 * 1024 * 1024 * 1024)
    .default(25 * 1024 * 1024)
    .register(documented, { group: 'files', description: 'Bytes per uploaded file (`UPLOAD_TOO_LARGE`); local uploads pass through memory' }),
  UPLOAD_ALLOWED_TYPES: z
    .string()
    .default('image/png,image/jpeg,image/gif,image/webp,video/mp4,video/quicktime,video/webm,audio/mpeg,audio/ogg,audio/wav,application/pdf,text/plain')
    .transform((v) =>
      v
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    )
    .register(documented, {
      group: 'files',
      description: 'Comma-separated media types (or `family/*`) accepted, checked against the file’s bytes (`UPLOAD_TYPE_NOT_ALLOWED`)',
    }),
  UPLOAD_DAILY_QUOTA_BYTES: int(0, Number.MAX_SAFE_INTEGER)
    .default(500 * 1024 * 1024)
    .register(documented, { group: 'files', description: 'Bytes one user may upload per 24 hours (`UPLOAD_QUOTA_EXCEEDED`); 0: no quota' }),
  UPLOAD_GC_HOURS: int(1, 8760).default(24).register(documented, { group: 'files', description: 'Uploads no message took are removed after this many hours' }),
  IMAGE_MAX_PIXELS: int(1, 1_000_000_000)
    .default(50_000_000)
    .register(documented, { group: 'files', description: 'Pixels an uploaded image may have (`IMAGE_TOO_LARGE`), checked from its header' }),
  FILE_LINK_SECONDS: int(10, 86_400).default(900).register(documented, {
    group: 'files',
    description: 'Signed download links last between this and twice this; also how long upload URLs last',
  }),
  FILES_BASE_URL: z.preprocess(blankToUndefined, z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional()).register(documented, {
    group: 'files',
    description: 'Origin put before this server’s file links (https://chat.example.com); empty: paths relative to the API',
  }),
  MIGRATE_ON_START: bool.default(true).register(documented, { group: 'database', description: 'Apply migrations at start-up (else `npm run migrate`)' }),
  JWT_SECRET: z.preprocess(blankToUndefined, z.string().optional()).register(documented, {
    group: 'auth',
    description: 'HS256 key for this server’s tokens: 32+ random bytes, checked in every mode (unset: generated under DATA_DIR, except in production)',
  }),
  JWT_SECRET_ALLOW_WEAK: bool.default(false).register(documented, {
    group: 'auth',
    description: 'Accept a short or low-entropy `JWT_SECRET` (for tests only; refused with `NODE_ENV=production`)',
  }),
  JWT_TTL_SECONDS: int(60, 86_400).default(900).register(documented, { group: 'auth', description: 'Lifetime of access tokens' }),
  JWT_MAX_LIFETIME_SECONDS: int(60, 31_536_000)
    .default(86_400)
    .register(documented, { group: 'auth', description: 'No token living longer than this is accepted, whoever signed it' }),
  REFRESH_TOKEN_TTL_DAYS: int(1, 365).default(30).register(documented, { group: 'auth', description: 'Lifetime of refresh tokens (each works once)' }),
  JWT_ISSUER: z
    .preprocess(blankToUndefined, z.string().max(512).optional())
    .register(documented, { group: 'auth', description: 'Required `iss` of every token (and written into this server’s)' }),
  JWT_AUDIENCE: z
    .preprocess(blankToUndefined, z.string().max(512).optional())
    .register(documented, { group: 'auth', description: 'Required `aud` of every token (and written into this server’s)' }),
  JWT_JWKS_URL: z
    .preprocess(blankToUndefined, z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional())
    .register(documented, { group: 'auth', description: 'An identity provider’s keys (RS256/ES256)' }),
  JWT_PUBLIC_KEY: z
    .preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/-----BEGIN PUBLIC KEY-----/, 'must be a PEM public key (SPKI)')
        .optional(),
    )
    .register(documented, { group: 'auth', description: 'Or one PEM (SPKI) public key of it' }),
  JWT_USER_ID_CLAIM: z
    .preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a claim name')
        .optional(),
    )
    .register(documented, {
      group: 'auth',
      description:
        'Claim carrying the user id (`sub` when unset; `user_id` for Django REST SimpleJWT). Setting it, to any claim, also accepts HS256 tokens without a session: an identity provider’s signed with `JWT_SECRET`',
    }),
  PASSWORD_HASH_MEMORY_KIB: int(1024, 1_048_576).default(19_456).register(documented, { group: 'auth', description: 'argon2id memory cost' }),
  PASSWORD_HASH_TIME_COST: int(1, 100).default(2).register(documented, { group: 'auth', description: 'argon2id passes' }),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .register(documented, {
      group: 'server',
      description: 'Comma-separated browser origins allowed on REST, upgrades and Socket.IO; empty: FRONTEND_URL’s, else any origin',
    }),
  // The original backend's single CORS origin, used when CORS_ORIGINS is empty (original-variables.ts).
  FRONTEND_URL: z
    .preprocess(blankToUndefined, z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional())
    .register(documented, { group: 'server', description: 'The original backend’s single CORS origin, used when CORS_ORIGINS is empty' }),
  DB_DIALECT: z
    .preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^postgres(ql)?$/i, 'this server runs on PostgreSQL only')
        .optional(),
    )
    .register(documented, { group: 'database', description: 'Accepted from the original backend’s .env; PostgreSQL only' }),
  MAX_CONTENT_LENGTH: int(1, 1_000_000).default(10_000).register(documented, { group: 'limits', description: 'Characters per message (`CONTENT_TOO_LONG`)' }),
  // 5 s as the original backend did, so its clients (no client_id) do not store a double tap twice after a cut-over.
  DUPLICATE_WINDOW_SECONDS: int(0, 3600).default(5).register(documented, {
    group: 'limits',
    description:
      'A send without client_id that repeats one of the sender’s in the conversation within this window answers with the first (docs/API.md); 0: off',
  }),
  MAX_FRAME_BYTES: int(1024, 16 * 1024 * 1024)
    .default(64 * 1024)
    .register(documented, { group: 'limits', description: 'Larger frames or Socket.IO packets close the connection (1009)' }),
  MAX_BODY_BYTES: int(1024, 16 * 1024 * 1024)
    .default(64 * 1024)
    .register(documented, { group: 'limits', description: 'Larger REST bodies get 413' }),
  RATE_LIMIT_PER_SECOND: number()
    .min(0, 'must be at least 0')
    .default(50)
    .register(documented, { group: 'limits', description: 'Events per connection per second (0: no limit)' }),
  RATE_LIMIT_BURST: int(1, 1_000_000).default(100).register(documented, { group: 'limits', description: 'Events a connection may send at once' }),
  RATE_LIMITS: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on').register(documented, {
    group: 'limits',
    description: '`off` turns off every per-address and per-user limit and the connection caps (not the login lockout)',
  }),
  LOGIN_PER_IP_PER_MINUTE: int(0, 1_000_000).default(30).register(documented, { group: 'limits', description: 'Logins per client address' }),
  REGISTER_PER_IP_PER_MINUTE: int(0, 1_000_000).default(10).register(documented, { group: 'limits', description: 'Registrations per client address' }),
  REST_SENDS_PER_USER_PER_MINUTE: int(0, 1_000_000).default(120).register(documented, { group: 'limits', description: 'Messages sent over REST per user' }),
  CONVERSATIONS_PER_USER_PER_MINUTE: int(0, 1_000_000).default(20).register(documented, { group: 'limits', description: 'Conversations created per user' }),
  SEARCHES_PER_USER_PER_MINUTE: int(0, 1_000_000).default(30).register(documented, { group: 'limits', description: 'Message searches per user' }),
  GROUPS_PER_USER_PER_HOUR: int(0, 1_000_000).default(50).register(documented, { group: 'limits', description: 'Groups created per user' }),
  DIRECTORY_PER_USER_PER_MINUTE: int(0, 1_000_000)
    .default(20)
    .register(documented, { group: 'limits', description: 'Directory searches (`GET /users`) per user' }),
  REPORTS_PER_USER_PER_HOUR: int(0, 1_000_000).default(20).register(documented, { group: 'limits', description: 'Message reports per user (5 at once)' }),
  DIRECTORY: z.enum(['all', 'shared', 'off'], { message: 'must be all, shared or off' }).default('shared').register(documented, {
    group: 'auth',
    description: 'Who `GET /users` finds: everyone, people sharing a conversation with the caller, or nobody (docs/SECURITY.md)',
  }),
  MAX_CONNECTIONS_PER_USER: int(0, 1_000_000).default(50).register(documented, { group: 'limits', description: 'Open connections of one user, per process' }),
  MAX_CONNECTIONS_PER_ADDRESS: int(0, 1_000_000)
    .default(1000)
    .register(documented, { group: 'limits', description: 'Open connections from one address, per process' }),
  UPGRADE_MAX_IN_FLIGHT: int(1, 100_000)
    .default(256)
    .register(documented, { group: 'limits', description: 'Upgrades being authenticated at once, per process (503 beyond)' }),
  LOGIN_LOCKOUT_FAILURES: int(1, 1000).default(10).register(documented, { group: 'limits', description: 'Failed logins of one account that lock it' }),
  LOGIN_LOCKOUT_WINDOW_MINUTES: int(1, 10_080).default(15).register(documented, { group: 'limits', description: 'The window those failures are counted in' }),
  LOGIN_LOCKOUT_MINUTES: int(1, 10_080).default(15).register(documented, { group: 'limits', description: 'How long the lock lasts' }),
  PASSWORD_RESET_TTL_MINUTES: int(1, 1440)
    .default(30)
    .register(documented, { group: 'auth', description: 'How long a mailed password reset link works (once)' }),
  PASSWORD_RESETS_PER_ACCOUNT_PER_HOUR: int(1, 100).default(3).register(documented, {
    group: 'limits',
    description: 'Reset links mailed to one account, across processes; more requests get the same answer and no mail',
  }),
  PASSWORD_RESETS_PER_ADDRESS_PER_HOUR: int(0, 1000).default(5).register(documented, {
    group: 'limits',
    description: 'Reset requests for one e-mail address, known or not, per process; more get the same answer and no mail',
  }),
  PASSWORD_RESETS_PER_IP_PER_MINUTE: int(0, 1_000_000).default(5).register(documented, { group: 'limits', description: 'Reset requests per client address' }),
  SMTP_URL: z.preprocess(blankToUndefined, z.url({ protocol: /^smtps?$/, message: 'must be an smtp:// or smtps:// URL' }).optional()).register(documented, {
    group: 'outbound',
    description: 'Mail server for password reset links (`smtps://user:pass@host:465`); unset: development logs the mail, other modes only warn',
  }),
  MAIL_FROM: z.string().min(3).max(320).default('Chat <no-reply@localhost>').register(documented, { group: 'outbound', description: 'From header of mail' }),
  PUBLIC_URL: z.preprocess(blankToUndefined, z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional()).register(documented, {
    group: 'server',
    description: 'Where people open the browser app, for links in mail; unset: FRONTEND_URL, else http://localhost:PORT',
  }),
  TRUST_PROXY_HOPS: int(0, 10)
    .default(0)
    .register(documented, { group: 'server', description: 'Proxies in front whose X-Forwarded-For is trusted (docs/SECURITY.md)' }),
  METRICS_PORT: int(0, 65535)
    .default(9464)
    .register(documented, { group: 'metrics', description: 'Prometheus metrics of the whole process tree on their own port (0: off)' }),
  METRICS_HOST: z.string().min(1).default('127.0.0.1').register(documented, { group: 'metrics', description: 'Address of the metrics port' }),
  METRICS_TOKEN: z
    .preprocess(blankToUndefined, z.string().min(16, 'must be at least 16 characters').optional())
    .register(documented, { group: 'metrics', description: 'When set, also serve `/metrics` on the public port to this bearer token' }),
  WS_IDLE_TIMEOUT_SECONDS: int(0, 960)
    .default(120)
    .register(documented, { group: 'connections', description: 'A silent connection is dropped after this; the server pings' }),
  WS_MAX_BACKPRESSURE_BYTES: int(1024, 1024 * 1024 * 1024)
    .default(1024 * 1024)
    .register(documented, { group: 'connections', description: 'A consumer this far behind is disconnected (4008)' }),
  WS_MAX_IN_FLIGHT: int(1, 100_000).default(256).register(documented, { group: 'limits', description: 'Unanswered events per connection' }),
  // At most 800, so a batch's ids always fit in one NOTIFY payload.
  WRITE_BATCH_MAX: int(1, 800)
    .default(500)
    .register(documented, { group: 'write path', description: 'Messages per insert statement (at most 800, so a batch’s ids fit one NOTIFY)' }),
  WRITE_BATCH_WAIT_MS: int(0, 1000)
    .default(0)
    .register(documented, { group: 'write path', description: 'Extra wait for a batch to fill (0: none; batches form while the previous one commits)' }),
  WRITE_QUEUE_MAX: int(1, 10_000_000)
    .default(10_000)
    .register(documented, { group: 'write path', description: 'Messages waiting to be written, per process (`OVERLOADED` beyond)' }),
  WRITE_LANES: z.preprocess(blankToUndefined, int(1, 64).optional()).register(documented, {
    group: 'write path',
    description: 'Ordered write lanes, cluster-wide; unset: the count the database already uses, 1 for a new one (docs/SCALING.md: what N to choose)',
  }),
  PRESENCE_LEASE_SECONDS: int(3, 600)
    .default(20)
    .register(documented, { group: 'connections', description: 'How long a process’s presence outlives it if it dies' }),
  PRESENCE_GRACE_MS: int(0, 60_000)
    .default(5_000)
    .register(documented, { group: 'connections', description: 'A user whose last connection closes is shown offline after this, unless they reconnect' }),
  TRANSPORT: z.enum(['auto', 'uws', 'node']).default('auto').register(documented, {
    group: 'server',
    description:
      '`auto`: the official uWebSockets.js if installed, else the npm build where it loads natively, else Node’s http + ws; `uws` refuses to start without a native build; `node` always the Node transport',
  }),
  SOCKETIO_ENABLED: bool
    .default(true)
    .register(documented, { group: 'server', description: 'Serve the Socket.IO endpoint at `/socket.io/` for clients of the original backend' }),
  SOCKETIO_CONNECT_TIMEOUT_MS: int(500, 60_000).default(5_000).register(documented, {
    group: 'server',
    description: 'A Socket.IO session must connect (with a valid token in the handshake or in `auth.token`) within this, or it is closed',
  }),
  WEB_CLIENT_ENABLED: bool
    .default(true)
    .register(documented, { group: 'server', description: 'Serve the browser app at `/` and the client module at `/chat-client.js`' }),
  FANOUT: z
    .enum(Object.keys(BROKERS) as [keyof typeof BROKERS, ...Array<keyof typeof BROKERS>])
    .default('postgres')
    .register(documented, {
      group: 'fan-out',
      description:
        'The broker that carries events between processes: `postgres` (LISTEN/NOTIFY, nothing else to run), `nats` (NATS_URL), `redis` (REDIS_URL) or `local` (one process alone). docs/SCALING.md says which when',
    }),
  NOTIFY_CHANNEL: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier')
    .default('chat_fanout')
    .register(documented, {
      group: 'fan-out',
      description: 'The LISTEN/NOTIFY channel (with every broker, the database announces access changes made outside the server on it)',
    }),
  NATS_URL: z.preprocess(blankToUndefined, z.string().max(4096).optional()).register(documented, {
    group: 'fan-out',
    description: 'With FANOUT=nats: the servers, comma-separated (`nats://user:pass@host:4222`, `tls://host:4222`); credentials are never logged',
  }),
  REDIS_URL: z.preprocess(blankToUndefined, z.string().max(4096).optional()).register(documented, {
    group: 'fan-out',
    description: 'With FANOUT=redis: the server (`redis://user:pass@host:6379`, `rediss://` for TLS); credentials are never logged',
  }),
  FANOUT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -')
    .default('chat')
    .register(documented, { group: 'fan-out', description: 'NATS subjects and Redis channels begin with it (`chat.c.42`, `chat:c:42`)' }),
  FANOUT_GAP_WAIT_MS: int(10, 60_000).default(500).register(documented, {
    group: 'fan-out',
    description: 'How long a message waits for an earlier one of its conversation (or lane) before that one is read from the database',
  }),
  FANOUT_CHECK_MS: int(0, 600_000).default(1_000).register(documented, {
    group: 'fan-out',
    description:
      'NATS and Redis: how often the followed conversations are compared with the database, so a message whose publish was lost is delivered within twice this (0: never)',
  }),
  VAPID_PUBLIC_KEY: z
    .preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{87}$/, 'must be an uncompressed P-256 public key in base64url (87 characters)')
        .optional(),
    )
    .register(documented, {
      group: 'push',
      description: 'Web Push (VAPID) public key; unset with the private key: a pair generated once and kept under DATA_DIR',
    }),
  VAPID_PRIVATE_KEY: z
    .preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{43}$/, 'must be a P-256 private key in base64url (43 characters)')
        .optional(),
    )
    .register(documented, { group: 'push', description: 'Its private key (set both or neither)' }),
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/, 'must be a mailto: address or an https: URL')
    .max(512)
    .default('mailto:push@example.invalid')
    .register(documented, {
      group: 'push',
      description: 'Who push services may contact about this server’s pushes (`mailto:` or `https:`); set it in production',
    }),
  PUSH_ALLOWED_HOSTS: z
    .string()
    .max(2048)
    .default('fcm.googleapis.com,*.push.services.mozilla.com,*.notify.windows.com,web.push.apple.com,*.push.apple.com')
    .register(documented, {
      group: 'push',
      description:
        'Push services a subscription’s endpoint may name, comma-separated (`*.example.com` for any host under it, `*` for any): the browsers’ by default, so no one can point pushes at a host that holds them up',
    }),
  PUSH_MAX_SUBSCRIPTIONS: int(1, 1000)
    .default(10)
    .register(documented, { group: 'push', description: 'Push subscriptions per user; registering one more drops the one registered longest ago' }),
  PUSH_COALESCE_MS: int(0, 600_000).default(2_000).register(documented, {
    group: 'push',
    description: 'An offline user’s first unread message in a conversation opens a window this long; one push then covers every message of it',
  }),
  PUSH_INCLUDE_CONTENT: bool
    .default(false)
    .register(documented, { group: 'push', description: 'Put the message’s content (first 1000 characters) into the push; off: only ids, count and sender' }),
  PUSH_CONCURRENCY: int(1, 1000).default(16).register(documented, { group: 'push', description: 'Pushes in flight at once, per server process' }),
  PUSH_TIMEOUT_MS: int(100, 60_000)
    .default(10_000)
    .register(documented, { group: 'push', description: 'A push service must have answered within this (connect, headers and body)' }),
  WORKERS: int(1, 64).default(1).register(documented, { group: 'server', description: 'Server processes sharing PORT (docs/SCALING.md)' }),
  OUTBOUND_ALLOW_PRIVATE: bool.default(false).register(documented, {
    group: 'outbound',
    description:
      'For development and tests only: let requests the server makes (webhooks, push) use `http:` and reach private, loopback and other non-public addresses (docs/SECURITY.md)',
  }),
  WEBHOOK_URL: z.preprocess(blankToUndefined, z.string().max(2048).optional()).register(documented, {
    group: 'webhooks',
    description:
      'An endpoint that receives every stream event as a Standard Webhook (docs/WEBHOOKS.md); https and a public address (see OUTBOUND_ALLOW_PRIVATE)',
  }),
  WEBHOOK_SECRET: z.preprocess(blankToUndefined, z.string().max(200).optional()).register(documented, {
    group: 'webhooks',
    description: 'Required with WEBHOOK_URL: `whsec_` + base64 of 24-64 random bytes (generate with: echo whsec_$(openssl rand -base64 32))',
  }),
  WEBHOOK_TIMEOUT_MS: int(100, 120_000)
    .default(10_000)
    .register(documented, { group: 'webhooks', description: 'One attempt’s deadline: connect, answer and body' }),
  WEBHOOK_RETRY_BASE_MS: int(10, 3_600_000)
    .default(5_000)
    .register(documented, { group: 'webhooks', description: 'Retries wait a random time up to this, doubled per attempt (full jitter)' }),
  WEBHOOK_RETRY_MAX_MS: int(10, 86_400_000).default(900_000).register(documented, { group: 'webhooks', description: 'The longest wait between two attempts' }),
  WEBHOOK_RETRY_HOURS: number().min(0.0001, 'must be at least 0.0001').max(720, 'must be between 0.0001 and 720').default(24).register(documented, {
    group: 'webhooks',
    description: 'A delivery failing this long is dead-lettered and the endpoint moves on (`replay` delivers it again)',
  }),
  WEBHOOK_MAX_ENDPOINTS: int(1, 1000)
    .default(20)
    .register(documented, { group: 'webhooks', description: 'Endpoints staff may have (each has up to WEBHOOK_CONCURRENCY requests in flight)' }),
  WEBHOOK_CONCURRENCY: int(1, 64).default(8).register(documented, {
    group: 'webhooks',
    description: 'Conversations delivered side by side per endpoint (each conversation’s events stay in order, one request at a time)',
  }),
  WEBHOOK_POLL_MS: int(10, 60_000).default(250).register(documented, { group: 'webhooks', description: 'How often an idle endpoint looks for new events' }),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000).register(documented, {
    group: 'server',
    description: 'How long shutdown waits for the events and requests already running (new ones are refused with SERVICE_UNAVAILABLE)',
  }),
});

export type Config = z.infer<typeof configSchema> & {
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
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      const value = env[name];
      const shown = /SECRET|PASSWORD|PRIVATE|SMTP_URL/.test(name) ? '(hidden)' : JSON.stringify(value);
      return `  ${name}: ${i.message}${value === undefined ? ' (missing)' : ` (got ${shown})`}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.WORKERS > 1 && c.PORT === 0) {
    throw new ConfigError('Invalid configuration:\n  WORKERS: several workers share one port, so PORT must not be 0');
  }
  if (c.JWT_SECRET_ALLOW_WEAK && c.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration:\n  JWT_SECRET_ALLOW_WEAK: not allowed with NODE_ENV=production');
  }
  if (c.OUTBOUND_ALLOW_PRIVATE && c.NODE_ENV === 'production') {
    throw new ConfigError(
      'Invalid configuration:\n  OUTBOUND_ALLOW_PRIVATE: not allowed with NODE_ENV=production (it lets requests the server makes reach its own network)',
    );
  }
  const webhook = webhookProblem(c);
  if (webhook) throw new ConfigError(`Invalid configuration:\n  ${webhook}`);
  const weakness = jwtSecretProblem(c);
  if (weakness) throw new ConfigError(`Invalid configuration:\n  JWT_SECRET: ${weakness} (generate one with: openssl rand -base64 48)`);
  if (c.STORAGE === 's3' && !c.S3_BUCKET) throw new ConfigError('Invalid configuration:\n  S3_BUCKET: required with STORAGE=s3 (missing)');
  if (c.FANOUT === 'nats' && !c.NATS_URL) throw new ConfigError('Invalid configuration:\n  NATS_URL: required with FANOUT=nats (missing)');
  if (c.FANOUT === 'redis' && !c.REDIS_URL) throw new ConfigError('Invalid configuration:\n  REDIS_URL: required with FANOUT=redis (missing)');
  if ((c.VAPID_PUBLIC_KEY === undefined) !== (c.VAPID_PRIVATE_KEY === undefined))
    throw new ConfigError('Invalid configuration:\n  VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY: set both or neither (neither: a pair is generated under DATA_DIR)');
  const original = originalVariables(env, c);
  return { ...c, CORS_ORIGINS: original.corsOrigins, ignoredVariables: original.ignored, databaseUrl: databaseUrl(c), dataDir: path.resolve(c.DATA_DIR) };
}

/**
 * Production on the embedded database runs, but on a PostgreSQL nobody
 * operates (backups, upgrades, monitoring): what to set instead, or null.
 */
export function embeddedDatabaseWarning(c: Config): string | null {
  if (c.NODE_ENV !== 'production' || c.databaseUrl !== null) return null;
  return 'NODE_ENV=production on the embedded PostgreSQL under DATA_DIR: set DATABASE_URL (or DB_HOST with DB_USER, DB_PASSWORD, DB_NAME) to a PostgreSQL server you run and back up';
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

/** What is wrong with JWT_SECRET, in every mode: a guessable secret lets anyone sign tokens for any user. */
function jwtSecretProblem(c: z.infer<typeof configSchema>): string | null {
  if (!c.JWT_SECRET) return c.NODE_ENV === 'production' ? 'must be set in production' : null;
  return c.JWT_SECRET_ALLOW_WEAK ? null : secretWeakness(c.JWT_SECRET);
}

/** What is wrong with WEBHOOK_URL and WEBHOOK_SECRET together, or null. */
function webhookProblem(c: z.infer<typeof configSchema>): string | null {
  if (c.WEBHOOK_SECRET !== undefined) {
    const problem = webhookSecretProblem(c.WEBHOOK_SECRET);
    if (problem) return `WEBHOOK_SECRET: ${problem} (generate one with: echo whsec_$(openssl rand -base64 32))`;
  }
  if (c.WEBHOOK_URL === undefined) return null;
  const checked = checkOutboundUrl(c.WEBHOOK_URL, c.OUTBOUND_ALLOW_PRIVATE);
  if (!checked.ok)
    return `WEBHOOK_URL: ${checked.reason}${c.OUTBOUND_ALLOW_PRIVATE ? '' : ' (OUTBOUND_ALLOW_PRIVATE=true allows http and local receivers, for development)'}`;
  if (c.WEBHOOK_SECRET === undefined) return 'WEBHOOK_SECRET: required with WEBHOOK_URL (missing; generate one with: echo whsec_$(openssl rand -base64 32))';
  return null;
}

/** DATABASE_URL, or one built from the original DB_* variables, or null for the embedded database. */
function databaseUrl(c: z.infer<typeof configSchema>): string | null {
  if (c.DATABASE_URL) return c.DATABASE_URL;
  if (!c.DB_HOST) return null;
  const auth = c.DB_USER ? `${encodeURIComponent(c.DB_USER)}${c.DB_PASSWORD ? `:${encodeURIComponent(c.DB_PASSWORD)}` : ''}@` : '';
  return `postgres://${auth}${c.DB_HOST}:${c.DB_PORT ?? 5432}/${encodeURIComponent(c.DB_NAME ?? 'postgres')}`;
}
