import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from '@trufflesuite/uws-js-unofficial';
import type * as Uws from '@trufflesuite/uws-js-unofficial';

export type UwsModule = typeof Uws;

export interface UwsBuild {
  readonly module: UwsModule;
  /** The package it came from. */
  readonly package: string;
  readonly version: string;
}

const require = createRequire(import.meta.url);

/** Where to get a native build, for messages that name the way out. */
export const OFFICIAL_INSTALL = 'npm install uNetworking/uWebSockets.js#v20.52.0';

/**
 * A native uWebSockets.js for this Node.js, or null. Tried in order: the
 * official `uWebSockets.js` module when the user has installed it (it only
 * ever loads a native binary), then the npm build's binary for this ABI,
 * loaded directly so that its JavaScript emulation (which breaks on query
 * strings and custom upgrades) can never be picked up.
 */
export function loadNativeUws(): { build: UwsBuild | null; attempts: string[] } {
  const attempts: string[] = [];
  try {
    const module = require('uWebSockets.js') as UwsModule;
    if (isNative(module)) return { build: { module, package: 'uWebSockets.js', version: versionOf('uWebSockets.js') }, attempts };
    attempts.push('uWebSockets.js: loaded, but not a native build');
  } catch (error) {
    attempts.push(`uWebSockets.js: ${firstLine(error)}`);
  }
  const npmBuild = '@trufflesuite/uws-js-unofficial';
  try {
    const root = path.dirname(require.resolve(`${npmBuild}/package.json`));
    const binary = path.join(root, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
    if (!existsSync(binary)) {
      attempts.push(`${npmBuild}: no binary for ${process.platform}-${process.arch} ABI ${process.versions.modules}`);
    } else {
      const module = require(binary) as UwsModule;
      if (isNative(module)) return { build: { module, package: npmBuild, version: versionOf(npmBuild) }, attempts };
      attempts.push(`${npmBuild}: its binary did not load as a native module`);
    }
  } catch (error) {
    attempts.push(`${npmBuild}: ${firstLine(error)}`);
  }
  return { build: null, attempts };
}

/** Only the native builds export SSLApp and the socket helpers. */
const isNative = (module: unknown): module is UwsModule => {
  const m = module as Partial<UwsModule> | null;
  return typeof m?.App === 'function' && typeof m.SSLApp === 'function' && typeof m.us_socket_local_port === 'function';
};

function versionOf(name: string): string {
  try {
    const file = require.resolve(`${name}/package.json`);
    return String((JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

const firstLine = (error: unknown): string =>
  String(error instanceof Error ? error.message : error)
    .split('\n')[0]!
    .slice(0, 200);
