/** A file a user uploads to attach to a message (docs/API.md, "Files"). */
export interface Upload {
  readonly id: string;
  readonly ownerId: number;
  /** Sanitised (`sanitiseFileName`): what downloads are named; storage keys never derive from it. */
  readonly name: string;
  /** What the uploader said it is. */
  readonly declaredMime: string;
  /** What its bytes are, once complete. */
  readonly mime: string | null;
  /** Declared, then checked against the stored bytes. */
  readonly size: number;
  readonly state: 'pending' | 'complete';
  readonly width: number | null;
  readonly height: number | null;
  readonly hasThumbnail: boolean;
  /** Set when a message claims it. */
  readonly conversationId: number | null;
  readonly messageId: number | null;
  readonly createdAt: Date;
}

export const UPLOAD_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Where its bytes are kept: from the id only, never from anything the uploader chose. */
export const storageKeys = (id: string) => ({ original: `uploads/${id}`, thumbnail: `uploads/${id}.thumb` });

/** Thumbnails are WebP (every current browser shows it; small, with transparency). */
export const THUMBNAIL_MIME = 'image/webp';

const MAX_NAME_LENGTH = 200;

/**
 * A file name safe to show and to send back in `Content-Disposition`: no path
 * (the last segment of either separator), no control characters, no bidi
 * overrides or isolates (`gpj.exe` shown as `exe.jpg`), no leading dots, at
 * most 200 characters, keeping the extension. Empty becomes `file`.
 */
export function sanitiseFileName(raw: string): string {
  const base = raw.split(/[/\\]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex -- control characters are what it removes
    .replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]/gu, '')
    .replace(/[\uD800-\uDFFF]/g, (c, i: number, s: string) => (isPaired(s, i) ? c : ''))
    .trim()
    .replace(/^\.+/, '')
    .trim();
  if (cleaned === '') return 'file';
  const chars = [...cleaned];
  if (chars.length <= MAX_NAME_LENGTH) return cleaned;
  const dot = cleaned.lastIndexOf('.');
  const ext = dot > 0 && cleaned.length - dot <= 16 ? cleaned.slice(dot) : '';
  return [...cleaned.slice(0, cleaned.length - ext.length)].slice(0, MAX_NAME_LENGTH - ext.length).join('') + ext;
}

const isPaired = (s: string, i: number): boolean => {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff) return i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
  return i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff;
};
