import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readChars, SocketBytesMeter } from '../../bench/lib/socket-bytes.js';

/** The brokers benchmark's byte counts come from these readings: they must count what arrived, on the sockets chosen, and nothing else. */
describe('bench socket byte counters', () => {
  const open: Array<net.Server | net.Socket> = [];
  afterEach(async () => {
    const all = open.splice(0);
    // Sockets first: a server's close waits for its connections.
    for (const o of all) if (o instanceof net.Socket) o.destroy();
    for (const o of all) if (o instanceof net.Server) await new Promise((r) => o.close(r));
  });

  async function serverSendingOnDemand(): Promise<{ port: number; send: (bytes: number) => void }> {
    const peers: net.Socket[] = [];
    const server = net.createServer((s) => (open.push(s), peers.push(s)));
    open.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as net.AddressInfo).port, send: (bytes) => peers.at(-1)!.write(Buffer.alloc(bytes, 1)) };
  }

  async function connect(port: number): Promise<{ socket: net.Socket; received: (bytes: number) => Promise<void> }> {
    const socket = net.connect(port, '127.0.0.1');
    open.push(socket);
    await new Promise((r) => socket.once('connect', r));
    let got = 0;
    const waiters: Array<[number, () => void]> = [];
    socket.on('data', (d: Buffer) => {
      got += d.length;
      for (const [at, resolve] of waiters) if (got >= at) resolve();
    });
    return { socket, received: (bytes) => new Promise<void>((r) => (got >= bytes ? r() : waiters.push([bytes, r]))) };
  }

  it('counts the bytes received on the chosen sockets inside the window, from zero for one opened inside it, and none of the others', async () => {
    const chosen = await serverSendingOnDemand();
    const other = await serverSendingOnDemand();
    const before = await connect(chosen.port);
    const unchosen = await connect(other.port);
    chosen.send(5_000);
    await before.received(5_000);

    const meter = new SocketBytesMeter([process.pid], (s) => s.peerPort === chosen.port);
    meter.begin();
    chosen.send(100_000);
    other.send(70_000);
    const during = await connect(chosen.port);
    chosen.send(30_000);
    await Promise.all([before.received(105_000), unchosen.received(70_000), during.received(30_000)]);
    expect(meter.end()).toEqual([130_000]);
    expect(meter.closed).toBe(0);
  });

  it('reports a chosen socket closed inside the window', async () => {
    const chosen = await serverSendingOnDemand();
    const client = await connect(chosen.port);
    const meter = new SocketBytesMeter([process.pid], (s) => s.peerPort === chosen.port);
    meter.begin();
    client.socket.destroy();
    await new Promise((r) => client.socket.once('close', r));
    expect(meter.end()).toEqual([0]);
    expect(meter.closed).toBe(1);
  });

  it("reads the process's rchar, which grows by at least what it read", async () => {
    const chosen = await serverSendingOnDemand();
    const client = await connect(chosen.port);
    const start = readChars(process.pid);
    chosen.send(200_000);
    await client.received(200_000);
    expect(readChars(process.pid) - start).toBeGreaterThanOrEqual(200_000);
  });
});
