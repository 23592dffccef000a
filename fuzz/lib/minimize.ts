import type { Socket } from 'socket.io-client';
import type WebSocket from 'ws';
import { preview } from './json.js';
import type { Channel, Finding, Findings, Replay } from './findings.js';
import { RawHttpConnection } from './raw-http.js';
import { renderRequest, showRequest, transportTrait, type RestRequest } from './rest-requests.js';
import { openSio } from './socketio-channel.js';
import { showSio } from './socketio-inputs.js';
import { openWs, sleep } from './ws-channel.js';
import { ackKey } from './ws-frames.js';
import type { FuzzTarget, World } from './world.js';

/**
 * One cause behind one or more findings: the smallest input found that still
 * fails the same way, what the server answered and what it logged.
 */
export interface RootCause {
  readonly channel: Channel;
  /** The event or route. */
  readonly what: string;
  /** How it fails: an error code, an HTTP status, or "no answer". */
  readonly failure: string;
  /** What the server logged at error level while failing (numbers and quoted values masked). */
  readonly serverLog: string;
  readonly input: string;
  readonly response: string;
  /** False when the original input did not fail again when sent alone. */
  readonly reproducible: boolean;
  /** Examples that reduced to this cause. */
  examples: number;
  /** Keys of the findings those examples came from. */
  readonly findings: Set<string>;
}

const BAD_CODES = new Set(['INTERNAL', 'SERVICE_UNAVAILABLE', 'OVERLOADED']);
const ASK_TIMEOUT_MS = 5_000;
/** Requests one example may spend on shrinking. */
const BUDGET = 80;
/** Time one example may spend on shrinking. */
const EXAMPLE_MS = 20_000;
/** Examples of one finding that are reduced (they were picked for differing mutations). */
const EXAMPLES_PER_FINDING = 5;
/** Time all minimisation may take. */
const TOTAL_MS = 8 * 60_000;

type Outcome = { failure: string | null; response: string };

/** Sends inputs one at a time and reports how each failed (null: it did not). */
interface Probe {
  run(input: unknown): Promise<Outcome>;
}

class WsProbe implements Probe {
  private socket: WebSocket | null = null;
  private n = 0;
  constructor(
    private readonly world: World,
    private readonly token: string,
  ) {}

  /** Sends the frame with its own ack (so its size does not change), or with one added. */
  async run(frame: unknown): Promise<Outcome> {
    if (!this.socket || this.socket.readyState !== 1) this.socket = await openWs(this.world.wsUrl, this.token);
    const socket = this.socket;
    const given = frame as { ack?: unknown };
    const ack = given.ack ?? `min-${++this.n}`;
    const text = JSON.stringify(given.ack === undefined ? { ...(frame as object), ack } : frame);
    return new Promise<Outcome>((resolve) => {
      const done = (outcome: Outcome) => {
        clearTimeout(timer);
        socket.off('message', onMessage);
        socket.off('close', onClose);
        resolve(outcome);
      };
      const timer = setTimeout(() => done({ failure: 'no answer', response: `(no answer within ${ASK_TIMEOUT_MS} ms)` }), ASK_TIMEOUT_MS);
      // A frame the protocol closes the connection for (too big) is no longer the failure being reduced.
      const onClose = (code: number) => done({ failure: null, response: `(closed ${code})` });
      const onMessage = (raw: Buffer) => {
        const f = JSON.parse(raw.toString()) as { ack?: unknown; event?: string; error?: { code?: string } };
        if (!('ack' in f) || ackKey(f.ack) !== ackKey(ack)) return;
        const code = f.event === 'error' ? String(f.error?.code) : null;
        done({ failure: code && BAD_CODES.has(code) ? code : null, response: preview(raw.toString(), 300) });
      };
      socket.on('message', onMessage);
      socket.once('close', onClose);
      socket.send(text);
    });
  }

  close(): void {
    this.socket?.terminate();
  }
}

class SioProbe implements Probe {
  private socket: Socket | null = null;
  constructor(
    private readonly world: World,
    private readonly token: string,
  ) {}

  async run(input: unknown): Promise<Outcome> {
    if (!this.socket?.connected) this.socket = await openSio(this.world.baseUrl, this.token, 'websocket');
    const socket = this.socket;
    const { event, args } = input as { event: string; args: unknown[] };
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => resolve({ failure: 'no answer', response: `(no callback within ${ASK_TIMEOUT_MS} ms)` }), ASK_TIMEOUT_MS);
      socket.emit(event, ...args, (answer: { success?: boolean; error?: { code?: string } }) => {
        clearTimeout(timer);
        const code = answer?.success === false ? String(answer.error?.code) : null;
        resolve({ failure: code && BAD_CODES.has(code) ? code : null, response: preview(JSON.stringify(answer), 300) });
      });
    });
  }

  close(): void {
    this.socket?.close();
  }
}

class HttpProbe implements Probe {
  constructor(private readonly target: FuzzTarget) {}

  async run(input: unknown): Promise<Outcome> {
    const req = input as RestRequest;
    const conn = new RawHttpConnection(this.target.host, this.target.port);
    const outcome = await conn.request(renderRequest(req, `${this.target.host}:${this.target.port}`, false), {
      head: req.method === 'HEAD',
      timeoutMs: ASK_TIMEOUT_MS,
    });
    conn.destroy();
    if (!outcome.ok) return { failure: req.malformed ? null : 'no answer', response: `(${outcome.reason})` };
    const { status, body } = outcome.response;
    let code: string;
    try {
      code = String((JSON.parse(body.toString()) as { error?: { code?: string } }).error?.code ?? '');
    } catch {
      code = '';
    }
    return { failure: status >= 500 ? `${status} ${code}`.trim() : null, response: `HTTP ${status} ${preview(body.toString(), 300)}` };
  }

  close(): void {}
}

/** Plain JSON values: what JSON.parse gives and a reduction keeps (own "__proto__" keys included). */
const setOwn = (o: Record<string, unknown>, k: string, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
const without = (o: Record<string, unknown>, key: string) => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (k !== key) setOwn(out, k, v);
  return out;
};
const withValue = (o: Record<string, unknown>, key: string, value: unknown) => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) setOwn(out, k, k === key ? value : v);
  return out;
};
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

/**
 * Greedy reduction: drop keys and elements, empty and halve strings, keeping
 * each step that still fails the same way. `fails` spends the budget.
 */
async function reduce(value: unknown, fails: (candidate: unknown) => Promise<boolean>, keep: ReadonlySet<string> = new Set()): Promise<unknown> {
  if (depthOf(value) > 100) {
    // Deep nesting is the point of such a value: try it flat, else keep it whole.
    for (const flat of [[], {}, null]) if (await fails(flat)) return flat;
    return value;
  }
  if (Array.isArray(value)) {
    let current = value;
    for (let i = current.length - 1; i >= 0; i--) {
      const candidate = [...current.slice(0, i), ...current.slice(i + 1)];
      if (await fails(candidate)) current = candidate;
    }
    for (let i = 0; i < current.length; i++) {
      const at = i;
      current = [
        ...current.slice(0, at),
        await reduce(current[at], (c) => fails([...current.slice(0, at), c, ...current.slice(at + 1)])),
        ...current.slice(at + 1),
      ];
    }
    return current;
  }
  if (isPlainObject(value)) {
    let current = value;
    for (const key of Object.keys(current)) {
      if (keep.has(key)) continue;
      const candidate = without(current, key);
      if (await fails(candidate)) current = candidate;
    }
    for (const key of Object.keys(current)) {
      if (keep.has(key)) continue;
      const base = current;
      const reduced = await reduce(base[key], (c) => fails(withValue(base, key, c)));
      current = withValue(current, key, reduced);
    }
    return current;
  }
  if (typeof value === 'string' && value.length > 1) {
    let s = value;
    if (await fails('')) return '';
    for (let rounds = 0; rounds < 24 && s.length > 1; rounds++) {
      const half = Math.ceil(s.length / 2);
      const options = [s.slice(0, half), s.slice(half), s.slice(1), s.slice(0, -1)];
      let moved = false;
      for (const candidate of options) {
        if (candidate.length < s.length && (await fails(candidate))) {
          s = candidate;
          moved = true;
          break;
        }
      }
      if (!moved) break;
    }
    return s;
  }
  return value;
}

/** How deep arrays and objects nest, without recursion (a fuzzed value may nest thousands deep). */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null || Buffer.isBuffer(v)) continue;
    max = Math.max(max, d + 1);
    if (max > 1_000) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/** The lines the server logged at error level while one input was handled, with values masked. */
async function loggedDuring<T>(target: FuzzTarget, work: () => Promise<T>): Promise<{ result: T; log: string }> {
  const mark = target.output().length;
  const result = await work();
  await sleep(150);
  const lines = target
    .output()
    .slice(mark)
    .split('\n')
    .flatMap((line) => {
      try {
        const e = JSON.parse(line) as { level?: number; msg?: string; err?: { type?: string; message?: string } };
        return (e.level ?? 0) >= 50 ? [`${e.msg}: ${e.err?.type ?? ''} ${e.err?.message ?? ''}`.trim()] : [];
      } catch {
        return line.trim() ? [line.trim().slice(0, 200)] : [];
      }
    });
  return { result, log: [...new Set(lines.map(mask))].join(' / ') };
}

/** Masks what differs between occurrences of one cause: numbers and quoted values. */
const mask = (line: string) => line.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N');

interface Reducible {
  readonly channel: Channel;
  readonly what: string;
  readonly probe: Probe;
  readonly input: unknown;
  /** Parts of the input never removed (the event name). */
  readonly shrink: (input: unknown, fails: (c: unknown) => Promise<boolean>) => Promise<unknown>;
  readonly show: (input: unknown) => string;
  /** What several reduced inputs failing without a log line have in common, to group them. */
  readonly signature?: (input: unknown) => string;
}

/**
 * Reduces a few examples of every failing finding that can be replayed, and
 * groups them by the cause they reduce to (what, how it failed, what the
 * server logged). Runs against the live server after the fuzz.
 */
export async function findRootCauses(target: FuzzTarget, world: World, findings: Findings, log: (line: string) => void): Promise<RootCause[]> {
  const causes = new Map<string, RootCause>();
  const probes = new Map<string, WsProbe | SioProbe>();
  const probeFor = (kind: 'ws' | 'sio', token: string) => {
    const key = `${kind}:${token}`;
    let p = probes.get(key);
    if (!p) probes.set(key, (p = kind === 'ws' ? new WsProbe(world, token) : new SioProbe(world, token)));
    return p;
  };
  const http = new HttpProbe(target);
  const replayable = findings.list().filter((f) => f.failure && (f.kind === 'internal' || f.kind === 'server-error' || f.kind === 'unanswered'));
  const until = Date.now() + TOTAL_MS;
  let skipped = 0;
  try {
    for (const finding of replayable) {
      for (const example of finding.examples.slice(0, EXAMPLES_PER_FINDING)) {
        if (!example.replay || !target.alive()) continue;
        if (Date.now() > until) {
          skipped += 1;
          continue;
        }
        try {
          await reduceExample(target, finding, example.replay, example, causes, probeFor, http);
        } catch (error) {
          log(`could not replay an example of "${finding.title}" (${describeReplay(example.replay)}): ${String(error)}`);
        }
      }
    }
  } finally {
    for (const p of probes.values()) p.close();
  }
  log(`minimised examples into ${causes.size} causes${skipped ? `; ${skipped} examples left out after ${TOTAL_MS / 60_000} min` : ''}`);
  return [...causes.values()].sort((a, b) => a.channel.localeCompare(b.channel) || a.what.localeCompare(b.what));
}

/** Sends one example again; if it still fails, shrinks it and files it under the cause it reduces to. */
async function reduceExample(
  target: FuzzTarget,
  finding: Finding,
  replay: Replay,
  example: Finding['example'],
  causes: Map<string, RootCause>,
  probeFor: (kind: 'ws' | 'sio', token: string) => WsProbe | SioProbe,
  http: HttpProbe,
): Promise<void> {
  const subject = await subjectOf(replay, finding, probeFor, http);
  if (!subject) return;
  const original = await loggedDuring(target, () => subject.probe.run(subject.input));
  const key0 = `${finding.channel}|${subject.what}`;
  if (!original.result.failure) {
    addCause(
      causes,
      `${key0}|not reproducible|${example.input}`,
      {
        channel: finding.channel,
        what: subject.what,
        failure: finding.kind,
        serverLog: '',
        input: example.input,
        response: example.response,
        reproducible: false,
      },
      finding,
    );
    return;
  }
  const failure = original.result.failure;
  // A silent failure costs a whole timeout per try: far fewer tries for those.
  let budget = failure.includes('no answer') ? 8 : BUDGET;
  const deadline = Date.now() + EXAMPLE_MS;
  const fails = async (candidate: unknown) => {
    if (budget-- <= 0 || Date.now() > deadline || !target.alive()) return false;
    return (await subject.probe.run(candidate).catch(() => ({ failure: null }))).failure === failure;
  };
  const reduced = await subject.shrink(subject.input, fails);
  const final = await loggedDuring(target, () => subject.probe.run(reduced));
  const serverLog = final.log || original.log;
  addCause(
    causes,
    `${key0}|${failure}|${serverLog || subject.signature?.(reduced) || subject.show(reduced)}`,
    { channel: finding.channel, what: subject.what, failure, serverLog, input: subject.show(reduced), response: final.result.response, reproducible: true },
    finding,
  );
}

const describeReplay = (replay: Replay): string => {
  if (replay.kind === 'http') return replay.request.route;
  const claims = replay.token.split('.')[1] ?? '';
  let sub = '?';
  try {
    sub = String((JSON.parse(Buffer.from(claims, 'base64url').toString()) as { sub?: unknown }).sub);
  } catch {
    // not a JWT
  }
  return `${replay.kind} as user ${sub}`;
};

function addCause(causes: Map<string, RootCause>, key: string, cause: Omit<RootCause, 'examples' | 'findings'>, finding: Finding): void {
  let c = causes.get(key);
  if (!c) causes.set(key, (c = { ...cause, examples: 0, findings: new Set() }));
  else if (cause.input.length < c.input.length) causes.set(key, (c = { ...c, ...cause, examples: c.examples, findings: c.findings }));
  c.examples += 1;
  c.findings.add(finding.key);
}

async function subjectOf(
  replay: Replay,
  finding: Finding,
  probeFor: (kind: 'ws' | 'sio', token: string) => WsProbe | SioProbe,
  http: HttpProbe,
): Promise<Reducible | null> {
  if (replay.kind === 'ws' || replay.kind === 'ws-candidates') {
    const probe = probeFor('ws', replay.token);
    let frame: Record<string, unknown> | null = null;
    const texts = replay.kind === 'ws' ? [replay.frame] : replay.frames;
    for (const text of texts) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        continue;
      }
      if (!isPlainObject(parsed)) continue;
      // Of several suspects, the first that fails on its own.
      if (replay.kind === 'ws' || (await probe.run(parsed)).failure) {
        frame = parsed;
        break;
      }
    }
    if (!frame) return null;
    return {
      channel: 'ws',
      what: typeof frame.event === 'string' ? frame.event : `(${typeof frame.event})`,
      probe,
      input: frame,
      shrink: (input, fails) => reduce(input, fails, new Set(['event', 'ack'])),
      show: (input) => JSON.stringify(input),
    };
  }
  if (replay.kind === 'sio') {
    const probe = probeFor('sio', replay.token);
    return {
      channel: 'socketio',
      what: String(replay.event),
      probe,
      input: { event: replay.event, args: [...replay.args] },
      shrink: async (input, fails) => {
        const { event, args } = input as { event: string; args: unknown[] };
        const reduced = await reduce(args, (c) => fails({ event, args: c }));
        return { event, args: reduced };
      },
      show: (input) => {
        const { event, args } = input as { event: string | number; args: unknown[] };
        return showSio({ kind: 'emit', event, args, callback: true, largestFrame: 0, tags: [] });
      },
    };
  }
  const req = replay.request;
  return {
    channel: finding.channel,
    what: transportTrait(req) ? `any route, with ${transportTrait(req)}` : req.route,
    probe: http,
    input: req,
    shrink: (input, fails) => shrinkRequest(input as RestRequest, fails),
    show: (input) => showRequest(input as RestRequest, renderRequest(input as RestRequest, 'HOST', false)),
    signature: (input) => transportTrait(input as RestRequest),
  };
}

/** Drops headers, the query and body fields while the request still fails. */
async function shrinkRequest(req: RestRequest, fails: (c: unknown) => Promise<boolean>): Promise<RestRequest> {
  let current = req;
  for (const header of req.headers) {
    const candidate = { ...current, headers: current.headers.filter((h) => h !== header) };
    if (await fails(candidate)) current = candidate;
  }
  if (current.query !== null) {
    const candidate = { ...current, query: null };
    if (await fails(candidate)) current = candidate;
  }
  if (current.body !== null) {
    const noBody = { ...current, body: null };
    if (await fails(noBody)) return noBody;
    let parsed: unknown;
    try {
      parsed = JSON.parse(current.body.toString('utf8'));
    } catch {
      return current;
    }
    const base = current;
    const reduced = await reduce(parsed, (c) => fails({ ...base, body: Buffer.from(JSON.stringify(c)), chunked: false }));
    if (reduced !== parsed) {
      const candidate = { ...base, body: Buffer.from(JSON.stringify(reduced)), chunked: false };
      if (await fails(candidate)) current = candidate;
    }
  }
  return current;
}
