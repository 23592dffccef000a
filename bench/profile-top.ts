/**
 * The functions that took the most time in V8 CPU profiles (`BENCH_CPU_PROF`
 * writes one per server process), by self time, and the share of the
 * profile's span the process was running at all (not idle, not in GC).
 *
 *   npx tsx bench/profile-top.ts /tmp/prof/*.cpuprofile [--top 25] [--by function|module]
 *
 * `--by module` adds up self time per npm package (or per source file of this
 * project, or node: internals); native work a JS function calls into (uWS
 * writing a socket, `writev` on pg's socket) counts as that function's self time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' }, by: { type: 'string', default: 'function' } },
  allowPositionals: true,
});

/** The npm package a script belongs to, this project's file, or the kind of built-in it is. */
function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node: internals';
  return path.relative(process.cwd(), url.replace(/^file:\/\//, ''));
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = values.by === 'module' ? moduleOf(frame.url, frame.functionName) : `${frame.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + ms);
    total += ms;
  });
  const idle = self.get('(idle)') ?? 0;
  const busy = total - idle;
  console.log(`\n${path.basename(file)}: ${(total / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s busy (${((100 * busy) / total).toFixed(0)} %)`);
  const rows = [...self.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(values.top));
  for (const [key, ms] of rows) console.log(`  ${((100 * ms) / busy).toFixed(1).padStart(5)} % of busy  ${(ms / 1000).toFixed(2).padStart(7)} s  ${key}`);
}
