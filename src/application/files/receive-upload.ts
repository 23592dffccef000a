import { fail, type Result } from '../../domain/result.js';
import type { Upload } from '../../domain/upload.js';
import type { FileLinks, UploadRepository } from '../ports/uploads.js';
import type { CompleteUpload } from './complete-upload.js';

/**
 * An upload's bytes arriving at this server (local storage), on the signed
 * URL `CreateUpload` gave: a body declared larger than the upload is refused
 * before it is read; the bytes are stored only once they pass `CompleteUpload`.
 */
export class ReceiveUpload {
  constructor(
    private readonly uploads: UploadRepository,
    private readonly links: FileLinks,
    private readonly complete: CompleteUpload,
  ) {}

  async execute(
    uploadId: string,
    link: { expires: string; signature: string },
    declaredLength: number,
    body: () => Promise<Uint8Array>,
  ): Promise<Result<Upload>> {
    const checked = this.links.check('upload', uploadId, link.expires, link.signature);
    if (checked === 'invalid') return fail('FILE_LINK_INVALID', 'The upload URL’s signature is not valid');
    if (checked === 'expired') return fail('FILE_LINK_EXPIRED', 'The upload URL has expired; start the upload again');
    const upload = await this.uploads.find(uploadId);
    if (!upload) return fail('UPLOAD_NOT_FOUND', 'No such upload');
    if (declaredLength > upload.size)
      return fail('UPLOAD_TOO_LARGE', `The body is larger than the ${upload.size} bytes declared`, { declared: upload.size, size: declaredLength });
    return this.complete.execute(uploadId, null, await body());
  }
}
