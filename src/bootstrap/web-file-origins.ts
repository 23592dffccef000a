import type { Config } from './config.js';

type FileSettings = Pick<Config, 'STORAGE' | 'S3_BUCKET' | 'S3_REGION' | 'S3_ENDPOINT' | 'S3_FORCE_PATH_STYLE' | 'FILES_BASE_URL'>;

/**
 * The origins besides its own that the browser app must reach for files, for
 * its Content-Security-Policy: where `FILES_BASE_URL` points, and with S3
 * storage the bucket's, which the page PUTs uploads to (presigned URLs) and
 * loads images and videos from (`GET /files/...` redirects there). The bucket's
 * origin is the one the SDK signs for: the endpoint itself with path-style URLs,
 * the bucket as a subdomain of the endpoint (or of AWS's regional host) otherwise.
 */
export function webFileOrigins(c: FileSettings): string[] {
  const origins = new Set<string>();
  if (c.FILES_BASE_URL) origins.add(new URL(c.FILES_BASE_URL).origin);
  if (c.STORAGE === 's3' && c.S3_BUCKET) {
    const endpoint = new URL(c.S3_ENDPOINT ?? `https://s3.${c.S3_REGION}.amazonaws.com`);
    if (c.S3_FORCE_PATH_STYLE) origins.add(endpoint.origin);
    else {
      endpoint.hostname = `${c.S3_BUCKET}.${endpoint.hostname}`;
      origins.add(endpoint.origin);
    }
  }
  return [...origins];
}
