import { describe, expect, it } from 'vitest';
import { securityHeaders, webClientRoutes } from '../../src/adapters/web-client/web-client-routes.js';
import { webFileOrigins } from '../../src/bootstrap/web-file-origins.js';
import { silentLogger } from '../support/silent-logger.js';

const csp = (fileOrigins?: readonly string[]) =>
  Object.fromEntries(
    new Map(securityHeaders('chat.example.com', fileOrigins))
      .get('Content-Security-Policy')!
      .split('; ')
      .map((d) => [d.split(' ')[0], d]),
  );

describe('the browser app’s Content-Security-Policy', () => {
  it('without file origins, images and media load from this origin only (and images from data: URLs)', () => {
    const d = csp();
    expect(d['img-src']).toBe("img-src 'self' data:");
    expect(d['media-src']).toBe("media-src 'self'");
    expect(d['connect-src']).toBe("connect-src 'self' ws://chat.example.com wss://chat.example.com");
  });

  it('a file origin (an object store’s) may serve images and media and take uploads, and nothing else', () => {
    const d = csp(['https://files.example.net']);
    expect(d['img-src']).toBe("img-src 'self' data: https://files.example.net");
    expect(d['media-src']).toBe("media-src 'self' https://files.example.net");
    expect(d['connect-src']).toBe("connect-src 'self' ws://chat.example.com wss://chat.example.com https://files.example.net");
    expect(d['script-src']).toBe("script-src 'self'");
    expect(d['default-src']).toBe("default-src 'none'");
  });

  it('the routes take a file URL with a path (its origin is what counts) and refuse anything but http(s) at start-up', () => {
    expect(() => webClientRoutes({ logger: silentLogger, fileOrigins: ['https://files.example.net/bucket/'] })).not.toThrow();
    expect(() => webClientRoutes({ logger: silentLogger, fileOrigins: ["javascript:alert('x')"] })).toThrow(/http\(s\) URL/);
    expect(() => webClientRoutes({ logger: silentLogger, fileOrigins: ['not a url'] })).toThrow();
  });

  it('the server names the origins files come from: FILES_BASE_URL, and with S3 the bucket as the SDK addresses it', () => {
    const local = {
      STORAGE: 'local',
      S3_BUCKET: undefined,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: undefined,
      S3_FORCE_PATH_STYLE: false,
      FILES_BASE_URL: undefined,
    } as const;
    expect(webFileOrigins(local)).toEqual([]);
    expect(webFileOrigins({ ...local, FILES_BASE_URL: 'https://files.example.com/chat' })).toEqual(['https://files.example.com']);
    const s3 = { ...local, STORAGE: 's3', S3_BUCKET: 'chat-files', S3_REGION: 'eu-west-3' } as const;
    expect(webFileOrigins(s3)).toEqual(['https://chat-files.s3.eu-west-3.amazonaws.com']);
    expect(webFileOrigins({ ...s3, S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: true })).toEqual(['http://127.0.0.1:9000']);
    expect(webFileOrigins({ ...s3, S3_ENDPOINT: 'https://acct.r2.cloudflarestorage.com' })).toEqual(['https://chat-files.acct.r2.cloudflarestorage.com']);
  });
});
