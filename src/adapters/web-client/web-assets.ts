import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface WebAsset {
  readonly contentType: string;
  readonly body: Buffer;
  /** A strong validator of the body, quoted as HTTP wants it. */
  readonly etag: string;
}

/** The files the browser app is made of, by the path they are served at. */
export type WebAssets = ReadonlyMap<string, WebAsset>;

export const ASSET_PATHS = ['/', '/app.js', '/app.css', '/chat-client.js', '/sw.js'] as const;

const asset = (contentType: string, body: Buffer): WebAsset => ({
  contentType,
  body,
  etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
});

/**
 * Bundles the app (`app/main.ts`) and the client module (`chat-client.ts`,
 * for web apps that import it from this server) to ES modules in memory with
 * esbuild, the service worker (`worker/service-worker.ts`) to a classic
 * script (every browser with Web Push runs those), and reads the page and its
 * stylesheet. esbuild is imported here,
 * not at start-up, so a server that never serves the page never loads it.
 */
export async function buildWebAssets(clientDir: string, minify: boolean): Promise<WebAssets> {
  const { build } = await import('esbuild');
  const common = {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    minify,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  } as const;
  const results = await Promise.all([
    build({ ...common, format: 'esm', entryPoints: { app: path.join(clientDir, 'app/main.ts'), 'chat-client': path.join(clientDir, 'chat-client.ts') } }),
    build({ ...common, format: 'iife', entryPoints: { sw: path.join(clientDir, 'worker/service-worker.ts') } }),
  ]);
  const scripts = new Map(results.flatMap((r) => r.outputFiles).map((f) => [path.basename(f.path), Buffer.from(f.contents)]));
  const [html, css] = await Promise.all([readFile(path.join(clientDir, 'app/index.html')), readFile(path.join(clientDir, 'app/app.css'))]);
  const js = 'text/javascript; charset=utf-8';
  return new Map([
    ['/', asset('text/html; charset=utf-8', html)],
    ['/app.js', asset(js, scripts.get('app.js')!)],
    ['/app.css', asset('text/css; charset=utf-8', css)],
    ['/chat-client.js', asset(js, scripts.get('chat-client.js')!)],
    ['/sw.js', asset(js, scripts.get('sw.js')!)],
  ]);
}
