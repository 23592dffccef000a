import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** pino's numeric levels, for the relay's threshold. */
const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * The relay: reads what this process writes to file descriptor 2 and writes it
 * to stdout as JSON log lines (`"source":"stderr"`, pino's shape, the server's
 * pid), a line repeated within a tenth of a second once with `repeated`. It
 * runs in its own small process so that nothing is lost when the server dies
 * natively (an abort's last words are still in the pipe) and a busy server
 * never waits on itself; it ignores Ctrl-C and ends when the pipe closes, that
 * is when the server has gone.
 */
const RELAY = `
const fs = require('node:fs');
const [fifo, pid, threshold] = [process.argv.at(-3), Number(process.argv.at(-2)), Number(process.argv.at(-1))];
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
let partial = '';
let pending = [];
const flush = () => {
  let last = null;
  for (const line of pending) {
    if (last && last.msg === line) last.repeated = (last.repeated ?? 1) + 1;
    else {
      if (last) emit(last);
      last = { msg: line };
    }
  }
  if (last) emit(last);
  pending = [];
};
const emit = (entry) => {
  if (threshold > 40) return;
  process.stdout.write(JSON.stringify({ level: 40, time: Date.now(), pid, source: 'stderr', msg: entry.msg.slice(0, 2000), ...(entry.repeated ? { repeated: entry.repeated } : {}) }) + '\\n');
};
let timer = null;
const input = fs.createReadStream(fifo, { encoding: 'utf8' });
input.on('open', () => fs.rmSync(fifo, { force: true }));
input.on('data', (chunk) => {
  const lines = (partial + chunk).split('\\n');
  partial = lines.pop();
  pending.push(...lines.filter((l) => l.trim() !== ''));
  timer ??= setTimeout(() => ((timer = null), flush()), 100);
});
input.on('end', () => {
  if (partial.trim() !== '') pending.push(partial);
  flush();
});
`;

/**
 * Sends everything written to this process's stderr (file descriptor 2) from
 * now on, by native code too, into the JSON log on stdout. The npm build of
 * uWebSockets.js writes a plain-text warning to stderr for every WebSocket
 * upgrade (its upgrade is deliberately not corked: corked after the
 * asynchronous token check, it closes some new sockets at once), which would
 * otherwise break a log stream of one JSON object per line.
 *
 * Linux: descriptor 2 becomes a FIFO the relay reads, opened read-write so
 * that the open never waits for the relay. Call it early, before anything
 * else may open files, so descriptor 2 is the lowest free one between the
 * close and the open.
 */
export function relayStderrToLog(logLevel: string): { relayed: true; finish(): Promise<void> } | { relayed: false; reason: string } {
  const fifo = path.join(os.tmpdir(), `chat-stderr-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    execFileSync('mkfifo', ['-m', '600', fifo], { stdio: 'ignore' });
  } catch (error) {
    // No mkfifo (a minimal image, say): stderr stays as it is, and start-up says so.
    return { relayed: false, reason: `mkfifo failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
  const relay = spawn(process.execPath, ['-e', RELAY, '--', fifo, String(process.pid), String(LEVELS[logLevel] ?? 30)], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {},
  });
  relay.unref();
  fs.closeSync(2);
  const fd = fs.openSync(fifo, fs.constants.O_RDWR);
  if (fd !== 2) throw new Error(`stderr could not be replaced (descriptor ${fd} opened instead of 2)`);
  const toNull = () => {
    fs.closeSync(2);
    fs.openSync('/dev/null', 'w');
  };
  let relayGone = false;
  const ended = new Promise<void>((resolve) => relay.once('exit', () => resolve()));
  // Should the relay die, nothing may block on a full pipe nobody reads: stderr goes nowhere instead.
  void ended.then(() => {
    if (!relayGone) toNull();
  });
  process.once('exit', () => fs.rmSync(fifo, { force: true }));
  return {
    relayed: true,
    // Before exiting: the pipe's last writer closes, so the relay writes what is left and ends with
    // this process, never after it (bounded, should a child still hold the pipe open).
    finish: () => {
      if (!relayGone) {
        relayGone = true;
        toNull();
      }
      return Promise.race([ended, new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref())]);
    },
  };
}
