import type { Attachment, MessageType } from '../chat-client.js';
import { h } from './dom.js';
import { sizeLabel } from './files-api.js';

/** "a.png" from "https://cdn.example.com/x/a.png?sig=…", or the host when the path has no name. */
function nameFromUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const last = decodeURIComponent(parsed.pathname.split('/').pop() ?? '');
    return last || parsed.host;
  } catch {
    return url;
  }
}

const KIND: Record<MessageType, string> = { text: 'Link', image: 'Image', video: 'Video', file: 'File' };

/** A thumbnail's box: at most this wide or high, in CSS pixels, so the list does not jump when it loads. */
const THUMBNAIL = 240;

let preview: HTMLDialogElement | null = null;

/** The whole image over the page; a click anywhere closes it. */
function showPreview(attachment: Attachment): void {
  if (!preview) {
    preview = h('dialog', { className: 'preview', onclick: () => preview?.close() });
    document.body.append(preview);
  }
  preview.replaceChildren(
    h('img', { src: attachment.url, alt: attachment.name ?? '' }),
    h(
      'p',
      {},
      h('a', { href: attachment.url, download: attachment.name ?? '', onclick: (e: Event) => e.stopPropagation() }, `Download ${attachment.name ?? ''}`),
    ),
  );
  preview.showModal();
}

/** Tries a failed image again a few times, after 0.25, 1 and 4 s: a file can be a moment behind the message announcing it. */
function retryOnError(img: HTMLImageElement): void {
  let tries = 0;
  img.addEventListener('error', () => {
    if (tries >= 3) return;
    setTimeout(
      () => {
        const src = img.src;
        img.removeAttribute('src');
        img.src = src;
      },
      250 * 4 ** tries++,
    );
  });
}

function thumbnail(attachment: Attachment): HTMLElement {
  const { width, height } = attachment;
  const scale = width && height ? Math.min(1, THUMBNAIL / Math.max(width, height)) : 1;
  const img = h('img', {
    className: 'thumbnail',
    src: attachment.thumbnail_url ?? attachment.url,
    alt: attachment.name ?? 'Image',
    decoding: 'async',
    ...(width && height ? { width: Math.round(width * scale), height: Math.round(height * scale) } : {}),
  });
  retryOnError(img);
  return h(
    'button',
    { type: 'button', className: 'attachment image', title: `Show ${attachment.name ?? 'the image'}`, onclick: () => showPreview(attachment) },
    img,
  );
}

/**
 * A message's attachment, shown once. A file uploaded to this server: an
 * image as its thumbnail (a click shows it whole), a video as a player, any
 * other file as a download link with its size. A URL sent the original
 * backend's way: a link naming the file and what kind it is (this page loads
 * nothing from other sites).
 */
export function attachmentView(type: MessageType, attachment: Attachment): HTMLElement {
  if (attachment.upload_id !== undefined) {
    if (type === 'image' || attachment.thumbnail_url) return thumbnail(attachment);
    if (type === 'video') return h('video', { className: 'attachment video', src: attachment.url, controls: true, preload: 'metadata' });
    return h(
      'a',
      { className: 'attachment file', href: attachment.url, download: attachment.name ?? '' },
      h('span', { className: 'kind' }, KIND[type]),
      attachment.name ?? 'file',
      attachment.size !== undefined && h('span', { className: 'size' }, sizeLabel(attachment.size)),
    );
  }
  return h(
    'a',
    { className: `attachment ${type}`, href: attachment.url, target: '_blank', rel: 'noopener noreferrer', title: attachment.url },
    h('span', { className: 'kind' }, KIND[type]),
    attachment.name ?? nameFromUrl(attachment.url),
  );
}
