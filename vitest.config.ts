import { defineConfig } from 'vitest/config';
import { loadNativeUws } from './src/adapters/uws/uws.js';

/**
 * Every end-to-end suite runs once per transport this Node.js can serve: uWS
 * where a native build loads, and always the Node transport. Unit, contract
 * and integration tests run once.
 */
const transports = loadNativeUws().build ? ['uws', 'node'] : ['node'];

export default defineConfig({
  test: {
    globalSetup: ['tests/support/global-setup.ts'],
    setupFiles: ['tests/support/conformance-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts', 'tests/contract/**/*.test.ts', 'tests/integration/**/*.test.ts'] } },
      ...transports.map((transport) => ({
        extends: true as const,
        test: {
          name: `e2e-${transport}`,
          include: ['tests/e2e/**/*.test.ts'],
          env: { TEST_TRANSPORT: transport, TEST_FIRST_TRANSPORT: transport === transports[0] ? 'true' : '' },
        },
      })),
      // A real Chromium drives the browser app against a server process on the first transport.
      { extends: true, test: { name: 'browser', include: ['tests/browser/**/*.test.ts'], env: { TEST_TRANSPORT: transports[0]! } } },
    ],
  },
});
