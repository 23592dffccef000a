import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.js';

let server: TestServer;
let base: string;

beforeAll(async () => {
  server = await startTestServer();
  base = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.stop();
});

describe('the browser app served at /', () => {
  it('serves the page with a CSP that allows only this origin, its own /ws and its own service worker', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('<script type="module" src="/app.js"></script>');
    const host = `127.0.0.1:${server.port}`;
    expect(res.headers.get('content-security-policy')).toBe(
      `default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self' ws://${host} wss://${host}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('serves the app script and stylesheet with their content types', async () => {
    const [js, css] = await Promise.all([fetch(`${base}/app.js`), fetch(`${base}/app.css`)]);
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    expect((await js.text()).length).toBeGreaterThan(1000);
    expect(await css.text()).toContain('.conversation-view');
  });

  it('serves the service worker at /sw.js as a classic script that handles push and notificationclick', async () => {
    const res = await fetch(`${base}/sw.js`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    const source = await res.text();
    // A classic script: a module worker would need { type: 'module' } and a newer browser.
    expect(source).not.toMatch(/^\s*(?:import|export)\b/m);
    expect(source).toContain('"push"');
    expect(source).toContain('"notificationclick"');
  });

  it('serves the client module as an ES module that exports ChatClient', async () => {
    const res = await fetch(`${base}/chat-client.js`);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const module = (await import(`data:text/javascript;base64,${Buffer.from(await res.text()).toString('base64')}`)) as Record<string, unknown>;
    expect(typeof module.ChatClient).toBe('function');
    expect(typeof module.ChatError).toBe('function');
    expect(typeof module.backoffDelay).toBe('function');
  });

  it('answers a matching If-None-Match with 304 and no body, and a HEAD without a body', async () => {
    const first = await fetch(`${base}/app.js`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${base}/app.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });
});

describe('WEB_CLIENT_ENABLED=false', () => {
  it('answers / with 404 NOT_FOUND while the API still works', async () => {
    const plain = await startTestServer({ WEB_CLIENT_ENABLED: 'false' });
    try {
      const res = await fetch(`http://127.0.0.1:${plain.port}/`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
      expect((await plain.http.get('/healthz')).status).toBe(200);
    } finally {
      await plain.stop();
    }
  });
});
