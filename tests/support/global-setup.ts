import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/adapters/postgres/embedded/embedded-postgres-server.js';
import { silentLogger } from './silent-logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

let embedded: EmbeddedPostgresHandle | null = null;
let dir: string | null = null;

/** One real PostgreSQL for the whole run: DATABASE_URL if given, else an embedded one in a fresh temp folder. */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'chat-test-'));
    chmodSync(dir, 0o711);
    embedded = await startEmbeddedPostgres({ dataDir: dir, logger: silentLogger });
    url = embedded.url;
  }
  project.provide('databaseUrl', url);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
