import { fail, ok, type Result } from '../../domain/result.js';
import { storageKeys, THUMBNAIL_MIME, type Upload } from '../../domain/upload.js';
import type { Actor } from '../../domain/user.js';
import type { ConversationRepository } from '../ports/conversation-repository.js';
import type { MessageRepository } from '../ports/message-repository.js';
import type { FileLinks } from '../ports/uploads.js';
import type { UploadRepository } from '../ports/uploads.js';

export type FileVariant = 'original' | 'thumbnail';

/** A signed link's query, or the bearer of an access token. */
export type FileAccess = { readonly link: { readonly expires: string; readonly signature: string } } | { readonly actor: Actor };

export interface OpenedFile {
  readonly upload: Upload;
  readonly key: string;
  readonly mime: string;
}

/** How long a download waits for a claimed upload's message to be recorded. */
const ATTACH_WAIT_MS = 500;

const notFound = () => fail<never>('UPLOAD_NOT_FOUND', 'No such file');

/**
 * Who may read a file: a participant of the conversation whose message holds
 * it (by access token), or anyone with a link a message view gave out, while
 * it lasts (minutes: docs/SECURITY.md). Either way, once the message is
 * deleted the file is no longer served; its uploader may read it before it is
 * attached. Everything else is "not found", so ids cannot be probed.
 */
export class OpenFile {
  constructor(
    private readonly uploads: UploadRepository,
    private readonly messages: MessageRepository,
    private readonly conversations: ConversationRepository,
    private readonly links: FileLinks,
  ) {}

  async execute(uploadId: string, variant: FileVariant, access: FileAccess): Promise<Result<OpenedFile>> {
    if ('link' in access) {
      const checked = this.links.check(variant, uploadId, access.link.expires, access.link.signature);
      if (checked === 'invalid') return fail('FILE_LINK_INVALID', 'The link’s signature is not valid');
      if (checked === 'expired') return fail('FILE_LINK_EXPIRED', 'The link has expired; read the message again for a fresh one');
    }
    const upload = await this.attachedOrSettled(uploadId);
    if (!upload || upload.state !== 'complete' || upload.mime === null) return notFound();
    if (variant === 'thumbnail' && !upload.hasThumbnail) return notFound();
    const ownersDraft = 'actor' in access && upload.conversationId === null && upload.ownerId === access.actor.id;
    if (!ownersDraft) {
      if (upload.messageId === null || upload.conversationId === null) return notFound();
      const [message, member] = await Promise.all([
        this.messages.findById(upload.messageId),
        'actor' in access ? this.conversations.isParticipant(upload.conversationId, access.actor.id) : Promise.resolve(true),
      ]);
      if (!message || !member) return notFound();
    }
    const keys = storageKeys(upload.id);
    return ok({ upload, key: variant === 'thumbnail' ? keys.thumbnail : keys.original, mime: variant === 'thumbnail' ? THUMBNAIL_MIME : upload.mime });
  }

  /**
   * The upload, once a send that claimed it has recorded its message: the
   * message is committed (and pushed) a moment before its upload is marked
   * attached, so a recipient fast enough to follow the pushed link waits that
   * moment (at most ATTACH_WAIT_MS) instead of being told "not found".
   */
  private async attachedOrSettled(uploadId: string): Promise<Upload | null> {
    const deadline = Date.now() + ATTACH_WAIT_MS;
    for (;;) {
      const upload = await this.uploads.find(uploadId);
      if (!upload || upload.messageId !== null || upload.conversationId === null || Date.now() >= deadline) return upload;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
