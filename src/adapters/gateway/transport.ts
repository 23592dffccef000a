import type { Server as HttpServer } from 'node:http';
import type { TemplatedApp } from '@trufflesuite/uws-js-unofficial';

/** The server a Socket.IO endpoint attaches to, on the transport's own port. */
export type SocketIoHost = { readonly kind: 'uws'; readonly app: TemplatedApp } | { readonly kind: 'node'; readonly server: HttpServer };

/** What start-up and shutdown need of a transport, whichever it is. */
export interface Transport {
  /** `uws` or `node`. */
  readonly name: 'uws' | 'node';
  /** The build behind it, for the start-up log and /readyz (e.g. `uWebSockets.js 20.30.0 (native)`). */
  readonly build: string;
  readonly socketIoHost: SocketIoHost;
  /** Resolves with the port once listening. */
  listen(): Promise<number>;
  /**
   * Serves the same app on a loopback port of this process alone (127.0.0.1, a free
   * port), for the other processes of a cluster; resolves with the port.
   */
  listenLoopback(): Promise<number>;
  /** Stops accepting connections and requests; open ones stay until closed. */
  stopListening(): void;
}
