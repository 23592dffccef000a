import { describe, expect, it } from 'vitest';
import { parseNatsUrl } from '../../src/adapters/fanout/nats/nats-url.js';

describe('NATS URL list', () => {
  it('splits a cluster list into servers without credentials, and takes the credentials apart', () => {
    expect(parseNatsUrl('nats://app:p%40ss@10.0.0.1:4222, nats://10.0.0.2:4223,10.0.0.3')).toEqual({
      servers: ['10.0.0.1:4222', '10.0.0.2:4223', '10.0.0.3:4222'],
      user: 'app',
      pass: 'p@ss',
      tls: false,
    });
  });

  it('reads a user name without a password as a token, and tls:// as a demand for TLS', () => {
    expect(parseNatsUrl('tls://s3cr3t-token@nats.example:4443')).toEqual({ servers: ['nats.example:4443'], token: 's3cr3t-token', tls: true });
  });

  it('refuses a list with no server and a malformed entry', () => {
    expect(() => parseNatsUrl(' , ')).toThrow('no server');
    expect(() => parseNatsUrl('nats://host:notaport')).toThrow();
  });
});
