import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../application/ports/services.js';
import type { HttpReply, HttpRequest } from '../gateway/http.js';
import type { PlainRoute } from '../gateway/http-router.js';
import { ASSET_PATHS, buildWebAssets, type WebAsset, type WebAssets } from './web-assets.js';

export interface WebClientOptions {
  readonly logger: Logger;
  /** The folder with `chat-client.ts` and `app/`. @default the `client/` folder of this checkout */
  readonly clientDir?: string;
  /** @default true */
  readonly minify?: boolean;
  /**
   * Origins other than this one that files are uploaded to and shown from
   * (an S3-compatible store's public endpoint, whose presigned URLs the page
   * PUTs to and whose images and videos it shows). @default []
   */
  readonly fileOrigins?: readonly string[];
}

/**
 * The browser app at `/` (with `/app.js`, `/app.css`, and its service worker
 * `/sw.js`, whose scope is the whole origin) and the client module at
 * `/chat-client.js`, bundled on the first request and kept in memory.
 * Browsers revalidate each time (`no-cache` with an ETag), so a restarted
 * server with a new build is picked up at once.
 */
export function webClientRoutes(options: WebClientOptions): PlainRoute[] {
  const clientDir = options.clientDir ?? findClientDir(import.meta.dirname);
  const fileOrigins = (options.fileOrigins ?? []).map(originOf);
  let assets: Promise<WebAssets> | null = null;
  const load = () =>
    (assets ??= (async () => {
      const started = performance.now();
      const built = await buildWebAssets(clientDir, options.minify ?? true);
      options.logger.info({ ms: Math.round(performance.now() - started), clientDir }, 'web client bundled');
      return built;
    })().catch((error: unknown) => {
      assets = null; // a later request tries again
      throw error;
    }));
  return ASSET_PATHS.map((p) => ({ method: 'GET', path: p, handle: async (request) => reply((await load()).get(p)!, request, fileOrigins) }));
}

function reply(asset: WebAsset, request: HttpRequest, fileOrigins: readonly string[]): HttpReply {
  const headers: Array<[string, string]> = [...securityHeaders(request.header('host'), fileOrigins), ['Cache-Control', 'no-cache'], ['ETag', asset.etag]];
  const validators = request
    .header('if-none-match')
    .split(',')
    .map((v) => v.trim().replace(/^W\//, ''));
  if (validators.includes(asset.etag)) return { status: 304, headers };
  return { status: 200, headers, raw: { contentType: asset.contentType, data: asset.body } };
}

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** `https://bucket.s3.example.com` from a URL or origin; anything but an http(s) URL is a start-up error. */
function originOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`A file origin must be an http(s) URL: ${url}`);
  return parsed.origin;
}

/**
 * Nothing but this origin's own scripts, styles, images, media and service
 * worker may load, the page may connect only to its own origin (REST, and
 * `/ws` named explicitly, as older browsers do not count ws: as 'self'), and
 * no other site may frame it. `fileOrigins` (an object store's) may serve
 * images and media and take uploads.
 */
export function securityHeaders(host: string, fileOrigins: readonly string[] = []): Array<[string, string]> {
  const socket = HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  const files = fileOrigins.map((o) => ` ${o}`).join('');
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self'",
    `img-src 'self' data:${files}`,
    `media-src 'self'${files}`,
    `connect-src 'self'${socket}${files}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return [
    ['Content-Security-Policy', csp],
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
  ];
}

/** The nearest folder above `from` holding `client/chat-client.ts` (works from `src/` and from `dist/src/`). */
function findClientDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'client');
    if (existsSync(path.join(candidate, 'chat-client.ts'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`No client/chat-client.ts above ${from}`);
  }
}
