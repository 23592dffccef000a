import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startServerProcess } from '../support/server-process.js';

type Server = Awaited<ReturnType<typeof startServerProcess>>;
type Line = Record<string, unknown> & { msg: string; level: number };
let server: Server;

beforeAll(async () => {
  server = await startServerProcess();
}, 60_000);
afterAll(async () => {
  await server?.stop();
  killAll();
});

const lines = (s: Server): Line[] =>
  s.process
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
const ofRequest = (s: Server, reqId: string) => lines(s).filter((l) => l.reqId === reqId);

/** Resolves with the request's access log line, once it is written. */
async function accessLine(s: Server, reqId: string): Promise<Line> {
  await s.process.waitFor(new RegExp(`"reqId":"${reqId.replace(/[.+/]/g, '\\$&')}"[^\n]*"msg":"request completed"`), 10_000);
  return ofRequest(s, reqId).find((l) => l.msg === 'request completed')!;
}

describe('request ids and the access log', () => {
  it('keeps a valid X-Request-Id, returns it, and puts it on every log line of the request, the refusal of a bad body included', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'abc' },
      body: JSON.stringify({ email: 'not an email', username: 'x', password: 'y' }),
    });
    const body = await res.text();
    expect(res.status).toBe(400);
    expect(res.headers.get('x-request-id')).toBe('abc');
    const line = await accessLine(server, 'abc');
    expect(line).toMatchObject({ level: 30, method: 'POST', route: '/auth/register', status: 400, code: 'VALIDATION_FAILED', bytes: Buffer.byteLength(body) });
    expect(line.duration_ms).toBeTypeOf('number');
    // Nothing about this request was logged without its id.
    const unlabelled = lines(server).filter((l) => l.reqId === undefined && JSON.stringify(l).includes('/auth/register'));
    expect(unlabelled).toEqual([]);
  });

  it('replaces an X-Request-Id that is too long or has unsafe characters, and makes one when none is sent', async () => {
    for (const given of ['a'.repeat(129), 'two words', '"quoted"', null]) {
      const res = await fetch(`http://127.0.0.1:${server.port}/healthz`, { headers: given === null ? {} : { 'x-request-id': given } });
      expect(res.status).toBe(200);
      const id = res.headers.get('x-request-id')!;
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(await accessLine(server, id)).toMatchObject({ method: 'GET', route: '/healthz', status: 200 });
    }
  });

  it('logs the route pattern, never the raw path, a token or a body', async () => {
    const ann = await server.http.register();
    const res = await fetch(`http://127.0.0.1:${server.port}/conversations/987654/messages?limit=5`, {
      headers: { authorization: `Bearer ${ann.token}`, 'x-request-id': 'req.pattern-1' },
    });
    expect(res.status).toBe(404);
    const line = await accessLine(server, 'req.pattern-1');
    expect(line).toMatchObject({ route: '/conversations/:id/messages', method: 'GET', status: 404, code: 'CONVERSATION_NOT_FOUND' });
    const output = server.process.output();
    expect(output).not.toContain('987654');
    expect(output).not.toContain(ann.token);
    expect(output).not.toContain('correct horse');
  });

  it('writes no access log line with ACCESS_LOG_LEVEL=silent', async () => {
    const quiet = await startServerProcess({ ACCESS_LOG_LEVEL: 'silent' });
    try {
      const res = await fetch(`http://127.0.0.1:${quiet.port}/healthz`, { headers: { 'x-request-id': 'quiet-1' } });
      expect(res.headers.get('x-request-id')).toBe('quiet-1');
    } finally {
      await quiet.stop();
    }
    // The process has exited: its whole log is in, up to its last line.
    expect(lines(quiet).at(-1)?.msg).toBe('stopped');
    expect(lines(quiet).filter((l) => l.msg === 'request completed')).toEqual([]);
  }, 60_000);
});
