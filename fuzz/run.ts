/**
 * `npm run fuzz`: starts an embedded PostgreSQL and the real server as its own
 * process, throws mutated `/ws` frames, REST requests and Socket.IO packets at
 * it from a seeded PRNG, then proves it is alive, healthy, back to its memory
 * and still carries a conversation. Exits non-zero when anything failed.
 *
 *   npm run fuzz -- [--frames 100000] [--rest 20000] [--socketio 20000]
 *                   [--handshakes N] [--seed S] [--transport uws|node] [--out fuzz/results]
 *                   [--skip-minimize]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runFuzz } from './lib/engine.js';
import { randomSeed } from './lib/prng.js';
import { formatReport, reportJson } from './lib/report.js';
import { FuzzEnvironment } from './lib/server.js';

const { values: args } = parseArgs({
  options: {
    frames: { type: 'string', default: '100000' },
    rest: { type: 'string', default: '20000' },
    socketio: { type: 'string', default: '20000' },
    handshakes: { type: 'string' },
    seed: { type: 'string' },
    transport: { type: 'string', default: 'uws' },
    out: { type: 'string', default: 'fuzz/results' },
    'skip-minimize': { type: 'boolean', default: false },
  },
});

const count = (name: string, value: string | undefined): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer (got ${value})`);
    process.exit(2);
  }
  return n;
};

async function main(): Promise<number> {
  const transport = args.transport;
  if (transport !== 'uws' && transport !== 'node') {
    console.error(`--transport must be uws or node (got ${transport})`);
    return 2;
  }
  const seed = args.seed ?? randomSeed();
  const env = new FuzzEnvironment();
  let interrupted = false;
  const onSignal = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping the server and the database…`);
    void env.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  const started = Date.now();
  const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  console.log(
    `seed ${seed}  (replay: npm run fuzz -- --seed ${seed} --transport ${transport} --frames ${args.frames} --rest ${args.rest} --socketio ${args.socketio})`,
  );
  try {
    log('starting PostgreSQL');
    const databaseUrl = await env.startDatabase();
    log(`starting the server (TRANSPORT=${transport})`);
    const target = await env.startServer(databaseUrl, transport);
    log(`server up: ${(target as { build?: string }).build}`);
    const report = await runFuzz(target, {
      seed,
      frames: count('frames', args.frames),
      rest: count('rest', args.rest),
      socketio: count('socketio', args.socketio),
      ...(args.handshakes === undefined ? {} : { handshakes: count('handshakes', args.handshakes) }),
      minimize: !args['skip-minimize'],
      log,
    });
    console.log(`\n${formatReport(report)}\n`);
    mkdirSync(args.out!, { recursive: true });
    const file = path.join(args.out!, `fuzz-${transport}-${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, reportJson(report));
    console.log(`full report with exact inputs: ${file}`);
    return report.passed ? 0 : 1;
  } finally {
    await env.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
