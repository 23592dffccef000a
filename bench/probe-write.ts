// Times the batch write path alone against a fresh database (no server, no clients).
import { mkdtempSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/adapters/embedded/embedded-postgres-server.js';
import { MessageWriter } from '../src/adapters/pg-fanout/message-writer.js';
import { ensureLanes } from '../src/adapters/pg-fanout/write-lanes.js';
import { createPgPool } from '../src/adapters/shared/postgres.js';
import { freshDatabase, quiet, seed } from './lib/seed.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-'));
chmodSync(dir, 0o711);
const db = await startEmbeddedPostgres({ dataDir: dir, logger: quiet });
const url = await freshDatabase(db.url, 'probe');
const data = await seed(url, { users: 1000, pairs: 500 });
const pool = createPgPool({ url, max: 16, applicationName: 'probe' });
for (const lanes of [1, Number(process.env.LANES ?? 4)]) {
  for (const announce of [false, true]) {
    await pool.query('DELETE FROM write_lanes');
    await ensureLanes(pool, lanes, async () => 0);
    const writer = new MessageWriter(pool, { lanes, announce: announce ? { channel: 'chat_fanout', nodeId: 'probe' } : null, maxBatchSize: Number(process.env.BATCH ?? 500), maxQueued: 1_000_000, logger: quiet });
    const total = 20_000;
    const started = performance.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const p = data.pairs[i % data.pairs.length]!;
      inflight.push(writer.append({ conversationId: p.conversationId, senderId: p.a.id, senderUsername: 'x', content: `probe ${i} ${'x'.repeat(64)}`, type: 'text', attachment: null, clientId: null, createdAt: new Date() }));
    }
    await Promise.all(inflight);
    const secs = (performance.now() - started) / 1000;
    console.log(`lanes=${lanes} announce=${announce}: ${Math.round(total / secs)} rows/s`);
  }
}
await pool.end();
await db.stop();
