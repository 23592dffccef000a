import { describe, expect, it } from 'vitest';
import { securityHeaders, webClientRoutes } from '../../src/adapters/web-client/web-client-routes.js';
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
});
