import type { Attachment } from '../../domain/message.js';
import type { FileLinks } from '../ports/uploads.js';

/**
 * Message views are plain functions called from a dozen places (the REST
 * routes, the event stream, the fan-out's pre-serialised frames), so the one
 * signer of this process is set here at start-up instead of being passed down
 * to each. Unset (use-case tests), an upload's attachment keeps its stored
 * `/files/<id>` path.
 */
let links: FileLinks | null = null;

export const useFileLinks = (l: FileLinks | null): void => {
  links = l;
};

/** An attachment as clients see it: an upload's URLs are short-lived signed links. */
export function attachmentView(a: Attachment): Attachment & { thumbnail_url?: string } {
  if (a.upload_id === undefined) return a;
  const { thumbnail, ...rest } = a;
  if (links === null) return rest;
  return {
    ...rest,
    url: links.downloadUrl(a.upload_id, 'original'),
    ...(thumbnail ? { thumbnail_url: links.downloadUrl(a.upload_id, 'thumbnail') } : {}),
  };
}
