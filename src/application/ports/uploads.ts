import type { Upload } from '../../domain/upload.js';

export type NewUpload = Pick<Upload, 'id' | 'ownerId' | 'name' | 'declaredMime' | 'size' | 'createdAt'>;

/** What completion learnt from the stored bytes. */
export interface UploadFacts {
  readonly mime: string;
  readonly size: number;
  readonly width: number | null;
  readonly height: number | null;
  readonly hasThumbnail: boolean;
}

/** Uploads and which message holds each (migration 20261204000000). */
export interface UploadRepository {
  /** Stores it unless the owner's uploads of the last 24 hours plus this one exceed `quotaBytes` (0: no quota); false when refused. */
  create(upload: NewUpload, quotaBytes: number): Promise<boolean>;
  find(id: string): Promise<Upload | null>;
  complete(id: string, facts: UploadFacts): Promise<void>;
  /**
   * Ties a complete upload of `ownerId` that no message holds yet to the
   * conversation, atomically (two sends of one upload: one wins). Null when
   * it is not one.
   */
  claim(id: string, ownerId: number, conversationId: number): Promise<Upload | null>;
  /** Records the message that holds a claimed upload. */
  attach(id: string, messageId: number): Promise<void>;
  /** Gives a claimed upload back (the send failed after the claim). */
  release(id: string): Promise<void>;
  /** Uploads no message holds, created before `before`: the garbage collector's. */
  unattached(before: Date, limit: number): Promise<Upload[]>;
  /** Removes those no message holds (a send may have claimed one since); the ids removed. */
  remove(ids: readonly string[]): Promise<string[]>;
}

/** A byte range, both ends inclusive (as in HTTP). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Where a client sends an upload's bytes. */
export interface UploadTarget {
  readonly url: string;
  readonly method: 'PUT';
  readonly headers: Readonly<Record<string, string>>;
}

/** Object storage by key: local disk or an S3-compatible service. */
export interface FileStorage {
  readonly name: 'local' | 's3';
  write(key: string, data: Uint8Array, contentType: string): Promise<void>;
  /** The bytes of `range` (all without one), or null when nothing is stored under the key. */
  read(key: string, range?: ByteRange): Promise<Uint8Array | null>;
  /** The stored size, or null when nothing is stored. */
  size(key: string): Promise<number | null>;
  /** Idempotent. */
  remove(keys: readonly string[]): Promise<void>;
  /**
   * A presigned URL the client sends the bytes to directly, or null when the
   * bytes come through this server (local storage).
   */
  uploadTarget(key: string, o: { contentType: string; size: number; expiresInSeconds: number }): Promise<UploadTarget | null>;
  /** A presigned URL to read the object directly, or null when this server serves it (local storage). */
  downloadUrl(key: string, o: { contentType: string; disposition: string; expiresInSeconds: number }): Promise<string | null>;
}

export interface ProcessedImage {
  readonly width: number;
  readonly height: number;
  /** Re-encoded, oriented upright, without EXIF, GPS or any other metadata. */
  readonly clean: Uint8Array;
  readonly thumbnail: Uint8Array;
  readonly thumbnailMime: string;
}

/** Decodes images within a pixel budget. */
export interface ImageProcessor {
  /** `too-large` when the header says more pixels than allowed (read before any pixel is decoded); `unreadable` when it does not decode. */
  process(data: Uint8Array, mime: string): Promise<ProcessedImage | 'too-large' | 'unreadable'>;
}

/** Signed, short-lived links to this server's own routes (local uploads and every download). */
export interface FileLinks {
  /** `PUT` target on this server for an upload's bytes. */
  uploadUrl(uploadId: string, expiresAt: Date): string;
  /** `GET /files/<id>` (or its thumbnail), valid for a short while. */
  downloadUrl(uploadId: string, variant: 'original' | 'thumbnail'): string;
  /** Whether the query of a link this server made for `uploadId` is genuine and not expired. */
  check(purpose: 'upload' | 'original' | 'thumbnail', uploadId: string, expires: string, signature: string): 'ok' | 'invalid' | 'expired';
}
