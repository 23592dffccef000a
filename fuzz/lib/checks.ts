import type WebSocket from 'ws';
import { rssBytes } from '../../bench/lib/process-stats.js';
import { openSio } from './socketio-channel.js';
import { openWs, sleep } from './ws-channel.js';
import { restCall, type World } from './world.js';

/** Resident set size of a process, from /proc (0 when it is gone). */
export const rssOf = rssBytes;

/** The mean of a few samples, so one allocation spike does not decide. */
export async function sampleRss(pid: number, samples = 5, everyMs = 200): Promise<number> {
  let sum = 0;
  for (let i = 0; i < samples; i++) {
    sum += rssOf(pid);
    if (i < samples - 1) await sleep(everyMs);
  }
  return sum / samples;
}

/** GET /healthz answers 200 {"status":"ok"}. */
export async function healthy(baseUrl: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    return { ok: res.status === 200 && text.includes('"ok"'), detail: `${res.status} ${text.slice(0, 200)}` };
  } catch (error) {
    return { ok: false, detail: String(error) };
  }
}

interface Frame {
  event: string;
  ack?: unknown;
  data?: any;
  error?: { code: string };
}

/** A `/ws` client that keeps every frame and waits for one that matches. */
class Client {
  readonly frames: Frame[] = [];
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private ack = 0;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (raw: Buffer) => {
      const f = JSON.parse(raw.toString()) as Frame;
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => (w.match(f) ? (w.resolve(f), false) : true));
    });
  }

  waitFor(what: string, match: (f: Frame) => boolean, ms = 5_000): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
      this.waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  async request(event: string, data: unknown): Promise<any> {
    const ack = ++this.ack;
    const answer = this.waitFor(`answer to ${event}`, (f) => f.ack === ack);
    this.socket.send(JSON.stringify({ event, data, ack }));
    const f = await answer;
    if (f.event !== 'ack') throw new Error(`${event} answered ${JSON.stringify(f.error)}`);
    return f.data;
  }
}

/**
 * After the fuzz, an ordinary conversation between two new users still works
 * end to end: send (the other receives the push, on /ws and Socket.IO), edit
 * (the other receives the update), read receipt (the sender receives it).
 * Resolves with the step that failed, or null.
 */
export async function conversationStillWorks(world: World, tag: string): Promise<{ failedStep: string | null; detail: string }> {
  let step = 'register two users';
  const sockets: Array<{ close(): void }> = [];
  try {
    const reg = async (name: string) => {
      const username = `${name}_${tag}`;
      const r = await restCall(world.baseUrl, 'POST', '/auth/register', {
        email: `${username}@fuzz.example`,
        username,
        password: 'correct horse battery',
        role: 'tenant',
      });
      if (r.status !== 201) throw new Error(`register answered ${r.status} ${JSON.stringify(r.body)}`);
      return { id: r.body.user.id as number, token: r.body.token as string };
    };
    const ann = await reg('after_ann');
    const ben = await reg('after_ben');
    step = 'create a direct conversation';
    const created = await restCall(world.baseUrl, 'POST', '/conversations', { participant_ids: [ben.id] }, ann.token);
    if (created.status !== 201) throw new Error(`answered ${created.status} ${JSON.stringify(created.body)}`);
    const conversationId = created.body.id as number;
    step = 'connect both over /ws, and the receiver over Socket.IO';
    const a = new Client(await openWs(world.wsUrl, ann.token));
    sockets.push({ close: () => a.socket.terminate() });
    const b = new Client(await openWs(world.wsUrl, ben.token));
    sockets.push({ close: () => b.socket.terminate() });
    const bio = await openSio(world.baseUrl, ben.token, 'websocket');
    sockets.push({ close: () => bio.close() });
    const bioPushed = new Promise<any>((resolve) => bio.on('receiveMessage', (m: any) => m.content === 'still talking' && resolve(m)));
    step = 'send a message';
    const sent = await a.request('sendMessage', { conversation_id: conversationId, content: 'still talking', client_id: `after-${tag}` });
    step = 'receive the receiveMessage push (/ws)';
    await b.waitFor('receiveMessage', (f) => f.event === 'receiveMessage' && f.data?.id === sent.id && f.data?.content === 'still talking');
    step = 'receive the receiveMessage push (Socket.IO)';
    await Promise.race([bioPushed, sleep(5_000).then(() => Promise.reject(new Error('no receiveMessage within 5000 ms')))]);
    step = 'edit the message';
    await a.request('editMessage', { message_id: sent.id, content: 'still talking, edited' });
    step = 'receive the messageUpdated push';
    await b.waitFor('messageUpdated', (f) => f.event === 'messageUpdated' && f.data?.id === sent.id && f.data?.content === 'still talking, edited');
    step = 'mark it read';
    await b.request('markRead', { conversation_id: conversationId, message_id: sent.id });
    step = 'receive the readReceipt push';
    await a.waitFor('readReceipt', (f) => f.event === 'readReceipt' && f.data?.message_id === sent.id && f.data?.user_id === ben.id);
    return { failedStep: null, detail: 'send, push (/ws and Socket.IO), edit, push, read receipt: all seen' };
  } catch (error) {
    return { failedStep: step, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    for (const s of sockets) s.close();
  }
}

/** Error-level lines of the server's JSON log, grouped by message and error. */
export function serverErrors(output: string): Array<{ count: number; line: string }> {
  const groups = new Map<string, { count: number; line: string }>();
  for (const raw of output.split('\n')) {
    if (!raw.startsWith('{')) {
      // Plain stderr (a crash's stack trace, a library's warning).
      if (/Error|error|at /.test(raw) && !raw.includes('corked callback')) {
        const key = raw.trim().slice(0, 200);
        if (key) groups.set(key, { count: (groups.get(key)?.count ?? 0) + 1, line: raw.trim().slice(0, 400) });
      }
      continue;
    }
    try {
      const entry = JSON.parse(raw) as { level?: number; msg?: string; err?: { type?: string; message?: string; stack?: string }; event?: string };
      if ((entry.level ?? 0) < 50) continue;
      const key = `${entry.msg} | ${entry.event ?? ''} | ${entry.err?.type ?? ''}: ${entry.err?.message ?? ''}`.slice(0, 300);
      const first = entry.err?.stack?.split('\n').slice(0, 4).join(' / ') ?? '';
      groups.set(key, { count: (groups.get(key)?.count ?? 0) + 1, line: `${key}${first ? `  [${first.slice(0, 400)}]` : ''}` });
    } catch {
      // not a log line
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}
