import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ByteRange, FileStorage } from '../../application/ports/uploads.js';

/**
 * Files on local disk under one folder (`DATA_DIR/files`). Keys are the
 * server's own (`uploads/<uuid>`), never a user's name; one that would leave
 * the folder is refused all the same. Writes go to a temporary name first,
 * so a reader never sees half a file.
 */
export class LocalFileStorage implements FileStorage {
  readonly name = 'local' as const;

  constructor(private readonly root: string) {}

  async write(key: string, data: Uint8Array): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${randomBytes(6).toString('hex')}.part`;
    await writeFile(temporary, data);
    await rename(temporary, target);
  }

  async read(key: string, range?: ByteRange): Promise<Uint8Array | null> {
    let handle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      if (!range) return await handle.readFile();
      const buffer = Buffer.alloc(range.end - range.start + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, range.start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(key))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async remove(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.pathOf(key), { force: true })));
  }

  /** The bytes come through this server (`PUT /uploads/:id/content`). */
  uploadTarget(): Promise<null> {
    return Promise.resolve(null);
  }

  /** This server serves them (`GET /files/:id`). */
  downloadUrl(): Promise<null> {
    return Promise.resolve(null);
  }

  private pathOf(key: string): string {
    const resolved = path.resolve(this.root, key);
    if (!resolved.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`storage key outside the storage folder: ${key}`);
    return resolved;
  }
}
