import { storageKeys } from '../../domain/upload.js';
import type { Clock } from '../ports/services.js';
import type { FileStorage, UploadRepository } from '../ports/uploads.js';

/**
 * Removes uploads no message took within the grace period, rows and bytes.
 * Safe to run in every process at once: a row goes only while no message
 * holds it (checked in the delete), and removing bytes twice is harmless.
 */
export class CollectUploads {
  constructor(
    private readonly uploads: UploadRepository,
    private readonly storage: FileStorage,
    private readonly clock: Clock,
    private readonly graceMs: number,
  ) {}

  /** The number of uploads removed. */
  async execute(batch = 200): Promise<number> {
    const stale = await this.uploads.unattached(new Date(this.clock.now().getTime() - this.graceMs), batch);
    if (stale.length === 0) return 0;
    const removed = await this.uploads.remove(stale.map((u) => u.id));
    await this.storage.remove(removed.flatMap((id) => Object.values(storageKeys(id))));
    return removed.length;
  }
}
