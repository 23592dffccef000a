import type { Logger } from '../../src/application/ports/services.js';

const noop = () => undefined;

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentLogger };
