import type { Attachment } from '../../domain/message.js';
import { fail, ok, type Result } from '../../domain/result.js';
import type { Upload } from '../../domain/upload.js';
import type { UploadRepository } from '../ports/uploads.js';
import type { CompleteUpload } from './complete-upload.js';

/** The stored form of an upload's attachment; views turn `url` into a signed link. */
export const uploadAttachment = (u: Upload): Attachment => ({
  url: `/files/${u.id}`,
  upload_id: u.id,
  name: u.name,
  mime_type: u.mime ?? u.declaredMime,
  size: u.size,
  ...(u.width !== null && u.height !== null ? { width: u.width, height: u.height } : {}),
  ...(u.hasThumbnail ? { thumbnail: true } : {}),
});

/**
 * A message's hold on an upload: one message per upload (a second is refused
 * with UPLOAD_ALREADY_ATTACHED; forward a file by uploading it again). Only
 * sends that name an `upload_id` come here.
 */
export class AttachmentClaims {
  constructor(
    private readonly uploads: UploadRepository,
    /** Completes an upload whose bytes went straight to object storage and whose client did not say so. */
    private readonly complete: CompleteUpload,
  ) {}

  async claim(uploadId: string, ownerId: number, conversationId: number): Promise<Result<Attachment>> {
    const claimed = await this.uploads.claim(uploadId, ownerId, conversationId);
    if (claimed) return ok(uploadAttachment(claimed));
    const upload = await this.uploads.find(uploadId);
    if (!upload || upload.ownerId !== ownerId) return fail('UPLOAD_NOT_FOUND', 'No such upload');
    if (upload.conversationId !== null)
      return fail('UPLOAD_ALREADY_ATTACHED', 'Another message holds this upload; upload the file again to send it again', {
        message_id: upload.messageId,
      });
    if (upload.state === 'pending') {
      const completed = await this.complete.execute(uploadId, ownerId);
      if (!completed.ok) return completed;
      const retried = await this.uploads.claim(uploadId, ownerId, conversationId);
      if (retried) return ok(uploadAttachment(retried));
      return fail('UPLOAD_ALREADY_ATTACHED', 'Another message holds this upload');
    }
    return fail('UPLOAD_NOT_FOUND', 'No such upload');
  }

  attach(uploadId: string, messageId: number): Promise<void> {
    return this.uploads.attach(uploadId, messageId);
  }

  release(uploadId: string): Promise<void> {
    return this.uploads.release(uploadId);
  }
}
