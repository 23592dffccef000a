/** The limits uploads are held to (docs/SECURITY.md, "Files"). */
export interface UploadPolicy {
  /** Bytes per file. */
  readonly maxBytes: number;
  /** Allowed types: exact (`application/pdf`) or a family (`image/*`). */
  readonly allowedTypes: readonly string[];
  /** Bytes one user may upload per 24 hours (0: no quota). */
  readonly dailyQuotaBytes: number;
  /** How long an upload URL stays valid. */
  readonly uploadUrlSeconds: number;
  /** How long a download link stays valid (about; links are rounded so a view's URL is stable for a while). */
  readonly linkSeconds: number;
}

export const typeAllowed = (policy: UploadPolicy, mime: string): boolean =>
  policy.allowedTypes.some((t) => (t.endsWith('/*') ? mime.startsWith(t.slice(0, -1)) : t === mime));
