/**
 * `Content-Disposition` for a file name (RFC 6266): a plain-ASCII `filename`
 * for old clients and the exact name as `filename*=UTF-8''...` (RFC 8187).
 * The name has been sanitised already (no controls, separators or bidi
 * overrides); quotes and backslashes, which would end or escape the quoted
 * fallback, are replaced there too.
 */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_') || 'file';
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encodeRfc8187(name)}`;
}

/** Percent-encodes all but RFC 8187's attr-char. */
const encodeRfc8187 = (value: string): string =>
  encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
