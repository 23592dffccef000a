import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configDocumentFiles } from '../../scripts/config-docs.js';
import { loadConfig } from '../../src/bootstrap/config.js';

const generated = configDocumentFiles();

describe('configuration documents', () => {
  it.each(Object.keys(generated))('%s is what `npm run docs:config` generates from the configuration schema', (name) => {
    expect(readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8')).toBe(generated[name]);
  });

  it('.env.example, read as a .env file, is a valid configuration equal to the defaults', () => {
    const fromExample = Object.fromEntries(
      generated['.env.example']!.split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => {
          const [name, rest] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
          return [name, rest.replace(/\s+#.*$/, '').trim()];
        }),
    );
    expect(Object.keys(fromExample).length).toBeGreaterThan(60);
    const { ignoredVariables: _a, ...example } = loadConfig(fromExample, '/nonexistent');
    const { ignoredVariables: _b, ...defaults } = loadConfig({}, '/nonexistent');
    expect(example).toEqual(defaults);
  });
});
