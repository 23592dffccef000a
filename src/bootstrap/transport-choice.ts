import { loadNativeUws, OFFICIAL_INSTALL, type UwsBuild } from '../adapters/uws/uws.js';

export type TransportSetting = 'auto' | 'uws' | 'node';

export type TransportChoice = { readonly kind: 'uws'; readonly build: UwsBuild; readonly reason: string } | { readonly kind: 'node'; readonly reason: string };

export class TransportUnavailableError extends Error {}

const runtime = () => `Node.js ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch})`;

/**
 * TRANSPORT=auto takes a native uWebSockets.js when one loads (the official
 * module first, then the npm build's binary), else the Node transport.
 * TRANSPORT=uws without a native build refuses to start. Nothing ever picks
 * uWebSockets.js's JavaScript emulation.
 */
export function chooseTransport(setting: TransportSetting): TransportChoice {
  if (setting === 'node') return { kind: 'node', reason: 'TRANSPORT=node' };
  const { build, attempts } = loadNativeUws();
  if (build) return { kind: 'uws', build, reason: setting === 'uws' ? 'TRANSPORT=uws' : 'TRANSPORT=auto: a native uWebSockets.js loads' };
  if (setting === 'uws') {
    throw new TransportUnavailableError(
      [
        `TRANSPORT=uws, but no native uWebSockets.js loads on ${runtime()}:`,
        ...attempts.map((a) => `  - ${a}`),
        'Two ways out:',
        `  1. install the official build for this Node.js: ${OFFICIAL_INSTALL}`,
        '  2. run on the Node transport: TRANSPORT=node (or TRANSPORT=auto, the default, which falls back to it)',
      ].join('\n'),
    );
  }
  return { kind: 'node', reason: `TRANSPORT=auto: no native uWebSockets.js on ${runtime()} (${attempts.join('; ')})` };
}
