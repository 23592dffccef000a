import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ConfigError, secretWeakness, type Config } from './config.js';

/**
 * JWT_SECRET (its strength checked by loadConfig), or (outside production) one
 * generated once and kept under DATA_DIR: the zero-config default. A kept file
 * is checked too, since anyone with access to the folder could have edited it.
 */
export async function jwtSecret(config: Config): Promise<string> {
  if (config.JWT_SECRET) return config.JWT_SECRET;
  const file = path.join(config.dataDir, 'jwt-secret');
  if (existsSync(file)) {
    const kept = (await readFile(file, 'utf8')).trim();
    const weakness = config.JWT_SECRET_ALLOW_WEAK ? null : secretWeakness(kept);
    if (weakness) throw new ConfigError(`Invalid configuration:\n  ${file}: the JWT secret kept there ${weakness} (delete the file to generate a new one)`);
    return kept;
  }
  await mkdir(config.dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
