import uws from '@trufflesuite/uws-js-unofficial';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from '@trufflesuite/uws-js-unofficial';

/**
 * The npm build falls back to a slow pure-JS emulation on Node ABIs it has no
 * binary for; the native build is the only one that exports SSLApp.
 */
export const uwsBuild: 'native' | 'js-fallback' = typeof (uws as { SSLApp?: unknown }).SSLApp === 'function' ? 'native' : 'js-fallback';

export const { App, us_listen_socket_close, us_socket_local_port } = uws;
export const abiVersion = process.versions.modules;
