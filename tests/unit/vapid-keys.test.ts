import { createECDH } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/bootstrap/config.js';
import { vapidKeys } from '../../src/bootstrap/vapid-keys.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const config = (env: Record<string, string> = {}) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vapid-'));
  dirs.push(dir);
  return loadConfig({ NODE_ENV: 'test', DATA_DIR: dir, ...env });
};
const pair = () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    VAPID_PUBLIC_KEY: ecdh.getPublicKey().toString('base64url'),
    VAPID_PRIVATE_KEY: Buffer.concat([Buffer.alloc(32 - ecdh.getPrivateKey().length), ecdh.getPrivateKey()]).toString('base64url'),
  };
};

describe('VAPID keys', () => {
  it('are generated once under DATA_DIR (mode 0600) and the same pair is read back on the next start', async () => {
    const c = config();
    const first = await vapidKeys(c);
    expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
    expect(Buffer.from(first.privateKey, 'base64url')).toHaveLength(32);
    expect(statSync(path.join(c.dataDir, 'vapid-keys.json')).mode & 0o777).toBe(0o600);
    expect(await vapidKeys(c)).toEqual(first);
  });

  it('come from VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY when set, with the subject', async () => {
    const keys = pair();
    const c = config({ ...keys, VAPID_SUBJECT: 'https://chat.example.com/contact' });
    expect(await vapidKeys(c)).toEqual({ publicKey: keys.VAPID_PUBLIC_KEY, privateKey: keys.VAPID_PRIVATE_KEY, subject: 'https://chat.example.com/contact' });
  });

  it('refuse a public key that is not the private key’s, a half-set pair, a bad subject and an edited file', async () => {
    const [a, b] = [pair(), pair()];
    await expect(vapidKeys(config({ VAPID_PUBLIC_KEY: a.VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY: b.VAPID_PRIVATE_KEY }))).rejects.toThrow(/not the private key/);
    expect(() => config({ VAPID_PUBLIC_KEY: a.VAPID_PUBLIC_KEY })).toThrow(ConfigError);
    expect(() => config({ VAPID_SUBJECT: 'someone' })).toThrow(/VAPID_SUBJECT/);
    const c = config();
    writeFileSync(path.join(c.dataDir, 'vapid-keys.json'), JSON.stringify({ publicKey: a.VAPID_PUBLIC_KEY, privateKey: b.VAPID_PRIVATE_KEY }));
    await expect(vapidKeys(c)).rejects.toThrow(/not the private key/);
  });
});
