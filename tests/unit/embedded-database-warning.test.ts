import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { freePort, killAll, PROCESS_TEST_ENV, startProcess, type ServerProcess } from '../support/server-process.js';

const dirs: string[] = [];
const servers: ServerProcess[] = [];
afterAll(async () => {
  // Gracefully first, so a supervisor stops its embedded PostgreSQL (its own process group) itself.
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGTERM');
  await Promise.race([Promise.all(servers.map((s) => s.exited)), new Promise((r) => setTimeout(r, 20_000))]);
  killAll();
  for (const d of dirs) {
    stopPostmaster(path.join(d, 'postgres', 'postmaster.pid'));
    rmSync(d, { recursive: true, force: true });
  }
}, 30_000);

/** A postmaster left behind by a server killed on failure. */
function stopPostmaster(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    if (pid > 0) process.kill(pid, 'SIGQUIT');
  } catch {
    // Already gone.
  }
}

const production = { ...PROCESS_TEST_ENV, NODE_ENV: 'production', JWT_SECRET: randomBytes(32).toString('base64'), TRANSPORT: 'node' };
const warnings = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string; dataDir?: string })
    .filter((entry) => entry.level === 40 && entry.msg.includes('embedded PostgreSQL'));

describe('production on the embedded database', () => {
  it('logs one JSON warning naming DATABASE_URL, from the supervisor and not from each of its two workers', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chat-prod-embedded-'));
    dirs.push(dataDir);
    chmodSync(dataDir, 0o711);
    const port = await freePort();
    const server = await startProcess({ ...production, DATA_DIR: dataDir, PORT: String(port), WORKERS: '2' });
    servers.push(server);
    // Both workers have started (each logs its own "listening on"): a warning from either would be out by now.
    await server.waitFor(/"listening on[\s\S]*"listening on/, 60_000);

    const found = warnings(server.output());
    expect(found).toHaveLength(1);
    expect(found[0]!.msg).toMatch(/^NODE_ENV=production on the embedded PostgreSQL under DATA_DIR: set DATABASE_URL /);
    expect(found[0]!.dataDir).toBe(dataDir);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 120_000);

  it('stays quiet in production on a configured PostgreSQL', async () => {
    const server = await startProcess({ ...production, DATABASE_URL: await freshDatabase('prod_url') });
    servers.push(server);
    expect(server.output()).toContain('"listening on');
    expect(warnings(server.output())).toEqual([]);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});
