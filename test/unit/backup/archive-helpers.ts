// Shared by the backup unit tests and the sq e2e test: an archive written as `backup` writes it, without
// Docker, and an Argon2 loader that counts its hashes.
import { META_MEMBER, type BackupMeta } from '../../../src/backup/archive.js';
import { openArchiveWriter } from '../../../src/backup/archive-io.js';
import type { Argon2, LoadArgon2, SessionKey } from '../../../src/backup/crypto.js';

/**
 * The metadata, stack/.env (`SECRET_KEY=k`) and `dump` as the database dump; encrypted when `passphrase`
 * is given (then its session key is returned).
 */
export async function writeArchive(file: string, meta: BackupMeta, dump: Buffer, passphrase?: string): Promise<SessionKey | undefined> {
  const w = await openArchiveWriter(file, { passphrase });
  await w.add(META_MEMBER, JSON.stringify(meta));
  await w.add('stack/.env', 'SECRET_KEY=k\n');
  await new Promise<void>((res, rej) => {
    w.dump.on('error', rej);
    w.dump.end(dump, () => res());
  });
  await w.finish();
  return w.sessionKey;
}

/** @node-rs/argon2, counting the hashes it is asked for (none: the OpenPGP.js path was taken). */
export function countingArgon2(): { load: LoadArgon2; hashes: () => number } {
  let n = 0;
  return {
    load: async () => {
      const real = (await import('@node-rs/argon2')) as Argon2;
      return { hashRaw: (...a: Parameters<Argon2['hashRaw']>) => (n++, real.hashRaw(...a)) };
    },
    hashes: () => n,
  };
}
