// npm run bench:artillery -- [--target ws://host:port] [--duration 30] [--rate 5]
// Installs Artillery on first use (into bench/artillery/.tool, not the project's
// dependencies: it pulls hundreds of packages) and runs chat.yml against the target.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'ws://127.0.0.1:8001' },
    duration: { type: 'string' },
    rate: { type: 'string' },
    script: { type: 'string', default: path.join(here, 'chat.yml') },
  },
});
const tool = path.join(here, '.tool');
const bin = path.join(tool, 'node_modules', '.bin', 'artillery');
if (!existsSync(bin)) {
  console.log('installing artillery@2.0.34 into bench/artillery/.tool (first run only)…');
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', tool, 'artillery@2.0.34'], {
    stdio: 'inherit',
    env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
  });
  if (install.status !== 0) process.exit(install.status ?? 1);
}
const overrides =
  values.duration || values.rate
    ? [
        '--overrides',
        JSON.stringify({ config: { phases: [{ duration: Number(values.duration ?? 30), arrivalRate: Number(values.rate ?? 5), maxVusers: 200 }] } }),
      ]
    : [];
const run = spawnSync(bin, ['run', '--target', values.target, ...overrides, values.script], { stdio: 'inherit', cwd: here });
process.exit(run.status ?? 1);
