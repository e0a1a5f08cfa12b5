// The archive written and read back on disk (no Docker): encrypted and plain, a wrong passphrase, one
// flipped byte, a cut-short file, and a failing disk: each refused with its own error, no file left behind.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, FORMAT, MANIFEST_FRAME_BYTES, META_MEMBER, dumpChunkName, manifestEntryBytes, type BackupMeta } from '../../../src/backup/archive.js';
import { sha256 } from '../../../src/util/hash.js';
import { openArchiveWriter, readArchive } from '../../../src/backup/archive-io.js';
import { writeArchive } from './archive-helpers.js';
import { PhaseComposeError } from '../../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pc-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const meta: BackupMeta = {
  format: FORMAT, created: '2026-11-26T08:00:00.000Z', project: 'p', spec: 'phase-compose.yaml', env: { files: ['.env'] }, generated: [],
  postgres: { version: '15.4', database: 'phase' }, images: [], migrations: [{ app: 'api', name: '0001_initial' }],
};
// More than one chunk, not a whole number of them.
const dump = randomBytes(CHUNK_BYTES + 12345);

const write = (file: string, passphrase?: string): Promise<unknown> => writeArchive(file, meta, dump, passphrase);

const read = (file: string, pass = 'correct horse', sink?: Buffer[]) =>
  readArchive(file, { passphrase: async () => pass, ...(sink ? { dump: async (b: Buffer) => void sink.push(b) } : {}) });

const failure = async (p: Promise<unknown>): Promise<PhaseComposeError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PhaseComposeError);
    return e as PhaseComposeError;
  }
  throw new Error('expected a failure');
};

describe('archive files', () => {
  const enc = join(dir, 'a.pcbak');
  it('an encrypted archive reads back: metadata, stack files and every dump byte, mode 0600', async () => {
    await write(enc, 'correct horse');
    expect(statSync(enc).mode & 0o777).toBe(0o600);
    expect(readFileSync(enc).includes(Buffer.from('SECRET_KEY'))).toBe(false);
    const chunks: Buffer[] = [];
    const r = await read(enc, 'correct horse', chunks);
    expect(r.encrypted).toBe(true);
    expect(r.meta).toEqual(meta);
    expect(r.files.get('.env')?.toString()).toBe('SECRET_KEY=k\n');
    expect(chunks).toHaveLength(2);
    expect(Buffer.concat(chunks).equals(dump)).toBe(true);
    expect(r.manifest.dump.bytes).toBe(dump.length);
  }, 30_000);

  it.each([['encrypted', 'correct horse'], ['plain', undefined]] as const)(
    'the writer\'s read-back (%s), made while it wrote: what a read of the file gives; a file changed after it was written is refused',
    async (_kind, pass) => {
      const file = join(dir, `rb-${_kind}.pcbak`);
      const w = await openArchiveWriter(file, { passphrase: pass });
      await w.add(META_MEMBER, JSON.stringify(meta));
      await w.add('stack/.env', 'SECRET_KEY=k\n');
      await new Promise<void>((res, rej) => w.dump.on('error', rej).end(dump, () => res()));
      await w.finish();
      const back = await w.readBack();
      const again = await read(file, pass ?? '');
      expect([back.meta, back.manifest, back.encrypted, back.files.get('.env')?.toString()]).toEqual([again.meta, again.manifest, again.encrypted, 'SECRET_KEY=k\n']);
      expect(back.manifest.dump.bytes).toBe(dump.length);

      const w2 = await openArchiveWriter(file.replace('rb-', 'rb2-'), { passphrase: pass });
      await w2.add(META_MEMBER, JSON.stringify(meta));
      await new Promise<void>((res, rej) => w2.dump.on('error', rej).end(dump, () => res()));
      await w2.finish();
      const b = readFileSync(file.replace('rb-', 'rb2-'));
      b[b.length - 700]! ^= 0x01; // changed on disk after it was written (the stream read back was right)
      writeFileSync(file.replace('rb-', 'rb2-'), b);
      expect((await failure(w2.readBack())).message).toMatch(/is damaged: the file does not hold the bytes that were written to it/);
    },
    30_000,
  );

  it('a wrong passphrase is refused by name', async () => {
    const e = await failure(read(enc, 'wrong'));
    expect(e.message).toBe(`wrong passphrase for ${enc}`);
  }, 30_000);

  it('one flipped byte, or a cut, is refused as damage', async () => {
    const bytes = readFileSync(enc);
    const flipped = join(dir, 'flipped.pcbak');
    const b = Buffer.from(bytes);
    b[Math.floor(b.length / 2)]! ^= 0x01;
    writeFileSync(flipped, b);
    expect((await failure(read(flipped))).message).toMatch(/is damaged or truncated/);
    const cut = join(dir, 'cut.pcbak');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    expect((await failure(read(cut))).message).toMatch(/is damaged or truncated/);
  }, 30_000);

  it('a plain (--no-encrypt) archive is a tar; a flipped byte fails its checksum', async () => {
    const plain = join(dir, 'plain.pcbak');
    await write(plain);
    expect(readFileSync(plain).subarray(257, 262).toString()).toBe('ustar');
    expect((await read(plain)).encrypted).toBe(false);
    const b = readFileSync(plain);
    b[4096]! ^= 0x01; // inside the first dump chunk
    writeFileSync(plain, b);
    expect((await failure(read(plain))).message).toMatch(/checksum mismatch in db\/dump.000001/);
  });

  it('the members beside the dump are bounded together, not only each: five of 16 MiB are refused as damage', async () => {
    // Until 2026-11-28 each was held up to 16 MiB and their number was not bounded: a tar of many was held whole.
    const many = join(dir, 'many.pcbak');
    const w = await openArchiveWriter(many, {});
    await w.add(META_MEMBER, JSON.stringify(meta));
    const big = Buffer.alloc(16 << 20, 0x61);
    for (let i = 0; i < 5; i++) await w.add(`stack/f${i}`, big);
    await new Promise<void>((res) => w.dump.end(dump.subarray(0, 100), () => res()));
    await w.finish();
    expect((await failure(read(many))).message).toMatch(/is damaged: its members other than the dump exceed 10000 files or 67108864 bytes together \(at stack\/f3\)/);
  }, 30_000);

  it('each dump chunk is handed out once it is in the archive, while the rest is still being written', async () => {
    const file = join(dir, 'chunks.pcbak');
    const w = await openArchiveWriter(file, { passphrase: 'correct horse' });
    const got: Buffer[] = [];
    let first!: () => void;
    const firstIn = new Promise<void>((res) => (first = res));
    w.onDumpChunk(async (chunk) => {
      got.push(chunk);
      first();
    });
    await w.add(META_MEMBER, JSON.stringify(meta));
    w.dump.write(dump.subarray(0, CHUNK_BYTES + 1));
    await firstIn; // the dump is not ended yet
    expect(got).toHaveLength(1);
    expect(got[0]!.equals(dump.subarray(0, CHUNK_BYTES))).toBe(true);
    await new Promise<void>((res) => w.dump.end(dump.subarray(CHUNK_BYTES + 1), () => res()));
    await w.finish();
    expect(Buffer.concat(got).equals(dump)).toBe(true); // every chunk, in order
    expect((await read(file)).manifest.dump.bytes).toBe(dump.length);
  }, 30_000);

  it('a dump whose manifest would pass what a read takes fails at the first chunk past it, saying so, and leaves no file (until 2026-11-30: written to the end, then "damaged")', async () => {
    const sub = mkdtempSync(join(dir, 'big-'));
    const file = join(sub, 'x.pcbak');
    const body = JSON.stringify(meta);
    const entryOf = (name: string, b: Buffer) => manifestEntryBytes({ name, size: b.length, sha256: sha256(b) });
    // Room for the metadata and the first chunk, not the second.
    const limit = MANIFEST_FRAME_BYTES + entryOf(META_MEMBER, Buffer.from(body)) + entryOf(dumpChunkName(1), dump.subarray(0, CHUNK_BYTES));
    const w = await openArchiveWriter(file, { passphrase: 'correct horse', manifestLimit: limit });
    const chunks: Buffer[] = [];
    w.onDumpChunk(async (c) => void chunks.push(c));
    await w.add(META_MEMBER, body);
    const dumped = new Promise<unknown>((res) => {
      w.dump.once('error', res);
      w.dump.end(dump, (err?: Error | null) => res(err ?? undefined));
    });
    const e = await dumped;
    expect(chunks).toHaveLength(1); // the first went in; the second was refused
    expect(e).toBeInstanceOf(PhaseComposeError);
    const why = w.writeFailure();
    expect(why).toBe(e);
    expect(why!.message).toBe(`the database dump is too large for one archive: past 1 chunk(s) of it (0.0 GiB), the archive's manifest would pass the ${limit} bytes a restore reads`);
    expect(why!.details.join('\n')).toContain('backup --dump-only');
    expect(await failure(w.finish())).toBe(why);
    await w.abort(why!);
    expect(readdirSync(sub)).toEqual([]);
  }, 30_000);

  it('a write that fails leaves no file under the final name and no temp file', async () => {
    const sub = mkdtempSync(join(dir, 'full-'));
    const file = join(sub, 'x.pcbak');
    const w = await openArchiveWriter(file, {});
    await w.add(META_MEMBER, JSON.stringify(meta));
    await w.abort(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
    expect(readdirSync(sub)).toEqual([]);
  });

  it('a read given up on (Ctrl-C) stops at once and throws the signal\'s reason, not "damaged": mid-dump, and before the first member', async () => {
    for (const [file, pass] of [[enc, 'correct horse'], [join(dir, 'plain-abort.pcbak'), undefined]] as const) {
      if (pass === undefined) await write(file);
      const abort = new AbortController();
      let chunks = 0;
      const r = readArchive(file, {
        passphrase: async () => pass ?? '',
        signal: abort.signal,
        dump: async () => {
          if (++chunks === 1) abort.abort('SIGINT');
        },
      });
      await expect(r).rejects.toBe('SIGINT');
      expect(chunks).toBe(1);
      const gone = new AbortController();
      gone.abort('SIGTERM');
      await expect(readArchive(file, { passphrase: async () => pass ?? '', signal: gone.signal, dump: async () => void chunks++ })).rejects.toBe('SIGTERM');
      expect(chunks).toBe(1);
    }
  }, 30_000);
});

describe('a full disk while writing', () => {
  it('the write fails with a clear problem; neither the final name nor a temp file is left', async () => {
    const { writeStreamAtomic } = await import('../../../src/util/fs.js');
    const { writeError } = await import('../../../src/backup/archive-io.js');
    const sub = mkdtempSync(join(dir, 'enospc-'));
    const file = join(sub, 'x.pcbak');
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    async function* source() {
      yield Buffer.alloc(1 << 20, 1);
      throw full;
    }
    await expect(writeStreamAtomic(file, source())).rejects.toBe(full);
    expect(readdirSync(sub)).toEqual([]);
    const e = writeError(file, full);
    expect(e.kind).toBe('problem');
    expect(e.message).toBe(`could not write ${file}: the disk is full`);
    expect(e.details).toEqual(['the half-written archive was removed; no file has its name']);
  });
});
