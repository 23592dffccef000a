import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/bootstrap/config.js';
import {
  BUILD_COMMANDS,
  BUILD_CONTEXT,
  HEALTHCHECK_COMMAND,
  RUNTIME_ENV,
  RUNTIME_FROM_BUILD,
  RUNTIME_FROM_CONTEXT,
  START_COMMAND,
  START_PERIOD_SECONDS,
} from '../../scripts/container-smoke.js';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** The Dockerfile's stages, each a list of instructions (comments dropped, continued lines joined). */
function stages(text: string): Instruction[][] {
  const lines = text
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const out: Instruction[][] = [];
  for (const line of lines) {
    const [, keyword, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (keyword!.toUpperCase() === 'FROM') out.push([]);
    out.at(-1)!.push({ keyword: keyword!.toUpperCase(), args: args! });
  }
  return out;
}

const [build, runtime] = stages(read('Dockerfile'));
const args = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword).map((i) => i.args);
/** `COPY [--from=x] [--chown=y] src... dest` → the sources, of copies with (or without) `--from`. */
const copies = (stage: Instruction[], from: string | null) =>
  args(stage, 'COPY').flatMap((a) => {
    const words = a.split(/\s+/);
    const flags = words.filter((w) => w.startsWith('--'));
    const paths = words.filter((w) => !w.startsWith('--')).slice(0, -1);
    const source = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
    return source === from ? paths.map((p) => p.replace(/^\/app\//, '')) : [];
  });

describe('the Dockerfile runs what scripts/container-smoke.ts proves', () => {
  it('has two stages, the first named build and both on the Node.js of .nvmrc', () => {
    const major = read('.nvmrc').trim();
    expect(args(build!, 'FROM')).toEqual([`node:${major}-trixie-slim AS build`]);
    expect(args(runtime!, 'FROM')).toEqual([`node:${major}-trixie-slim`]);
  });

  it('builds with the smoke script’s commands, in its order, from the files it copies', () => {
    expect(args(build!, 'RUN')).toEqual(BUILD_COMMANDS);
    expect(copies(build!, null)).toEqual(BUILD_CONTEXT);
    expect(BUILD_COMMANDS).toEqual(expect.arrayContaining(['npm run build', expect.stringMatching(/^npm prune --omit=dev/)]));
  });

  it('keeps in the runtime stage what the smoke script keeps, and runs nothing there', () => {
    expect(copies(runtime!, 'build')).toEqual(RUNTIME_FROM_BUILD);
    expect(copies(runtime!, null)).toEqual(RUNTIME_FROM_CONTEXT);
    expect(args(runtime!, 'RUN')).toEqual([]);
    expect(args(runtime!, 'ENV').flatMap((a) => a.split(/\s+/))).toEqual(Object.entries(RUNTIME_ENV).map(([k, v]) => `${k}=${v}`));
  });

  it('starts the compiled server the way `npm run start:dist` does, as a user other than root, with DATA_DIR on a volume', () => {
    expect(args(runtime!, 'CMD')).toEqual([JSON.stringify(START_COMMAND).replaceAll('","', '", "')]);
    const pkg = JSON.parse(read('package.json'));
    expect(START_COMMAND.join(' ')).toBe(pkg.scripts['start:dist']);
    expect(args(runtime!, 'USER')).toEqual(['node']);
    expect(args(runtime!, 'VOLUME')).toEqual([RUNTIME_ENV.DATA_DIR]);
    expect(args(runtime!, 'COPY').filter((a) => a.endsWith(` ${RUNTIME_ENV.DATA_DIR}`))).toEqual([
      `--from=build --chown=node:node /app/data ${RUNTIME_ENV.DATA_DIR}`,
    ]);
    expect(args(runtime!, 'EXPOSE')).toEqual([RUNTIME_ENV.PORT]);
  });

  it('checks health with the smoke script’s command on /readyz, and stops with SIGTERM', () => {
    const [healthcheck] = args(runtime!, 'HEALTHCHECK');
    const [, options, command] = /^(.*?)\s*CMD (\[.*\])$/.exec(healthcheck!)!;
    expect(JSON.parse(command!)).toEqual(HEALTHCHECK_COMMAND);
    expect(HEALTHCHECK_COMMAND.join(' ')).toContain("'/readyz'");
    expect(options).toContain(`--start-period=${START_PERIOD_SECONDS}s`);
    expect(args(runtime!, 'STOPSIGNAL')).toEqual(['SIGTERM']);
  });
});

describe('compose.yaml', () => {
  const compose = read('compose.yaml');

  it('gives the server longer to stop than its default SHUTDOWN_TIMEOUT_MS, and so does the Dockerfile’s advice', () => {
    const shutdownMs = configSchema.shape.SHUTDOWN_TIMEOUT_MS.parse(undefined);
    const grace = Number(/^\s+stop_grace_period: (\d+)s$/m.exec(compose)![1]);
    expect(grace * 1000).toBeGreaterThan(shutdownMs);
    expect(read('Dockerfile')).toContain(`--stop-timeout ${grace}`);
  });

  it('points the server’s DATABASE_URL at its PostgreSQL service and builds the Dockerfile', () => {
    expect(compose).toMatch(/^ {2}postgres:\n {4}image: postgres:\d+$/m);
    expect(compose).toMatch(/^ {6}DATABASE_URL: postgres:\/\/chat:\$\{POSTGRES_PASSWORD:-chat\}@postgres:5432\/chat$/m);
    expect(compose).toMatch(/^ {2}server:\n {4}build: \.$/m);
    expect(compose).toMatch(/^ {6}- data:\/data$/m);
  });
});
