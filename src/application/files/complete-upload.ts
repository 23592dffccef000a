import { PROCESSED_IMAGES, SNIFF_BYTES, declaredMatches, sniffType } from '../../domain/file-type.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { storageKeys, type Upload } from '../../domain/upload.js';
import type { FileStorage, ImageProcessor, UploadRepository } from '../ports/uploads.js';
import { typeAllowed, type UploadPolicy } from './upload-policy.js';

/**
 * Checks an upload's bytes and makes it ready to attach: the size as declared,
 * the type its magic bytes say (it must agree with the declared one and be
 * allowed), and for an image its dimensions, a copy without metadata (what is
 * served) and a thumbnail. The costly part happens here, once, before a
 * message can refer to the upload, never on the send path.
 *
 * With `bytes` (local storage: they came through this server) nothing is
 * stored unless they pass; without (S3: the client put them there) they are
 * read back and removed when they fail.
 */
export class CompleteUpload {
  constructor(
    private readonly uploads: UploadRepository,
    private readonly storage: FileStorage,
    private readonly images: ImageProcessor,
    private readonly policy: UploadPolicy,
  ) {}

  async execute(uploadId: string, ownerId: number | null, bytes?: Uint8Array): Promise<Result<Upload>> {
    const upload = await this.uploads.find(uploadId);
    if (!upload || (ownerId !== null && upload.ownerId !== ownerId)) return fail('UPLOAD_NOT_FOUND', 'No such upload');
    if (upload.state === 'complete') {
      return bytes === undefined ? ok(upload) : fail('UPLOAD_ALREADY_ATTACHED', 'This upload is complete; its bytes cannot change');
    }
    const key = storageKeys(upload.id);
    let stored = false;
    let size: number;
    if (bytes) size = bytes.length;
    else {
      const found = await this.storage.size(key.original);
      if (found === null) return fail('UPLOAD_INCOMPLETE', 'The upload’s bytes have not arrived');
      size = found;
      stored = true;
    }
    const refuse = async (result: Result<never>): Promise<Result<Upload>> => {
      if (stored) await this.storage.remove([key.original]);
      return result;
    };
    if (size > upload.size || size > this.policy.maxBytes)
      return refuse(fail('UPLOAD_TOO_LARGE', `The file has more bytes than declared (${upload.size})`, { declared: upload.size, size }));
    if (size !== upload.size)
      return refuse(fail('UPLOAD_SIZE_MISMATCH', `The file has ${size} bytes, not the ${upload.size} declared`, { declared: upload.size, size }));
    const head = bytes ? bytes.subarray(0, SNIFF_BYTES) : await this.storage.read(key.original, { start: 0, end: Math.min(size, SNIFF_BYTES) - 1 });
    if (!head) return fail('UPLOAD_INCOMPLETE', 'The upload’s bytes have not arrived');
    const sniffed = sniffType(head);
    if (sniffed === null || !typeAllowed(this.policy, sniffed))
      return refuse(fail('UPLOAD_TYPE_NOT_ALLOWED', `The file’s content (${sniffed ?? 'unknown'}) is not an accepted type`, { sniffed }));
    if (!declaredMatches(upload.declaredMime, sniffed))
      return refuse(fail('UPLOAD_TYPE_MISMATCH', `The file is ${sniffed}, not ${upload.declaredMime} as declared`, { declared: upload.declaredMime, sniffed }));
    let facts = { mime: sniffed, size, width: null as number | null, height: null as number | null, hasThumbnail: false };
    let original = bytes;
    if (PROCESSED_IMAGES.has(sniffed)) {
      const whole = bytes ?? (await this.storage.read(key.original));
      if (!whole) return fail('UPLOAD_INCOMPLETE', 'The upload’s bytes have not arrived');
      const image = await this.images.process(whole, sniffed);
      if (image === 'too-large') return refuse(fail('IMAGE_TOO_LARGE', 'The image has too many pixels'));
      if (image === 'unreadable') return refuse(fail('IMAGE_UNREADABLE', 'The image does not decode'));
      await this.storage.write(key.thumbnail, image.thumbnail, image.thumbnailMime);
      original = image.clean;
      facts = { mime: sniffed, size: image.clean.length, width: image.width, height: image.height, hasThumbnail: true };
    }
    if (original) await this.storage.write(key.original, original, sniffed);
    await this.uploads.complete(upload.id, facts);
    return ok({ ...upload, ...facts, state: 'complete' });
  }
}
