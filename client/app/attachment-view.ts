import type { Attachment, MessageType } from '../chat-client.js';
import { h } from './dom.js';

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

/** A message's attachment, shown once: a link that names the file and says what kind it is. */
export function attachmentView(type: MessageType, attachment: Attachment): HTMLElement {
  return h(
    'a',
    { className: `attachment ${type}`, href: attachment.url, target: '_blank', rel: 'noopener noreferrer', title: attachment.url },
    h('span', { className: 'kind' }, KIND[type]),
    attachment.name ?? nameFromUrl(attachment.url),
  );
}
