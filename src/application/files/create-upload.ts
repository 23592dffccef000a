import { z } from 'zod';
import { normaliseMime } from '../../domain/file-type.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { sanitiseFileName, storageKeys, type Upload } from '../../domain/upload.js';
import type { Actor } from '../../domain/user.js';
import type { Clock } from '../ports/services.js';
import type { FileLinks, FileStorage, UploadRepository, UploadTarget } from '../ports/uploads.js';
import { text } from '../schemas.js';
import { typeAllowed, type UploadPolicy } from './upload-policy.js';

export const createUploadSchema = z.strictObject({
  name: text(1024).min(1),
  mime_type: z
    .string()
    .max(255)
    .regex(/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/, 'must be a media type such as image/png'),
  size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
export type CreateUploadInput = z.infer<typeof createUploadSchema>;

export interface CreatedUpload {
  readonly upload: Upload;
  readonly target: UploadTarget;
  readonly expiresAt: Date;
}

/**
 * Records an upload and says where its bytes go. Refused before anything is
 * stored: a size over the limit, a type not allowed, a day's quota used up.
 */
export class CreateUpload {
  constructor(
    private readonly uploads: UploadRepository,
    private readonly storage: FileStorage,
    private readonly links: FileLinks,
    private readonly clock: Clock,
    private readonly policy: UploadPolicy,
    private readonly newId: () => string,
  ) {}

  async execute(actor: Actor, input: CreateUploadInput): Promise<Result<CreatedUpload>> {
    const mime = normaliseMime(input.mime_type);
    if (input.size > this.policy.maxBytes)
      return fail('UPLOAD_TOO_LARGE', `Files may be at most ${this.policy.maxBytes} bytes`, { max: this.policy.maxBytes, size: input.size });
    if (!typeAllowed(this.policy, mime))
      return fail('UPLOAD_TYPE_NOT_ALLOWED', `Files of type ${mime} are not accepted`, { allowed: this.policy.allowedTypes });
    const now = this.clock.now();
    const upload: Upload = {
      id: this.newId(),
      ownerId: actor.id,
      name: sanitiseFileName(input.name),
      declaredMime: mime,
      mime: null,
      size: input.size,
      state: 'pending',
      width: null,
      height: null,
      hasThumbnail: false,
      conversationId: null,
      messageId: null,
      createdAt: now,
    };
    if (!(await this.uploads.create(upload, this.policy.dailyQuotaBytes)))
      return fail('UPLOAD_QUOTA_EXCEEDED', 'The daily upload quota is used up; try again later', { quota: this.policy.dailyQuotaBytes });
    const expiresAt = new Date(now.getTime() + this.policy.uploadUrlSeconds * 1000);
    const target = (await this.storage.uploadTarget(storageKeys(upload.id).original, {
      contentType: mime,
      size: upload.size,
      expiresInSeconds: this.policy.uploadUrlSeconds,
    })) ?? { url: this.links.uploadUrl(upload.id, expiresAt), method: 'PUT' as const, headers: { 'Content-Type': mime } };
    return ok({ upload, target, expiresAt });
  }
}
