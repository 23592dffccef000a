import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../src');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
const importsOf = (file: string) => importStatementsOf(file).map((i) => i.spec);
const importStatementsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/(import|export)(\s+type\b)?[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => ({
    spec: m[3] ?? m[4]!,
    typeOnly: m[2] !== undefined,
  }));
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

  /**
   * An adapter group uses the domain, the application's ports and schemas
   * and itself. The fan-out's PostgreSQL broker also uses the PostgreSQL
   * group (its pools and error classification). The one other group others may use is the
   * gateway, the transport-independent protocol core: transports and HTTP
   * plug-ins build on its contract (the Connection base class, the HTTP shapes
   * and helpers, and the types of the gateway, its router and its events),
   * never on its other modules.
   */
  const GATEWAY_CONTRACT: Record<string, 'values' | 'types'> = {
    'connection.ts': 'values',
    'http.ts': 'values',
    'transport.ts': 'types',
    'gateway.ts': 'types',
    'http-router.ts': 'types',
    'chat-events.ts': 'types',
  };
  const GATEWAY_USERS = new Set(['uws', 'node-http', 'socketio', 'metrics', 'web-client']);
  /** Crossings allowed by folder: the fan-out's PostgreSQL broker and the PostgreSQL group. */
  const ALLOWED_CROSSINGS: ReadonlyArray<readonly [string, string]> = [['fanout/postgres', 'postgres']];
  const groupOf = (file: string) => path.relative(path.join(root, 'adapters'), file).split(path.sep)[0]!;

  it('lets each adapter group import only its own files and the gateway’s contract (for transports and HTTP plug-ins)', () => {
    const crossings: string[] = [];
    for (const file of all.filter((f) => layerOf(f) === 'adapters' && f.includes(path.sep + 'adapters' + path.sep))) {
      const group = groupOf(file);
      if (group.endsWith('.ts')) continue; // single-file adapters at the top of adapters/ (the system clock)
      for (const { spec, typeOnly } of importStatementsOf(file).filter((i) => i.spec.startsWith('.'))) {
        const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
        if (layerOf(target) !== 'adapters') continue;
        const targetGroup = groupOf(target);
        if (targetGroup === group) continue;
        const from = path.relative(path.join(root, 'adapters'), file);
        if (ALLOWED_CROSSINGS.some(([a, b]) => from.startsWith(a + path.sep) && targetGroup === b)) continue;
        const where = `${path.relative(root, file)} imports ${spec}`;
        if (targetGroup !== 'gateway' || !GATEWAY_USERS.has(group)) {
          crossings.push(`${where}: another adapter group`);
          continue;
        }
        const allowed = GATEWAY_CONTRACT[path.basename(target)];
        if (!allowed) crossings.push(`${where}: not part of the gateway's contract`);
        else if (allowed === 'types' && !typeOnly) crossings.push(`${where}: only its types may be imported`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it('sees the gateway contract in use, so the rule above checks real imports', () => {
    const transport = path.join(root, 'adapters', 'uws', 'uws-transport.ts');
    expect(importStatementsOf(transport)).toEqual(expect.arrayContaining([{ spec: '../gateway/gateway.js', typeOnly: true }]));
  });

  it('finds the source files it checks', () => {
    expect(all.length).toBeGreaterThan(30);
  });
});
