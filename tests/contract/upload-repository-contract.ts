import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { UploadFacts, UploadRepository } from '../../src/application/ports/uploads.js';

export interface UploadWorld {
  readonly uploads: UploadRepository;
  /** A user id the repository accepts as an owner. */
  user(): Promise<number>;
  /** A conversation id the repository accepts. */
  conversation(owner: number): Promise<number>;
}

const PDF: UploadFacts = { mime: 'application/pdf', size: 10, width: null, height: null, hasThumbnail: false };
const DAY = 86_400_000;

/** What every UploadRepository promises: the in-memory fake and the PostgreSQL adapter run the same cases. */
export function uploadRepositoryContract(name: string, world: () => Promise<UploadWorld>): void {
  describe(`UploadRepository: ${name}`, () => {
    const fresh = async (w: UploadWorld, owner: number, size = 10, createdAt = new Date()) => {
      const id = randomUUID();
      expect(await w.uploads.create({ id, ownerId: owner, name: 'a.pdf', declaredMime: 'application/pdf', size, createdAt }, 0)).toBe(true);
      return id;
    };

    it('stores an upload pending, and completes it once with what its bytes are', async () => {
      const w = await world();
      const owner = await w.user();
      const id = await fresh(w, owner);
      expect(await w.uploads.find(id)).toMatchObject({ id, ownerId: owner, state: 'pending', mime: null, conversationId: null, messageId: null });
      await w.uploads.complete(id, { mime: 'image/png', size: 8, width: 3, height: 2, hasThumbnail: true });
      await w.uploads.complete(id, PDF);
      expect(await w.uploads.find(id)).toMatchObject({ state: 'complete', mime: 'image/png', size: 8, width: 3, height: 2, hasThumbnail: true });
      expect(await w.uploads.find(randomUUID())).toBeNull();
    });

    it('lets one claim win: only the owner, only once complete, only while no message holds it; a release frees it', async () => {
      const w = await world();
      const [owner, other] = [await w.user(), await w.user()];
      const conversation = await w.conversation(owner);
      const id = await fresh(w, owner);
      expect(await w.uploads.claim(id, owner, conversation)).toBeNull();
      await w.uploads.complete(id, PDF);
      expect(await w.uploads.claim(id, other, conversation)).toBeNull();
      const claims = await Promise.all([w.uploads.claim(id, owner, conversation), w.uploads.claim(id, owner, conversation)]);
      expect(claims.filter((c) => c !== null)).toHaveLength(1);
      await w.uploads.release(id);
      expect((await w.uploads.claim(id, owner, conversation))?.conversationId).toBe(conversation);
      await w.uploads.attach(id, 77);
      await w.uploads.release(id);
      expect(await w.uploads.find(id)).toMatchObject({ conversationId: conversation, messageId: 77 });
    });

    it('counts the last 24 hours of an owner’s uploads against the quota', async () => {
      const w = await world();
      const [owner, other] = [await w.user(), await w.user()];
      const now = Date.now();
      const make = (who: number, size: number, at: number) =>
        w.uploads.create({ id: randomUUID(), ownerId: who, name: 'q', declaredMime: 'text/plain', size, createdAt: new Date(at) }, 100);
      expect(await make(owner, 60, now - DAY - 60_000)).toBe(true);
      expect(await make(owner, 60, now)).toBe(true);
      expect(await make(owner, 41, now)).toBe(false);
      expect(await make(owner, 40, now)).toBe(true);
      expect(await make(other, 100, now)).toBe(true);
    });

    it('lists unclaimed uploads older than a time, and removes only those still unclaimed', async () => {
      const w = await world();
      const owner = await w.user();
      const conversation = await w.conversation(owner);
      const old = new Date(Date.now() - 3 * DAY);
      const [stale, claimed, recent] = [await fresh(w, owner, 10, old), await fresh(w, owner, 10, old), await fresh(w, owner)];
      await w.uploads.complete(claimed, PDF);
      await w.uploads.claim(claimed, owner, conversation);
      const listed = (await w.uploads.unattached(new Date(Date.now() - DAY), 1000)).map((u) => u.id);
      expect([listed.includes(stale), listed.includes(claimed), listed.includes(recent)]).toEqual([true, false, false]);
      expect(await w.uploads.remove([stale, claimed])).toEqual([stale]);
      expect([await w.uploads.find(stale), (await w.uploads.find(claimed))?.id]).toEqual([null, claimed]);
    });
  });
}
