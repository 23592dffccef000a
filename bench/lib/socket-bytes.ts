import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** One established TCP socket as `ss -tinp` shows it. */
export interface TcpSocket {
  readonly localPort: number;
  readonly peerPort: number;
  /** Processes holding it. */
  readonly pids: readonly number[];
  /** tcp_info's bytes_received: payload bytes the kernel took in on this socket (RFC 4898 ThruOctetsReceived). */
  readonly bytesReceived: number;
}

const port = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

/** Every established TCP socket on the machine, with the kernel's byte counters (`ss` from iproute2). */
export function tcpSockets(): TcpSocket[] {
  const text = execFileSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const out: TcpSocket[] = [];
  let head: string[] | null = null;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    // ss prints each socket on one line and its tcp_info on the next, indented.
    if (!/^\s/.test(line)) {
      head = line.trim().split(/\s+/);
      continue;
    }
    if (!head) continue;
    const [, , local, peer, ...rest] = head;
    const pids = [...rest.join(' ').matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    const received = /bytes_received:(\d+)/.exec(line);
    out.push({ localPort: port(local!), peerPort: port(peer!), pids, bytesReceived: received ? Number(received[1]) : 0 });
    head = null;
  }
  return out;
}

/** Bytes the process has read so far through read-like system calls, every descriptor together (`rchar` of /proc/<pid>/io). */
export function readChars(pid: number): number {
  try {
    return Number(/^rchar:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * Bytes received per process on a chosen set of its sockets between `begin`
 * and `end`, socket by socket: a socket opened inside the window counts from
 * zero; what arrived on one closed inside it is lost, and `closed` says how
 * many were (a broker reconnecting mid-window).
 */
export class SocketBytesMeter {
  private start = new Map<string, number>();
  closed = 0;

  constructor(
    private readonly pids: readonly number[],
    /** Which of a process's sockets count. */
    private readonly counts: (s: TcpSocket) => boolean,
  ) {}

  private read(): Map<string, { pid: number; bytes: number }> {
    const out = new Map<string, { pid: number; bytes: number }>();
    for (const s of tcpSockets()) {
      const pid = s.pids.find((p) => this.pids.includes(p));
      if (pid === undefined || !this.counts(s)) continue;
      out.set(`${pid}:${s.localPort}:${s.peerPort}`, { pid, bytes: s.bytesReceived });
    }
    return out;
  }

  begin(): void {
    this.start = new Map([...this.read()].map(([k, v]) => [k, v.bytes]));
  }

  /** Bytes received per process over the window, in the order of `pids`. */
  end(): number[] {
    const now = this.read();
    this.closed = [...this.start.keys()].filter((k) => !now.has(k)).length;
    const totals = new Map(this.pids.map((p) => [p, 0]));
    for (const [k, v] of now) totals.set(v.pid, (totals.get(v.pid) ?? 0) + v.bytes - (this.start.get(k) ?? 0));
    return this.pids.map((p) => totals.get(p)!);
  }
}
