import { describe, expect, it } from 'vitest';
import { OpenFile } from '../../src/application/files/open-file.js';
import type { ConversationRepository } from '../../src/application/ports/conversation-repository.js';
import type { MessageRepository } from '../../src/application/ports/message-repository.js';
import type { FileLinks, UploadRepository } from '../../src/application/ports/uploads.js';
import type { Upload } from '../../src/domain/upload.js';

const claimed: Upload = {
  id: '00000000-0000-4000-8000-000000000001',
  ownerId: 1,
  name: 'leak.jpg',
  declaredMime: 'image/jpeg',
  mime: 'image/jpeg',
  size: 10,
  state: 'complete',
  width: 1,
  height: 1,
  hasThumbnail: true,
  conversationId: 7,
  messageId: null,
  createdAt: new Date(),
};

/** The upload as a send leaves it: claimed by the conversation, its message recorded after `readsBeforeAttached` reads. */
function scripted(readsBeforeAttached: number) {
  let reads = 0;
  const uploads = { find: async () => (++reads > readsBeforeAttached ? { ...claimed, messageId: 42 } : claimed) } as unknown as UploadRepository;
  const messages = { findById: async (id: number) => (id === 42 ? { id } : null) } as unknown as MessageRepository;
  const conversations = { isParticipant: async () => true } as unknown as ConversationRepository;
  const links = { check: () => 'ok' } as unknown as FileLinks;
  return { open: new OpenFile(uploads, messages, conversations, links), reads: () => reads };
}

describe('a download of a file whose message was pushed before its upload was marked attached', () => {
  it('waits for the attachment to be recorded and serves the file, instead of answering not found', async () => {
    const { open, reads } = scripted(2);
    const result = await open.execute(claimed.id, 'thumbnail', { link: { expires: '0', signature: 'x' } });
    expect(result).toMatchObject({ ok: true, value: { mime: 'image/webp', key: `uploads/${claimed.id}.thumb` } });
    expect(reads()).toBe(3);
  });

  it('answers not found once the wait is over and no message ever took it', async () => {
    const { open } = scripted(Number.POSITIVE_INFINITY);
    expect(await open.execute(claimed.id, 'original', { link: { expires: '0', signature: 'x' } })).toMatchObject({
      ok: false,
      error: { code: 'UPLOAD_NOT_FOUND' },
    });
  });
});
