import { describe, expect, it } from 'vitest';
import { NO_TELEMETRY } from '../../src/application/ports/telemetry.js';
import { CLOSE, Connection } from '../../src/adapters/gateway/connection.js';
import { silentLogger } from '../support/silent-logger.js';

class RecordingConnection extends Connection {
  readonly protocol = 'ws' as const;
  readonly written: string[] = [];
  closedWith: number | null = null;
  protected write(frame: string | Buffer): void {
    this.written.push(frame.toString());
  }
  bufferedAmount(): number {
    return 0;
  }
  protected end(code: number): void {
    this.closedWith = code;
  }
}

const connection = () =>
  new RecordingConnection({
    actor: { id: 1, username: 'u', isStaff: false },
    sessionId: null,
    remoteAddress: '127.0.0.1',
    ratePerSecond: 0,
    rateBurst: 0,
    logger: silentLogger,
    telemetry: NO_TELEMETRY,
  });

describe('live pushes held behind a replay', () => {
  it('sends live pushes at once, holds them while a replay is answered, and sends them after it in order', () => {
    const c = connection();
    c.push('live 1', 1e6);
    c.holdPushes();
    c.push('live 2', 1e6);
    c.send('replay a', 1e6);
    c.holdPushes();
    c.push('live 3', 1e6);
    c.releasePushes(1e6);
    c.send('replay b', 1e6);
    expect(c.written).toEqual(['live 1', 'replay a', 'replay b']);
    c.releasePushes(1e6);
    c.push('live 4', 1e6);
    expect(c.written).toEqual(['live 1', 'replay a', 'replay b', 'live 2', 'live 3', 'live 4']);
    // An unmatched release changes nothing.
    c.releasePushes(1e6);
    c.push('live 5', 1e6);
    expect(c.written.at(-1)).toBe('live 5');
  });

  it('closes a connection as too slow once it holds more than it may, instead of growing without bound', () => {
    const c = connection();
    c.holdPushes();
    for (let i = 0; i <= 10_000; i += 1) c.push(`live ${i}`, 1e6);
    expect(c.closedWith).toBe(CLOSE.SLOW_CONSUMER);
  });
});
