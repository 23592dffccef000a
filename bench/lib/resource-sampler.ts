import { allCpuSeconds, commandLine, machineBusySeconds, ownCpuSeconds, schedSeconds, pssBytes, rssBytes, treeCpuSeconds, treePids } from './process-stats.js';

export interface ResourceGroups {
  /** Roots of the server's process tree, read at every sample (a restarted server has a new root). */
  readonly server: () => readonly number[];
  /** The postmaster, or null when PostgreSQL's processes are not visible. */
  readonly postgres: number | null;
  /** The client processes. */
  readonly clients: readonly number[];
}

export interface ResourceUse {
  readonly seconds: number;
  /** Cores used on average over the window, per group; other = machine busy less the three. */
  readonly serverCores: number;
  readonly postgresCores: number;
  readonly clientCores: number;
  readonly otherCores: number;
  /** Highest sum of RSS over the server's processes (supervisor and workers). */
  readonly serverPeakRssMB: number;
  /** Highest sum of PSS over PostgreSQL's processes (shared memory counted once). */
  readonly postgresPeakPssMB: number;
  /** CPU seconds used in each second of the window, per group. */
  readonly perSecond: { server: number[]; postgres: number[]; clients: number[] };
  /** Each server process seen in the window (a killed worker and its replacement apart): cores over the time it was seen. */
  readonly serverProcesses: Array<{
    pid: number;
    cores: number;
    seconds: number;
    /** Share of the time its main thread was runnable but had no CPU. */ waitingForCpu: number;
  }>;
  /** This harness process itself, in cores. */
  readonly harnessCores: number;
  /** The busiest processes outside the server, PostgreSQL, the clients and this harness: who the other load was. */
  readonly otherProcesses: Array<{ pid: number; cores: number; command: string }>;
  /** Other processes alive over the whole window, together; the rest of the other load ran in processes that came and went. */
  readonly otherLongLivedCores: number;
}

const MB = 2 ** 20;

/**
 * CPU and memory of the server, PostgreSQL and the clients over a window in
 * which processes die and start (a killed worker, a restarted server). CPU is
 * accumulated from tree readings every `everyMs`: while a tree's root stays the
 * same its difference is exact (a reaped child's time moves into its parent's
 * counters); across a change of root the interval is not counted. PSS is read
 * less often: smaps_rollup walks page tables, which costs CPU on this machine too.
 */
export class ResourceSampler {
  private timer: NodeJS.Timeout | null = null;
  private ticks = 0;
  private started = 0;
  /** Seconds into the window of the last reading. */
  private lastAt = 0;
  private machineStart = 0;
  private serverRoots = '';
  private last = { server: 0, postgres: 0, clients: 0 };
  private used = { server: 0, postgres: 0, clients: 0 };
  private perSecond = { server: [] as number[], postgres: [] as number[], clients: [] as number[] };
  private peakServerRss = 0;
  private harnessStart = process.cpuUsage();
  private everyoneStart = new Map<number, number>();
  private processes = new Map<number, { firstCpu: number; lastCpu: number; firstAt: number; lastAt: number; firstWait: number; lastWait: number }>();
  private peakPostgresPss = 0;

  constructor(
    private readonly groups: ResourceGroups,
    private readonly everyMs = 250,
    private readonly pssEvery = 4,
  ) {}

  begin(): void {
    this.started = performance.now();
    this.machineStart = machineBusySeconds();
    this.used = { server: 0, postgres: 0, clients: 0 };
    this.perSecond = { server: [], postgres: [], clients: [] };
    this.processes = new Map();
    this.harnessStart = process.cpuUsage();
    this.everyoneStart = allCpuSeconds();
    this.peakServerRss = 0;
    this.peakPostgresPss = 0;
    this.serverRoots = '';
    this.ticks = 0;
    this.lastAt = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  end(): ResourceUse {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample(true);
    const seconds = (performance.now() - this.started) / 1000;
    const machine = machineBusySeconds() - this.machineStart;
    const { server, postgres, clients } = this.used;
    const harness = process.cpuUsage(this.harnessStart);
    const ours = new Set([
      process.pid,
      ...treePids([...this.groups.server(), ...this.groups.clients, ...(this.groups.postgres === null ? [] : [this.groups.postgres])]),
    ]);
    const others = [...allCpuSeconds()]
      .filter(([pid]) => !ours.has(pid) && this.everyoneStart.has(pid))
      .map(([pid, cpu]) => ({ pid, cores: (cpu - this.everyoneStart.get(pid)!) / seconds }))
      .sort((a, b) => b.cores - a.cores);
    const otherProcesses = others.slice(0, 4).map((p) => ({ ...p, command: commandLine(p.pid).slice(0, 80) }));
    const otherLongLivedCores = others.reduce((s, p) => s + p.cores, 0);
    return {
      seconds,
      serverCores: server / seconds,
      postgresCores: postgres / seconds,
      clientCores: clients / seconds,
      otherCores: (machine - server - postgres - clients) / seconds,
      serverPeakRssMB: this.peakServerRss / MB,
      postgresPeakPssMB: this.peakPostgresPss / MB,
      perSecond: this.perSecond,
      harnessCores: (harness.user + harness.system) / 1e6 / seconds,
      otherProcesses,
      otherLongLivedCores,
      serverProcesses: [...this.processes].map(([pid, p]) => {
        const span = Math.max(0.001, p.lastAt - p.firstAt);
        return { pid, cores: (p.lastCpu - p.firstCpu) / span, waitingForCpu: (p.lastWait - p.firstWait) / span, seconds: p.lastAt - p.firstAt };
      }),
    };
  }

  private sample(lastReading = false): void {
    const at = (performance.now() - this.started) / 1000;
    const from = this.lastAt;
    this.lastAt = at;
    // Spread over the seconds since the last reading: a reading can come late on a busy machine.
    const add = (group: 'server' | 'postgres' | 'clients', seconds: number) => {
      this.used[group] += seconds;
      const series = this.perSecond[group];
      while (series.length <= Math.floor(at)) series.push(0);
      if (at <= from) return;
      for (let s = Math.floor(from); s <= Math.floor(at); s++) {
        const overlap = Math.min(at, s + 1) - Math.max(from, s);
        if (overlap > 0) series[s]! += (seconds * overlap) / (at - from);
      }
    };
    const roots = this.groups.server();
    const key = roots.join(',');
    const server = treeCpuSeconds(roots);
    if (key === this.serverRoots) add('server', Math.max(0, server - this.last.server));
    this.serverRoots = key;
    this.last.server = server;
    const clients = treeCpuSeconds(this.groups.clients);
    if (this.ticks > 0) add('clients', Math.max(0, clients - this.last.clients));
    this.last.clients = clients;
    const pids = treePids(roots);
    this.peakServerRss = Math.max(
      this.peakServerRss,
      pids.reduce((s, pid) => s + rssBytes(pid), 0),
    );
    for (const pid of pids) {
      const cpu = ownCpuSeconds(pid);
      if (!Number.isFinite(cpu)) continue;
      const wait = schedSeconds(pid)?.wait ?? NaN;
      const p = this.processes.get(pid);
      if (p) Object.assign(p, { lastCpu: cpu, lastAt: at, lastWait: wait });
      else this.processes.set(pid, { firstCpu: cpu, lastCpu: cpu, firstAt: at, lastAt: at, firstWait: wait, lastWait: wait });
    }
    const pg = this.groups.postgres;
    if (pg !== null) {
      const postgres = treeCpuSeconds([pg]);
      if (this.ticks > 0) add('postgres', Math.max(0, postgres - this.last.postgres));
      this.last.postgres = postgres;
      if (lastReading || this.ticks % this.pssEvery === 0)
        this.peakPostgresPss = Math.max(
          this.peakPostgresPss,
          treePids([pg]).reduce((s, pid) => s + pssBytes(pid), 0),
        );
    }
    this.ticks += 1;
  }
}
