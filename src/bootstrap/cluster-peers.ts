import cluster, { type Worker } from 'node:cluster';

/** A worker tells the supervisor its loopback port; the supervisor tells every worker all of them. */
const ANNOUNCE = 'chat:peer-address';
const DIRECTORY = 'chat:peer-directory';

interface Announce {
  readonly type: typeof ANNOUNCE;
  readonly port: number;
}
interface Directory {
  readonly type: typeof DIRECTORY;
  readonly peers: Record<string, number>;
}

/** The tag a worker's Engine.IO session ids start with. */
export const workerTag = (slot: number | string): string => `w${slot}`;

/**
 * Supervisor side: which worker listens on which loopback port. A worker that
 * exits leaves the directory at once, so its sessions answer as unknown.
 */
export class PeerDirectory {
  private readonly ports = new Map<string, number>();

  watch(worker: Worker, slot: number): void {
    const tag = workerTag(slot);
    worker.on('message', (message: Partial<Announce> | null) => {
      if (message?.type !== ANNOUNCE || typeof message.port !== 'number') return;
      this.ports.set(tag, message.port);
      this.publish();
    });
    worker.once('exit', () => {
      if (this.ports.delete(tag)) this.publish();
    });
  }

  private publish(): void {
    const message: Directory = { type: DIRECTORY, peers: Object.fromEntries(this.ports) };
    for (const worker of Object.values(cluster.workers ?? {}))
      if (worker?.isConnected())
        worker.send(message, (error: Error | null) => {
          void error; // a worker on its way out: the next directory reaches its successor
        });
  }
}

/** Worker side: announces this worker's loopback port and follows the directory. */
export function joinPeerDirectory(port: number, onDirectory: (peers: Readonly<Record<string, number>>) => void): void {
  process.on('message', (message: Partial<Directory> | null) => {
    if (message?.type === DIRECTORY && message.peers) onDirectory(message.peers);
  });
  const announce: Announce = { type: ANNOUNCE, port };
  process.send?.(announce);
}
