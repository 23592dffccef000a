import { createECDH } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config } from './config.js';

/** The server's VAPID (RFC 8292) key pair, base64url: the public key uncompressed (65 bytes), the private key 32 bytes. */
export interface VapidKeys {
  readonly publicKey: string;
  readonly privateKey: string;
  readonly subject: string;
}

/** Why a pair is unusable, or null: wrong sizes, or a public key that is not the private key's. */
export function vapidKeyProblem(publicKey: string, privateKey: string): string | null {
  const pub = Buffer.from(publicKey, 'base64url');
  const priv = Buffer.from(privateKey, 'base64url');
  if (pub.length !== 65 || pub[0] !== 0x04) return 'the public key must be an uncompressed P-256 point (65 bytes starting 0x04)';
  if (priv.length !== 32) return 'the private key must be 32 bytes';
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(priv);
    if (!ecdh.getPublicKey().equals(pub)) return 'the public key is not the private key’s';
  } catch {
    return 'the private key is not a valid P-256 key';
  }
  return null;
}

/**
 * VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or a pair generated once and kept
 * under DATA_DIR (as the JWT secret is): every process of a cluster and every
 * restart signs with the same key, so browsers' subscriptions stay valid.
 */
export async function vapidKeys(config: Config): Promise<VapidKeys> {
  const subject = config.VAPID_SUBJECT;
  if (config.VAPID_PUBLIC_KEY && config.VAPID_PRIVATE_KEY) {
    const problem = vapidKeyProblem(config.VAPID_PUBLIC_KEY, config.VAPID_PRIVATE_KEY);
    if (problem) throw new ConfigError(`Invalid configuration:\n  VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY: ${problem}`);
    return { publicKey: config.VAPID_PUBLIC_KEY, privateKey: config.VAPID_PRIVATE_KEY, subject };
  }
  const file = path.join(config.dataDir, 'vapid-keys.json');
  if (existsSync(file)) {
    const kept = JSON.parse(await readFile(file, 'utf8')) as { publicKey?: unknown; privateKey?: unknown };
    const problem =
      typeof kept.publicKey === 'string' && typeof kept.privateKey === 'string' ? vapidKeyProblem(kept.publicKey, kept.privateKey) : 'keys missing';
    if (problem)
      throw new ConfigError(`Invalid configuration:\n  ${file}: ${problem} (delete the file to generate a new pair; subscriptions then need renewing)`);
    return { publicKey: kept.publicKey as string, privateKey: kept.privateKey as string, subject };
  }
  await mkdir(config.dataDir, { recursive: true });
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const secret = ecdh.getPrivateKey();
  // A private key with leading zero bytes comes out short: VAPID wants exactly 32 bytes.
  const keys = {
    publicKey: ecdh.getPublicKey().toString('base64url'),
    privateKey: Buffer.concat([Buffer.alloc(32 - secret.length), secret]).toString('base64url'),
  };
  // `wx`: two processes starting at once on one DATA_DIR never overwrite each other's pair; the loser reads the winner's.
  try {
    await writeFile(file, `${JSON.stringify(keys)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return vapidKeys(config);
    throw error;
  }
  return { ...keys, subject };
}
