import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../src');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]!);
const layerOf = (file: string) => path.relative(root, file).split(path.sep)[0];

/** The dependency rule, checked on every import of every source file. */
describe('architecture', () => {
  const all = files(root);

  it('keeps the domain free of the project and of any package', () => {
    for (const file of all.filter((f) => layerOf(f) === 'domain')) {
      for (const spec of importsOf(file)) {
        expect(spec.startsWith('./'), `${path.relative(root, file)} imports ${spec}`).toBe(true);
      }
    }
  });

  it('lets the application import only the domain (and zod for its schemas)', () => {
    for (const file of all.filter((f) => layerOf(f) === 'application')) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) {
          expect(spec, `${path.relative(root, file)} imports ${spec}`).toBe('zod');
          continue;
        }
        const target = layerOf(path.resolve(path.dirname(file), spec));
        expect(['domain', 'application'], `${path.relative(root, file)} imports ${spec}`).toContain(target);
      }
    }
  });

  it('keeps adapters out of bootstrap and out of each other’s groups except through shared protocol code', () => {
    for (const file of all.filter((f) => layerOf(f) === 'adapters')) {
      for (const spec of importsOf(file).filter((s) => s.startsWith('.'))) {
        const target = path.resolve(path.dirname(file), spec);
        expect(layerOf(target), `${path.relative(root, file)} imports ${spec}`).not.toBe('bootstrap');
      }
    }
  });

  it('finds the source files it checks', () => {
    expect(all.length).toBeGreaterThan(30);
  });
});
