import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { STATUS_TEXT } from '../../src/adapters/gateway/http.js';
import { HTTP_STATUS } from '../../src/adapters/gateway/wire-error.js';

/** Codes only ever sent in `/ws` error frames, never as an HTTP answer. */
const WS_ONLY = new Set(['INVALID_FRAME', 'UNKNOWN_EVENT']);

const apiDoc = readFileSync(path.join(import.meta.dirname, '../../docs/API.md'), 'utf8');

describe('the error codes, from wire-error.ts', () => {
  it("are each listed in docs/API.md's error table under the status they are answered with", () => {
    const documented: Array<[string, number]> = [];
    for (const [, status, codes] of apiDoc.matchAll(/^\| (\d{3}) \| (.*) \|$/gm)) {
      for (const [, code] of codes!.matchAll(/`([A-Z][A-Z_]+)`/g)) documented.push([code!, Number(status)]);
    }
    const expected = Object.entries(HTTP_STATUS).filter(([code]) => !WS_ONLY.has(code));
    expect(documented.sort()).toEqual(expected.sort());
  });

  it('answer with statuses that all have their reason phrase', () => {
    const missing = [...new Set(Object.values(HTTP_STATUS))].filter((status) => !STATUS_TEXT[status]);
    expect(missing).toEqual([]);
  });
});
