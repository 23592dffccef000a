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

/** Reads the message again for links that work now (the server signs them for minutes only). */
export type FreshAttachment = () => Promise<Attachment | null>;

/** Whether a signed link of this server (`?e=<unix seconds>&s=...`) has expired, or will within a few seconds. */
function expired(url: string): boolean {
  const e = new URL(url, location.href).searchParams.get('e');
  return e !== null && Number(e) * 1000 < Date.now() + 5000;
}

/** The attachment with links still valid: as it is, or as the message read again gives it. */
async function current(attachment: Attachment, fresh: FreshAttachment): Promise<Attachment> {
  if (!expired(attachment.url)) return attachment;
  return (await fresh().catch(() => null)) ?? attachment;
}

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

function thumbnail(attachment: Attachment, fresh: FreshAttachment): HTMLElement {
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
  let shown = attachment;
  return h(
    'button',
    {
      type: 'button',
      className: 'attachment image',
      title: `Show ${attachment.name ?? 'the image'}`,
      onclick: () =>
        void current(shown, fresh).then((a) => {
          shown = a;
          showPreview(a);
        }),
    },
    img,
  );
}

/** A download link that, once its link has expired, reads the message again before the browser follows it. */
function download(type: MessageType, attachment: Attachment, fresh: FreshAttachment): HTMLElement {
  const link = h(
    'a',
    { className: 'attachment file', href: attachment.url, download: attachment.name ?? '' },
    h('span', { className: 'kind' }, KIND[type]),
    attachment.name ?? 'file',
    attachment.size !== undefined && h('span', { className: 'size' }, sizeLabel(attachment.size)),
  );
  link.addEventListener('click', (event) => {
    if (!expired(link.href)) return;
    event.preventDefault();
    void current(attachment, fresh).then((a) => {
      if (expired(a.url)) return; // could not renew: following it would only show the refusal
      link.href = a.url;
      link.click();
    });
  });
  return link;
}

/**
 * A message's attachment, shown once. A file uploaded to this server: an
 * image as its thumbnail (a click shows it whole), a video as a player, any
 * other file as a download link with its size; links that have expired
 * meanwhile are renewed with `fresh` when used. A URL sent the original
 * backend's way: a link naming the file and what kind it is (this page loads
 * nothing from other sites).
 */
export function attachmentView(type: MessageType, attachment: Attachment, fresh: FreshAttachment = async () => null): HTMLElement {
  if (attachment.upload_id !== undefined) {
    if (type === 'image' || attachment.thumbnail_url) return thumbnail(attachment, fresh);
    if (type === 'video') {
      const video = h('video', { className: 'attachment video', src: attachment.url, controls: true, preload: 'metadata' });
      // Played long after it was shown, its link may have expired: once, with a renewed one.
      video.addEventListener('error', () => void current(attachment, fresh).then((a) => a.url !== attachment.url && (video.src = a.url)), { once: true });
      return video;
    }
    return download(type, attachment, fresh);
  }
  return h(
    'a',
    { className: `attachment ${type}`, href: attachment.url, target: '_blank', rel: 'noopener noreferrer', title: attachment.url },
    h('span', { className: 'kind' }, KIND[type]),
    attachment.name ?? nameFromUrl(attachment.url),
  );
}
