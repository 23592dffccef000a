import net from 'node:net';

export interface StickyBalancer {
  readonly port: number;
  /** Connections handed to each backend so far, by backend index. */
  readonly handed: number[];
  close(): Promise<void>;
}

/**
 * A TCP load balancer sticky by client address, as nginx `ip_hash` or HAProxy
 * `balance source` are: every connection from one address goes to the same
 * backend (here: the address's last byte modulo the backends), upgrades
 * included. Loopback only.
 */
export function startStickyBalancer(backendPorts: readonly number[]): Promise<StickyBalancer> {
  const handed = backendPorts.map(() => 0);
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const last = Number((client.remoteAddress ?? '').split('.').at(-1)) || 0;
    const index = last % backendPorts.length;
    handed[index] = handed[index]! + 1;
    const backend = net.connect(backendPorts[index]!, '127.0.0.1');
    for (const s of [client, backend]) {
      open.add(s);
      s.once('close', () => open.delete(s));
    }
    client.on('error', () => backend.destroy());
    backend.on('error', () => client.destroy());
    client.once('close', () => backend.destroy());
    backend.once('close', () => client.destroy());
    client.pipe(backend).pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        handed,
        close: () =>
          new Promise<void>((done) => {
            for (const s of open) s.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}
