import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.js';
import { originalDbEnv } from '../support/original-env.js';
import { killAll, mainEntry, startProcess, TEST_JWT_SECRET } from '../support/server-process.js';

afterAll(() => killAll());

const FRONTEND = 'https://app.example.com';

describe('the server started with the original backend’s .env', () => {
  it('uses FRONTEND_URL as its CORS origin and warns once, naming each variable it ignores', async () => {
    const server = await startProcess({
      ...originalDbEnv(await freshDatabase('origenv')),
      HOST: '127.0.0.1',
      PORT: '0',
      JWT_SECRET: TEST_JWT_SECRET,
      FRONTEND_URL: `${FRONTEND}/`,
      BASE_URL: 'https://api.example.com',
      DJANGO_API_URL: 'http://django.internal:8000/api',
      PASSWORD_HASH_COST: '16384',
    });
    try {
      const warnings = server
        .output()
        .split('\n')
        .filter((line) => line.includes('set but ignored'));
      expect(warnings).toHaveLength(1);
      const warning = JSON.parse(warnings[0]!) as { level: number; ignored: Record<string, string> };
      expect(warning.level).toBe(40);
      expect(Object.keys(warning.ignored).sort()).toEqual(['BASE_URL', 'DB_DIALECT', 'DJANGO_API_URL', 'PASSWORD_HASH_COST']);

      const base = `http://127.0.0.1:${server.port}`;
      const preflight = (origin: string) => fetch(`${base}/conversations`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      const allowed = await preflight(FRONTEND);
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(FRONTEND);
      expect((await preflight('https://elsewhere.example.com')).status).toBe(403);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('refuses to start with a DB_DIALECT other than postgres', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', mainEntry], {
      cwd: path.resolve(path.dirname(mainEntry), '../..'),
      env: { ...process.env, DB_DIALECT: 'mysql', DB_HOST: '127.0.0.1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/DB_DIALECT: this server runs on PostgreSQL only \(got "mysql"\)/);
  });
});
