import { afterEach } from 'vitest';
import { takeViolations } from './api-conformance.js';

// A test fails when its clients received a REST response or /ws frame that the API documents do not describe.
afterEach(() => {
  const violations = takeViolations();
  if (violations.length > 0) throw new Error(`Not as docs/openapi.json and docs/asyncapi.json describe:\n${violations.join('\n')}`);
});
