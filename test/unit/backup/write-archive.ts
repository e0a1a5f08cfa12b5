// An archive written as `backup` writes it, without Docker (shared by the unit tests and the sq e2e test).
import { META_MEMBER, type BackupMeta } from '../../../src/backup/archive.js';
import { openArchiveWriter } from '../../../src/backup/archive-io.js';

/** The metadata, stack/.env (`SECRET_KEY=k`) and `dump` as the database dump; encrypted when `passphrase` is given. */
export async function writeArchive(file: string, meta: BackupMeta, dump: Buffer, passphrase?: string): Promise<void> {
  const w = await openArchiveWriter(file, { passphrase });
  await w.add(META_MEMBER, JSON.stringify(meta));
  await w.add('stack/.env', 'SECRET_KEY=k\n');
  await new Promise<void>((res, rej) => {
    w.dump.on('error', rej);
    w.dump.end(dump, () => res());
  });
  await w.finish();
}
