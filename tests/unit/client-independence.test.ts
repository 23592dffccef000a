import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../client');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]!);

/** The browser code is bundled alone and imported by other web apps: it may not reach into the server or npm. */
describe('client/', () => {
  const all = files(root);

  it('imports only its own files: no package and nothing outside client/', () => {
    for (const file of all) {
      for (const spec of importsOf(file)) {
        const target = path.resolve(path.dirname(file), spec);
        expect(spec.startsWith('.') && target.startsWith(root + path.sep), `${path.relative(root, file)} imports ${spec}`).toBe(true);
      }
    }
  });

  it('finds the files it checks', () => {
    expect(all.map((f) => path.relative(root, f))).toEqual(expect.arrayContaining(['chat-client.ts', 'types.ts', path.join('app', 'main.ts')]));
  });
});
