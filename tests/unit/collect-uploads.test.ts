import { describe, expect, it } from 'vitest';
import { CollectUploads } from '../../src/application/files/collect-uploads.js';
import type { ByteRange, FileStorage } from '../../src/application/ports/uploads.js';
import { InMemoryUploadRepository } from '../../src/adapters/memory/in-memory-upload-repository.js';

/** Keys in a set: what the collector removes is what is gone. */
class SetStorage implements FileStorage {
  readonly name = 'local' as const;
  readonly keys = new Set<string>();
  write(key: string): Promise<void> {
    this.keys.add(key);
    return Promise.resolve();
  }
  read(_key: string, _range?: ByteRange): Promise<Uint8Array | null> {
    return Promise.resolve(null);
  }
  size(): Promise<number | null> {
    return Promise.resolve(null);
  }
  remove(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.keys.delete(k);
    return Promise.resolve();
  }
  uploadTarget(): Promise<null> {
    return Promise.resolve(null);
  }
  downloadUrl(): Promise<null> {
    return Promise.resolve(null);
  }
}

const HOUR = 3_600_000;

describe('removing uploads no message took', () => {
  it('removes rows and bytes of unclaimed uploads older than the grace period, and keeps newer ones and claimed ones', async () => {
    const uploads = new InMemoryUploadRepository();
    const storage = new SetStorage();
    let now = Date.UTC(2026, 11, 4);
    const add = async (id: string, ageHours: number) => {
      await uploads.create({ id, ownerId: 1, name: 'a.pdf', declaredMime: 'application/pdf', size: 10, createdAt: new Date(now - ageHours * HOUR) }, 0);
      await uploads.complete(id, { mime: 'application/pdf', size: 10, width: null, height: null, hasThumbnail: false });
      await storage.write(`uploads/${id}`);
    };
    await add('old', 30);
    await add('old-claimed', 30);
    await add('new', 1);
    expect(await uploads.claim('old-claimed', 1, 7)).not.toBeNull();
    const collect = new CollectUploads(uploads, storage, { now: () => new Date(now) }, 24 * HOUR);
    expect(await collect.execute()).toBe(1);
    expect([await uploads.find('old'), storage.keys.has('uploads/old')]).toEqual([null, false]);
    expect((await uploads.find('old-claimed'))?.conversationId).toBe(7);
    expect([(await uploads.find('new'))?.id, storage.keys.has('uploads/new')]).toEqual(['new', true]);
    now += 24 * HOUR;
    expect(await collect.execute()).toBe(1);
    expect(await uploads.find('new')).toBeNull();
  });

  it('leaves an upload a send claimed after it was listed (rows go only while unclaimed)', async () => {
    const uploads = new InMemoryUploadRepository();
    await uploads.create({ id: 'u', ownerId: 1, name: 'a.pdf', declaredMime: 'application/pdf', size: 10, createdAt: new Date(0) }, 0);
    await uploads.complete('u', { mime: 'application/pdf', size: 10, width: null, height: null, hasThumbnail: false });
    const listed = await uploads.unattached(new Date(1), 10);
    expect(listed.map((u) => u.id)).toEqual(['u']);
    await uploads.claim('u', 1, 3);
    expect(await uploads.remove(['u'])).toEqual([]);
  });
});
