/**
 * The floor: the least a server can do for the benchmark's protocol subset, so
 * that the real server's figures can be read as ratios to it, measured in the
 * same run on the same machine. uWebSockets.js (its native binary, loaded
 * directly) and one `pg` connection; no ORM, no auth, no validation.
 *
 *   GET /ws?uid=<userId>&conv=<conversationId>   subscribes the socket to `c:<conv>`
 *   {"event":"sendMessage","ack":N,"data":{"conversation_id":C,"content":"…"}}
 *     → stored by group commit, answered {"event":"ack","ack":N,"data":{…}}
 *       after the commit, then published once as receiveMessage to `c:<C>`
 *
 * Environment: DATABASE_URL (required), HOST (127.0.0.1), PORT (0 picks one),
 * FLOOR_LOCK=1 to hold one cluster-wide advisory lock per batch as the real
 * server does, FLOOR_BATCH_MAX (500).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import type * as Uws from '@trufflesuite/uws-js-unofficial';
import { FLOOR_SCHEMA, floorInsert } from './floor-sql.js';

const require = createRequire(import.meta.url);
const packageRoot = path.dirname(require.resolve('@trufflesuite/uws-js-unofficial/package.json'));
// The binary, never the package's entry point: that falls back to a slow JS emulation on other ABIs.
const uws = require(path.join(packageRoot, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`)) as typeof Uws;

const HOST = process.env.HOST ?? '127.0.0.1';
const PORT = Number(process.env.PORT ?? 0);
const LOCK = process.env.FLOOR_LOCK === '1';
const BATCH_MAX = Number(process.env.FLOOR_BATCH_MAX ?? 500);
const INSERT = floorInsert(LOCK);

interface SocketData {
  uid: number;
  conv: number;
  closed: boolean;
}
interface Pending {
  ws: Uws.WebSocket<SocketData>;
  /** The socket's state, read without touching the socket: sending on a closed uWS socket throws. */
  me: SocketData;
  ack: unknown;
  uid: number;
  conv: number;
  content: string;
  at: Date;
}

const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
await db.connect();
await db.query('SET synchronous_commit = on');
await db.query(FLOOR_SCHEMA);

let queue: Pending[] = [];
let writing: Promise<void> | null = null;

/** Group commit: one batch in flight; whatever arrives meanwhile forms the next one. */
function schedule(): void {
  writing ??= (async () => {
    await new Promise((r) => setImmediate(r));
    while (queue.length > 0) {
      const batch = queue.length <= BATCH_MAX ? queue : queue.slice(0, BATCH_MAX);
      queue = queue.length <= BATCH_MAX ? [] : queue.slice(BATCH_MAX);
      try {
        const { rows } = await db.query<{ id: string }>({
          name: 'floor_insert',
          text: INSERT,
          values: [batch.map((p) => p.conv), batch.map((p) => p.uid), batch.map((p) => p.content), batch.map((p) => p.at)],
        });
        batch.forEach((p, i) => deliver(p, rows[i]!.id));
      } catch (error) {
        console.error('floor: batch failed', error);
        for (const p of batch) if (!p.me.closed) p.ws.cork(() => p.ws.send(`{"event":"error","ack":${JSON.stringify(p.ack)},"error":{"code":"INTERNAL"}}`));
      }
    }
    writing = null;
  })();
}

function deliver(p: Pending, id: string): void {
  const message = `{"id":${id},"conversation_id":${p.conv},"sender_id":${p.uid},"content":${JSON.stringify(p.content)},"type":"text","created_at":"${p.at.toISOString()}"}`;
  if (!p.me.closed) p.ws.cork(() => p.ws.send(`{"event":"ack","ack":${JSON.stringify(p.ack)},"data":${message}}`));
  app.publish(`c:${p.conv}`, `{"event":"receiveMessage","data":${message}}`);
}

const app = uws.App().ws<SocketData>('/ws', {
  idleTimeout: 120,
  maxPayloadLength: 64 * 1024,
  maxBackpressure: 64 * 1024 * 1024,
  upgrade: (res, req, context) => {
    const query = new URLSearchParams(req.getQuery() ?? '');
    res.upgrade<SocketData>(
      { uid: Number(query.get('uid')), conv: Number(query.get('conv')), closed: false },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    ws.subscribe(`c:${ws.getUserData().conv}`);
  },
  message: (ws, raw) => {
    let frame: { event?: string; ack?: unknown; data?: { conversation_id?: number; content?: string } };
    try {
      frame = JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch {
      return;
    }
    if (frame.event !== 'sendMessage' || !frame.data) return;
    const me = ws.getUserData();
    queue.push({ ws, me, ack: frame.ack, uid: me.uid, conv: Number(frame.data.conversation_id), content: String(frame.data.content), at: new Date() });
    schedule();
  },
  close: (ws) => {
    ws.getUserData().closed = true;
  },
});

const listenSocket = await new Promise<Uws.us_listen_socket>((resolve, reject) =>
  app.listen(HOST, PORT, (socket) => (socket ? resolve(socket) : reject(new Error(`floor: cannot listen on ${HOST}:${PORT}`)))),
);
console.log(
  `floor listening on http://${HOST}:${uws.us_socket_local_port(listenSocket)} (uws native ABI ${process.versions.modules}, lock ${LOCK ? 'on' : 'off'}, batch ${BATCH_MAX}, pid ${process.pid})`,
);

process.once('SIGTERM', () => {
  uws.us_listen_socket_close(listenSocket);
  void (async () => {
    while (writing) await writing;
    await db.end();
    process.exit(0);
  })();
});
