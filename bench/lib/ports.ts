import net from 'node:net';

/**
 * A port free now, for a process started later. It is taken below the kernel's ephemeral range
 * (32768 and up on Linux), which is where every outgoing connection's local port comes from: a port
 * from there can be taken by any client socket (a database pool's, say) before the server binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await bindable(port)) return port;
  }
}

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
