/** The transport this run of the end-to-end suites is for (set per vitest project). */
export const testTransport = (): 'uws' | 'node' => (process.env.TEST_TRANSPORT === 'node' ? 'node' : 'uws');
