import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFuzz, type FuzzReport } from '../../fuzz/lib/engine.js';
import type { Finding, FindingKind } from '../../fuzz/lib/findings.js';
import type { FuzzTarget } from '../../fuzz/lib/world.js';
import { GC_ON_SIGNAL, killAll, startServerProcess, TEST_JWT_SECRET } from '../support/server-process.js';
import { testTransport } from '../support/transport.js';

/** The JWT secret startServerProcess gives the server: the fuzz signs hostile claims with it. */
const SECRET = TEST_JWT_SECRET;
const ORIGIN = 'http://localhost:3000';
const SIZE = { frames: 3_000, rest: 600, socketio: 600 };

let server: Awaited<ReturnType<typeof startServerProcess>>;
let report: FuzzReport;

beforeAll(async () => {
  // With a full collection on SIGUSR2, so the memory check compares what the server holds, not when it last collected.
  server = await startServerProcess({ CORS_ORIGINS: ORIGIN, MAX_FRAME_BYTES: '65536', MAX_BODY_BYTES: '65536', MAX_CONTENT_LENGTH: '10000' }, GC_ON_SIGNAL);
  const child = server.process.child;
  const target: FuzzTarget = {
    host: '127.0.0.1',
    port: server.port,
    pid: child.pid!,
    transport: testTransport(),
    maxFrameBytes: 65_536,
    maxBodyBytes: 65_536,
    maxContentLength: 10_000,
    allowedOrigin: ORIGIN,
    jwtSecret: SECRET,
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => server.process.output(),
    collectGarbage: true,
  };
  // The warm-up is a whole pass of the same size, so the memory check compares two working heaps.
  // A fixed seed, so a failure here replays with `npm run fuzz -- --seed e2e-fuzz ...`; FUZZ_SEED tries another.
  report = await runFuzz(target, { seed: process.env.FUZZ_SEED ?? 'e2e-fuzz', ...SIZE, minimize: false, rssWaitMs: 20_000, warmUp: 1 });
}, 240_000);

afterAll(async () => {
  await server?.stop();
  killAll();
});

/** Findings of these kinds, one readable line each (the list is what a failure prints). */
const findingsOf = (...kinds: FindingKind[]): string[] =>
  report.findings
    .filter((f: Finding) => kinds.includes(f.kind))
    .map(
      (f) => `${f.channel}/${f.kind} ×${f.count}: ${f.title}\n    input: ${f.example.input.slice(0, 400)}\n    response: ${f.example.response.slice(0, 300)}`,
    );

describe(`the server under ${SIZE.frames} mutated /ws frames, ${SIZE.rest} REST requests and ${SIZE.socketio} Socket.IO packets`, () => {
  it('sent all of it: every channel ran to its count', () => {
    expect(report.ws?.frames).toBeGreaterThanOrEqual(SIZE.frames);
    expect(report.rest?.requests).toBe(SIZE.rest);
    expect(report.socketio?.packets).toBe(SIZE.socketio);
    expect(report.ws?.answersExpected).toBeGreaterThan(SIZE.frames / 2);
    expect(report.ws?.closingFrames).toBeGreaterThan(0);
    expect(report.socketio?.callbacksExpected).toBeGreaterThan(SIZE.socketio / 2);
  });

  it('answers each /ws frame with an ack exactly once, each REST request with a status, each Socket.IO emit with a callback', () => {
    expect(findingsOf('unanswered', 'duplicate-answer', 'answer-count', 'malformed-answer')).toEqual([]);
    expect(report.ws?.answered).toBe(report.ws?.answersExpected);
    expect(report.socketio?.callbacksAnswered).toBe(report.socketio?.callbacksExpected);
    expect(report.socketio?.rawAcksAnswered).toBe(report.socketio?.rawAcksExpected);
    expect(report.rest?.unanswered).toBe(0);
  });

  it('never answers 5xx or an INTERNAL error', () => {
    expect(findingsOf('server-error', 'internal')).toEqual([]);
  });

  it('closes oversize and invalid UTF-8 /ws frames with the documented code, and no other connection', () => {
    expect(findingsOf('close-code', 'unexpected-close')).toEqual([]);
    expect(report.ws?.closesAsDocumented).toBe(report.ws?.closingFrames);
  });

  it('stays alive with /healthz answering, and its RSS returns within 10% of the level after warm-up', () => {
    expect(report.alive).toBe(true);
    expect(report.health).toMatchObject({ ok: true });
    expect(findingsOf('crash', 'memory', 'unhealthy')).toEqual([]);
    expect(report.rss.withinTolerance, `RSS ${report.rss.beforeBytes} → ${report.rss.afterBytes} bytes`).toBe(true);
  });

  it('still carries an ordinary conversation afterwards: send, push, edit, read receipt', () => {
    expect(report.conversation).toEqual({ failedStep: null, detail: expect.any(String) });
  });
});
