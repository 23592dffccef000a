import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

const TICKS = 100; // USER_HZ on Linux

interface Stat {
  readonly ppid: number;
  /** utime + stime of the process itself, in ticks. */
  readonly own: number;
  /** cutime + cstime: what its children that it has reaped used, in ticks. */
  readonly reaped: number;
}

function stat(pid: number): Stat | null {
  try {
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
  } catch {
    return null;
  }
}

/**
 * CPU seconds used so far by each root and every process below it. A child
 * that exits between two readings is not lost: its time moves into its
 * parent's reaped counters, which are counted too, so the difference of two
 * readings is exact whatever was forked or reaped in between.
 */
export function treeCpuSeconds(roots: readonly number[]): number {
  const children = new Map<number, number[]>();
  const stats = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    stats.set(pid, s);
    const siblings = children.get(s.ppid);
    if (siblings) siblings.push(pid);
    else children.set(s.ppid, [pid]);
  }
  let ticks = 0;
  const seen = new Set<number>();
  const walk = (pid: number) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    const s = stats.get(pid);
    if (!s) return;
    ticks += s.own + s.reaped;
    for (const child of children.get(pid) ?? []) walk(child);
  };
  for (const root of roots) walk(root);
  return ticks / TICKS;
}

/** Every process in the trees under `roots` (the roots included), from one pass over /proc. */
export function treePids(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    const siblings = children.get(s.ppid);
    if (siblings) siblings.push(pid);
    else children.set(s.ppid, [pid]);
  }
  const out = new Set<number>();
  const walk = (pid: number) => {
    if (out.has(pid)) return;
    out.add(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  for (const root of roots) if (stat(root)) walk(root);
  return [...out];
}

/** The direct children of `pid` whose command line contains `marker`. */
export function childrenOf(pid: number, marker = ''): number[] {
  return treePids([pid]).filter((p) => p !== pid && stat(p)?.ppid === pid && commandLine(p).includes(marker));
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * Proportional set size: each shared page divided among the processes that map
 * it. Summed over PostgreSQL's processes it counts shared_buffers once, where a
 * sum of RSS counts it in every backend that touched it.
 */
export function pssBytes(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Pss:'));
    return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Every process's own CPU so far, in seconds, by pid. Not its reaped
 * children's: a child reaped in a window brings its whole life's CPU with it.
 */
export function allCpuSeconds(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (s) out.set(pid, s.own / TICKS);
  }
  return out;
}

/**
 * Of a process's main thread (a Node process's event loop): seconds it has
 * run, and seconds it has been runnable but waiting for a CPU. A thread that
 * waits long for a CPU is starved; one that neither runs nor waits is idle,
 * or blocked on I/O.
 */
export function schedSeconds(pid: number): { run: number; wait: number } | null {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { run: run! / 1e9, wait: wait! / 1e9 };
  } catch {
    return null;
  }
}

/** CPU seconds the process itself has used so far (not its children); NaN once it is gone. */
export function ownCpuSeconds(pid: number): number {
  const s = stat(pid);
  return s ? s.own / TICKS : NaN;
}

/** CPU seconds of a set of process trees between `begin` and `end`. */
export class CpuMeter {
  private start = 0;
  constructor(private readonly roots: () => readonly number[]) {}
  begin(): void {
    this.start = treeCpuSeconds(this.roots());
  }
  end(): number {
    return treeCpuSeconds(this.roots()) - this.start;
  }
}

/** CPU seconds the whole machine has spent busy (every core; steal included: it was not ours to use). */
export function machineBusySeconds(): number {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS;
}

/** The machine's CPU time by kind so far, in seconds (softirq: mostly network processing, loopback included). */
export function machineCpuByKind(): { user: number; system: number; softirq: number; steal: number; idle: number } {
  const [, user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return { user: (user! + nice!) / TICKS, system: (system! + irq!) / TICKS, softirq: softirq! / TICKS, steal: steal! / TICKS, idle: (idle! + iowait!) / TICKS };
}

/** TCP counters that explain slow connects (machine-wide: every process on this kernel adds to them). */
const TCP_COUNTERS = [
  'TcpExt:ListenOverflows',
  'TcpExt:ListenDrops',
  'TcpExt:TCPSynRetrans',
  'TcpExt:TWRecycled',
  'TcpExt:TCPTimeouts',
  'Tcp:AttemptFails',
  'Tcp:OutRsts',
];

export function tcpCounters(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const file of ['/proc/net/netstat', '/proc/net/snmp']) {
    let lines: string[];
    try {
      lines = readFileSync(file, 'utf8').trim().split('\n');
    } catch {
      continue;
    }
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.split(/\s+/);
      const values = lines[i + 1]!.split(/\s+/);
      const prefix = names[0]!.replace(':', '');
      names.forEach((n, j) => {
        const key = `${prefix}:${n}`;
        if (TCP_COUNTERS.includes(key)) out[key.split(':')[1]!] = Number(values[j]);
      });
    }
  }
  return out;
}

export function rssBytes(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** The median of a few RSS readings spread over `ms`, so one reading taken mid-GC does not decide. */
export async function settledRss(pid: number, readings = 5, ms = 1000): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < readings; i++) {
    values.push(rssBytes(pid));
    if (i < readings - 1) await new Promise((r) => setTimeout(r, ms / (readings - 1)));
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

/** Peak resident memory of a set of processes, sampled every 100 ms. */
export class PeakRss {
  private timer: NodeJS.Timeout | null = null;
  peakBytes = 0;
  constructor(private readonly pids: () => readonly number[]) {}
  begin(): void {
    this.peakBytes = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }
  end(): number {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return this.peakBytes;
  }
  private sample(): void {
    this.peakBytes = Math.max(
      this.peakBytes,
      this.pids().reduce((sum, pid) => sum + rssBytes(pid), 0),
    );
  }
}

/**
 * The postmaster of the cluster behind `url`, when it runs on this machine:
 * the parent of the backend serving one connection. Null when its processes
 * cannot be seen (a remote server, another container).
 */
export async function postmasterPid(url: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = stat(rows[0]!.pid);
    if (!backend) return null;
    const comm = readFileSync(`/proc/${backend.ppid}/comm`, 'utf8').trim();
    return comm.startsWith('postgres') ? backend.ppid : null;
  } catch {
    return null;
  } finally {
    await client.end();
  }
}
