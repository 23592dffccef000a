/**
 * One load-generator process: opens real WebSocket (or Socket.IO) clients and
 * drives them as told by the orchestrator over IPC, then reports what it measured.
 */
import { io as connectIo, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { now, Reservoir } from './lib/stats.js';

export interface ClientSpec {
  readonly token: string;
  readonly userId: number;
  readonly conversationId: number;
  /** Sends in closed-loop and rate modes. */
  readonly sender: boolean;
  /** Overrides the worker's URL (clients spread over several servers). */
  readonly url?: string;
  /** The `/ws` query string, when not `token=<token>` (the floor server takes `uid=&conv=`). */
  readonly query?: string;
}

export interface WorkerSpec {
  readonly url: string;
  readonly transport: 'ws' | 'socketio';
  readonly mode: 'closed-loop' | 'rate' | 'idle';
  readonly clients: ClientSpec[];
  /** Messages per second per sender, in rate mode. */
  readonly ratePerSender?: number;
  readonly localAddresses?: string[];
  readonly padding?: number;
}

export interface WorkerReport {
  sent: number;
  acked: number;
  errors: number;
  errorCodes: Record<string, number>;
  deliveries: number;
  /** Deliveries of other members' messages. */
  received: number;
  connected: number;
  failedConnections: number;
  ack: number[];
  e2e: number[];
  cpuSeconds: number;
  wallSeconds: number;
}

interface Client {
  readonly spec: ClientSpec;
  send(content: string, onAnswer: (ok: boolean, code?: string) => void): void;
  close(): void;
}

let spec: WorkerSpec;
const clients: Client[] = [];
const ack = new Reservoir();
const e2e = new Reservoir();
const report = { sent: 0, acked: 0, errors: 0, deliveries: 0, received: 0, connected: 0, failedConnections: 0, errorCodes: {} as Record<string, number> };
let running = false;
let cpuStart = process.cpuUsage();
let wallStart = 0;

function onDelivery(me: ClientSpec, message: { sender_id: number; content: string }): void {
  if (!running) return;
  report.deliveries += 1;
  if (message.sender_id === me.userId) return;
  report.received += 1;
  const sentAt = Number(message.content.slice(1, message.content.indexOf('|')));
  if (sentAt > 0) e2e.add(now() - sentAt);
}

function openWs(c: ClientSpec, index: number): Promise<Client> {
  const localAddress = spec.localAddresses?.[index % spec.localAddresses.length];
  const socket = new WebSocket(`${c.url ?? spec.url}?${c.query ?? `token=${c.token}`}`, {
    perMessageDeflate: false,
    ...(localAddress ? { localAddress } : {}),
  });
  const pending = new Map<number, (ok: boolean, code?: string) => void>();
  let seq = 0;
  socket.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as { event: string; ack?: number; data?: { sender_id: number; content: string }; error?: { code: string } };
    if (frame.event === 'receiveMessage') return onDelivery(c, frame.data!);
    if (frame.ack !== undefined) {
      const answer = pending.get(frame.ack);
      pending.delete(frame.ack);
      answer?.(frame.event === 'ack', frame.error?.code);
    }
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () =>
      resolve({
        spec: c,
        send: (content, onAnswer) => {
          const id = ++seq;
          pending.set(id, onAnswer);
          socket.send(`{"event":"sendMessage","ack":${id},"data":{"conversation_id":${c.conversationId},"content":${JSON.stringify(content)}}}`);
        },
        close: () => socket.terminate(),
      }),
    );
    socket.once('error', reject);
  });
}

function openIo(c: ClientSpec): Promise<Client> {
  const socket: Socket = connectIo(c.url ?? spec.url, { query: { token: c.token }, transports: ['websocket'], reconnection: false, forceNew: true });
  socket.on('receiveMessage', (m: { sender_id: number; content: string }) => onDelivery(c, m));
  return new Promise((resolve, reject) => {
    socket.once('connect', () =>
      resolve({
        spec: c,
        send: (content, onAnswer) =>
          socket.emit('sendMessage', { conversation_id: c.conversationId, content }, (answer: { success: boolean; error?: { code: string } }) =>
            onAnswer(answer.success, answer.error?.code),
          ),
        close: () => socket.disconnect(),
      }),
    );
    socket.once('connect_error', reject);
  });
}

async function connectAll(): Promise<void> {
  const queue = spec.clients.map((c, i) => [c, i] as const);
  const open = spec.transport === 'ws' ? openWs : openIo;
  await Promise.all(
    Array.from({ length: Math.min(256, queue.length) }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        // A server shedding load answers 503; retry a few times, as a client would.
        for (let attempt = 1; ; attempt++) {
          try {
            clients.push(await open(item[0], item[1]));
            report.connected += 1;
            break;
          } catch {
            if (attempt === 3) {
              report.failedConnections += 1;
              break;
            }
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
      }
    }),
  );
}

const pad = () => 'x'.repeat(spec.padding ?? 64);

function sendOne(client: Client, loop: boolean): void {
  const sentAt = now();
  report.sent += 1;
  // No two contents alike (the count after the time): the duplicate guard answers a repeat
  // without client_id with the first message, and the bench is to measure stored messages.
  client.send(`t${sentAt}|${report.sent}|${pad()}`, (ok, code) => {
    if (ok) {
      report.acked += 1;
      if (running) ack.add(now() - sentAt);
    } else {
      report.errors += 1;
      report.errorCodes[code ?? 'UNKNOWN'] = (report.errorCodes[code ?? 'UNKNOWN'] ?? 0) + 1;
    }
    if (loop && running) sendOne(client, true);
  });
}

function startRate(): void {
  const senders = clients.filter((c) => c.spec.sender);
  const perSecond = (spec.ratePerSender ?? 1) * senders.length;
  const started = performance.now();
  let sent = 0;
  // What is due by the clock, not a fixed amount per tick: a tick delayed by a busy
  // event loop (this process also receives) must not lower the offered rate.
  const timer = setInterval(() => {
    if (!running) return clearInterval(timer);
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
    for (; sent < due; sent++) sendOne(senders[sent % senders.length]!, false);
  }, 10);
}

// Orphaned (the orchestrator died): do not keep sockets open on its behalf.
process.on('disconnect', () => process.exit(0));

process.on('message', async (msg: { type: string; spec?: WorkerSpec }) => {
  if (msg.type === 'connect') {
    spec = msg.spec!;
    await connectAll();
    process.send!({ type: 'connected', connected: report.connected, failed: report.failedConnections });
  } else if (msg.type === 'go') {
    running = true;
    cpuStart = process.cpuUsage();
    wallStart = now();
    if (spec.mode === 'closed-loop') for (const c of clients) if (c.spec.sender) sendOne(c, true);
    if (spec.mode === 'rate') startRate();
  } else if (msg.type === 'stop') {
    running = false;
    const cpu = process.cpuUsage(cpuStart);
    const result: WorkerReport = {
      ...report,
      ack: ack.samples,
      e2e: e2e.samples,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      wallSeconds: (now() - wallStart) / 1000,
    };
    process.send!({ type: 'report', report: result });
  } else if (msg.type === 'close') {
    for (const c of clients) c.close();
    setTimeout(() => process.exit(0), 200);
  }
});
