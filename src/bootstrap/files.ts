import path from 'node:path';
import type { FileLinks, FileStorage, ImageProcessor, UploadRepository } from '../application/ports/uploads.js';
import type { Logger } from '../application/ports/services.js';
import { CollectUploads } from '../application/files/collect-uploads.js';
import { SystemClock } from '../adapters/system-clock.js';
import type { UploadPolicy } from '../application/files/upload-policy.js';
import { SharpImageProcessor } from '../adapters/images/sharp-image-processor.js';
import { HmacFileLinks } from '../adapters/security/hmac-file-links.js';
import { LocalFileStorage } from '../adapters/storage/local-file-storage.js';
import { S3FileStorage } from '../adapters/storage/s3-file-storage.js';
import type { Config } from './config.js';

/** What uploads and downloads run on, chosen by configuration (STORAGE and the files group). */
export interface FileServices {
  readonly storage: FileStorage;
  readonly images: ImageProcessor;
  readonly links: FileLinks;
  readonly policy: UploadPolicy;
}

export function fileServices(config: Config, secret: string): FileServices {
  const storage: FileStorage =
    config.STORAGE === 's3'
      ? new S3FileStorage({
          bucket: config.S3_BUCKET ?? '',
          region: config.S3_REGION,
          forcePathStyle: config.S3_FORCE_PATH_STYLE,
          ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
          ...(config.S3_ACCESS_KEY_ID ? { accessKeyId: config.S3_ACCESS_KEY_ID } : {}),
          ...(config.S3_SECRET_ACCESS_KEY ? { secretAccessKey: config.S3_SECRET_ACCESS_KEY } : {}),
        })
      : new LocalFileStorage(path.join(config.dataDir, 'files'));
  return {
    storage,
    images: new SharpImageProcessor({ maxPixels: config.IMAGE_MAX_PIXELS }),
    links: new HmacFileLinks({ secret, linkSeconds: config.FILE_LINK_SECONDS, ...(config.FILES_BASE_URL ? { baseUrl: config.FILES_BASE_URL } : {}) }),
    policy: {
      maxBytes: config.UPLOAD_MAX_BYTES,
      allowedTypes: config.UPLOAD_ALLOWED_TYPES,
      dailyQuotaBytes: config.UPLOAD_DAILY_QUOTA_BYTES,
      uploadUrlSeconds: config.FILE_LINK_SECONDS,
      linkSeconds: config.FILE_LINK_SECONDS,
    },
  };
}

/**
 * Every process removes uploads no message took, every quarter of the grace
 * period (at most hourly, at least every minute); the deletes are idempotent,
 * so processes of a cluster need no coordination.
 */
export function collectUploads(config: Config, uploads: UploadRepository, storage: FileStorage, logger: Logger): { close(): Promise<void> } {
  const graceMs = config.UPLOAD_GC_HOURS * 3_600_000;
  const collect = new CollectUploads(uploads, storage, new SystemClock(), graceMs);
  let running: Promise<void> | null = null;
  const tick = () => {
    running ??= collect
      .execute()
      .then((removed) => {
        if (removed > 0) logger.info({ removed }, 'uploads no message took removed');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'removing stale uploads failed; retrying later'))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, Math.min(3_600_000, Math.max(60_000, graceMs / 4)));
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
