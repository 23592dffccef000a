import { readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds and resident memory of a set of processes, sampled from /proc. */
export class ProcessSampler {
  private timer: NodeJS.Timeout | null = null;
  private start = new Map<number, number>();
  peakRssBytes = 0;
  private last = new Map<number, number>();

  constructor(private readonly pids: () => number[]) {}

  begin(): void {
    for (const pid of this.pids()) this.start.set(pid, cpuSeconds(pid));
    this.peakRssBytes = 0;
    this.timer = setInterval(() => this.sample(), 100);
    this.sample();
  }

  /** CPU seconds used by the processes since `begin`. */
  end(): number {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    let total = 0;
    for (const pid of this.pids()) total += (this.last.get(pid) ?? cpuSeconds(pid)) - (this.start.get(pid) ?? 0);
    return total;
  }

  rssBytes(): number {
    return this.pids().reduce((sum, pid) => sum + rss(pid), 0);
  }

  private sample(): void {
    let total = 0;
    for (const pid of this.pids()) {
      total += rss(pid);
      const cpu = cpuSeconds(pid);
      if (cpu > 0) this.last.set(pid, cpu);
    }
    this.peakRssBytes = Math.max(this.peakRssBytes, total);
  }
}

function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

function rss(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}
