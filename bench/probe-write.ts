// Times the batch write path alone against a fresh database (no server, no clients).
import { mkdtempSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/adapters/embedded/embedded-postgres-server.js';
import { createSequelize } from '../src/adapters/sequelize/database.js';
import { SequelizeMessageRepository } from '../src/adapters/sequelize/sequelize-message-repository.js';
import { freshDatabase, quiet, seed } from './lib/seed.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-'));
chmodSync(dir, 0o711);
const db = await startEmbeddedPostgres({ dataDir: dir, logger: quiet });
const url = await freshDatabase(db.url, 'probe');
const data = await seed(url, { users: 1000, pairs: 500 });
const sequelize = createSequelize({ url, logger: quiet, poolMax: 4 });
for (const announce of [false, true]) {
  const repo = new SequelizeMessageRepository(sequelize, quiet, { maxBatchSize: Number(process.env.BATCH ?? 500), maxQueued: 1_000_000 });
  if (announce) repo.announceOn('chat_fanout', 'probe');
  const total = 20_000;
  const started = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const p = data.pairs[i % data.pairs.length]!;
    inflight.push(repo.append({ conversationId: p.conversationId, senderId: p.a.id, senderUsername: 'x', content: `probe ${i} ${'x'.repeat(64)}`, type: 'text', attachment: null, clientId: null, createdAt: new Date() }));
  }
  await Promise.all(inflight);
  const secs = (performance.now() - started) / 1000;
  console.log(`announce=${announce}: ${Math.round(total / secs)} rows/s`);
}
await sequelize.close();
await db.stop();
