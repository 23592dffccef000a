import type { Upload } from '../../domain/upload.js';
import type { NewUpload, UploadFacts, UploadRepository } from '../../application/ports/uploads.js';

const DAY_MS = 86_400_000;

/** Uploads in a map, for use-case tests. */
export class InMemoryUploadRepository implements UploadRepository {
  private readonly rows = new Map<string, Upload>();

  create(u: NewUpload, quotaBytes: number): Promise<boolean> {
    const since = u.createdAt.getTime() - DAY_MS;
    const used = [...this.rows.values()].filter((r) => r.ownerId === u.ownerId && r.createdAt.getTime() > since).reduce((sum, r) => sum + r.size, 0);
    if (quotaBytes > 0 && used + u.size > quotaBytes) return Promise.resolve(false);
    this.rows.set(u.id, {
      ...u,
      mime: null,
      state: 'pending',
      width: null,
      height: null,
      hasThumbnail: false,
      conversationId: null,
      messageId: null,
    });
    return Promise.resolve(true);
  }

  find(id: string): Promise<Upload | null> {
    return Promise.resolve(this.rows.get(id) ?? null);
  }

  complete(id: string, f: UploadFacts): Promise<void> {
    const row = this.rows.get(id);
    if (row?.state === 'pending') this.rows.set(id, { ...row, ...f, state: 'complete' });
    return Promise.resolve();
  }

  claim(id: string, ownerId: number, conversationId: number): Promise<Upload | null> {
    const row = this.rows.get(id);
    if (!row || row.ownerId !== ownerId || row.state !== 'complete' || row.conversationId !== null) return Promise.resolve(null);
    const claimed = { ...row, conversationId };
    this.rows.set(id, claimed);
    return Promise.resolve(claimed);
  }

  attach(id: string, messageId: number): Promise<void> {
    const row = this.rows.get(id);
    if (row) this.rows.set(id, { ...row, messageId });
    return Promise.resolve();
  }

  release(id: string): Promise<void> {
    const row = this.rows.get(id);
    if (row && row.messageId === null) this.rows.set(id, { ...row, conversationId: null });
    return Promise.resolve();
  }

  unattached(before: Date, limit: number): Promise<Upload[]> {
    return Promise.resolve(
      [...this.rows.values()]
        .filter((r) => r.conversationId === null && r.createdAt < before)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
        .slice(0, limit),
    );
  }

  remove(ids: readonly string[]): Promise<string[]> {
    const removed = ids.filter((id) => this.rows.get(id)?.conversationId === null);
    for (const id of removed) this.rows.delete(id);
    return Promise.resolve(removed);
  }
}
