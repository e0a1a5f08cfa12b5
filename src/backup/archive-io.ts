// Writing and reading the archive (./archive.ts describes its members) as streams: nothing that grows
// with the database is held in memory (one dump chunk at most), and the file appears under its name only
// once complete (temp name, fsync, rename).
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { PassThrough, Readable, Writable } from 'node:stream';
import { PhaseComposeError, couldNotWrite } from '../util/errors.js';
import { readSource, sourcePath, writeStreamAtomic, type FileSource } from '../util/fs.js';
import { drained } from '../util/streams.js';
import { sha256 } from '../util/hash.js';
import {
  CHUNK_BYTES, DUMP_PREFIX, MANIFEST_FRAME_BYTES, MANIFEST_MEMBER, MAX_SMALL_MEMBER, MAX_SMALL_MEMBERS, MAX_SMALL_TOTAL, META_MEMBER, STACK_PREFIX, buildManifest, checkManifest, dumpChunkName,
  manifestEntryBytes, manifestText, parseManifest, parseMeta,
  type BackupMeta, type Manifest, type ManifestEntry,
} from './archive.js';
import { PIECE, damagedError, decryptStream, encryptStream, looksEncrypted, looksLikeTar, type SessionKey } from './crypto.js';

type TarStream = typeof import('tar-stream');
const loadTar = async (): Promise<TarStream> => {
  const m = (await import('tar-stream')) as TarStream & { default?: TarStream };
  return m.default ?? m;
};

export type ArchiveWriter = {
  /** Adds a small member (metadata, a stack file). */
  add(name: string, content: Buffer | string): Promise<void>;
  /** A Writable for the dump's bytes; end it when the dump is done. */
  dump: Writable;
  /** Writes the manifest, closes the archive and gives it its name; returns the manifest and the file's size. */
  finish(): Promise<{ manifest: Manifest; bytes: number }>;
  /**
   * After finish: the archive as a restore reads it (decrypted, every member against the manifest), and
   * the file holding exactly the bytes that were checked. Throws a PhaseComposeError when not.
   */
  readBack(): Promise<ArchiveContents>;
  /** Gives up: nothing keeps the final name, the temp file is removed. */
  abort(e: Error): Promise<void>;
  /** The write's failure (a full disk), as the error to report, once the file could not be written. */
  writeFailure(): PhaseComposeError | undefined;
  /** The encrypted archive's session key (for a read-back without the passphrase's Argon2 step). */
  sessionKey?: SessionKey;
  /**
   * Hands each dump chunk to `f` once it is in the archive, while the rest of the dump still streams
   * (pg_dump -Fc's table of contents is at its start); the next chunk waits for `f`'s promise.
   */
  onDumpChunk(f: (chunk: Buffer) => Promise<void>): void;
};

/** The sha256 of a file, read in pieces. */
async function sha256OfFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: PIECE })) h.update(c as Buffer);
  return h.digest('hex');
}

/** Disk full (or any other write failure) while writing `file`: nothing was kept (`detail` says so). */
export function writeError(file: string, e: unknown, detail = 'the half-written archive was removed; no file has its name'): PhaseComposeError {
  if (e instanceof PhaseComposeError) return e;
  return new PhaseComposeError('problem', couldNotWrite(file, e), { details: [detail], cause: e });
}

/** The refusal of a dump whose manifest would pass what a read takes (`limit`), with the members written so far. */
function manifestTooLarge(members: readonly ManifestEntry[], limit: number): PhaseComposeError {
  const chunks = members.filter((m) => m.name.startsWith(DUMP_PREFIX));
  const gib = chunks.reduce((n, m) => n + m.size, 0) / 2 ** 30;
  const most = limit >= 2 ** 20 ? `${Math.floor(limit / 2 ** 20)} MiB` : `${limit} bytes`;
  return new PhaseComposeError('problem', `the database dump is too large for one archive: past ${chunks.length} chunk(s) of it (${gib.toFixed(1)} GiB), the archive's manifest would pass the ${most} a restore reads`, {
    details: [
      'nothing was kept',
      '`phase-compose backup --dump-only` writes the database alone (a plain pg_dump -Fc file, without that limit): keep the env files beside it, as the app needs their keys to read its data',
    ],
  });
}

/**
 * Opens an archive for writing at `file` (encrypted when a passphrase is given), mode 0600. `manifestLimit`
 * (tests) stands for MAX_SMALL_MEMBER, the most of the manifest a read takes.
 */
export async function openArchiveWriter(file: string, opts: { passphrase?: string; manifestLimit?: number }): Promise<ArchiveWriter> {
  const tar = await loadTar();
  const pack = tar.pack();
  const members: ManifestEntry[] = [];
  const mtime = new Date();
  // Every read takes the manifest (last, a line per member) whole, at most MAX_SMALL_MEMBER: about 0.85
  // TiB of dump in 8 MiB chunks. Its size is counted as chunks are added, so a dump past that fails as
  // soon as it does, saying why; until 2026-11-30 it was written to the end and then refused by the
  // read-back as "damaged". (The small members' own bounds, MAX_SMALL_TOTAL among them, are the read's.)
  const room = opts.manifestLimit ?? MAX_SMALL_MEMBER;
  let manifestBytes = MANIFEST_FRAME_BYTES;
  let tooLarge: PhaseComposeError | undefined;
  const entry = (name: string, body: Buffer) => {
    const m = { name, size: body.length, sha256: sha256(body) };
    if (name !== MANIFEST_MEMBER) manifestBytes += manifestEntryBytes(m);
    if (name.startsWith(DUMP_PREFIX) && manifestBytes > room) {
      tooLarge ??= manifestTooLarge(members, room);
      return Promise.reject(tooLarge);
    }
    return new Promise<void>((res, rej) => {
      pack.entry({ name, size: body.length, mode: 0o600, mtime, type: 'file' }, body, (e) => (e ? rej(e) : res()));
      members.push(m);
    });
  };
  pack.on('error', () => undefined); // reported through the write's promise
  let aborted: Error | undefined;
  const plain = pack as unknown as AsyncIterable<Uint8Array>;
  const enc = opts.passphrase !== undefined ? await encryptStream(plain, opts.passphrase) : undefined;
  const encrypted: AsyncIterable<Uint8Array> = enc?.stream ?? plain;
  // The read-back: what goes to the file is read as a restore reads it (decrypted, untarred, every checksum)
  // while it is written, instead of from the file afterwards; the file is then hashed and must hold exactly
  // those bytes (readBack below). The same checks, without a second pass after the dump.
  const produced = createHash('sha256');
  let producedHex: string | undefined; // once the last byte went out
  const check = new PassThrough({ highWaterMark: 1 << 20 });
  const checked = readArchiveFrom(check, enc ? 'encrypted' : 'tar', file, { passphrase: async () => opts.passphrase ?? '', ...(enc ? { sessionKey: enc.sessionKey } : {}) });
  checked.catch(() => undefined); // awaited by readBack
  // An archive given up on ends normally (so every stream drains) and then fails here: the temp file goes.
  const output = (async function* () {
    try {
      for await (const c of encrypted) {
        produced.update(c);
        if (!check.destroyed && !check.write(c)) await drained(check);
        yield c;
      }
      producedHex = produced.digest('hex');
      check.end();
    } finally {
      if (!check.writableEnded) check.destroy();
    }
    if (aborted) throw aborted;
  })();
  let failed: Error | undefined;
  const written = writeStreamAtomic(file, output, 0o600);
  // A write that fails (a full disk) must also stop whoever feeds the archive, or they wait for room forever.
  written.catch((e: Error) => {
    failed = e;
    pack.destroy(e);
  });

  const whole = createHash('sha256');
  let dumpBytes = 0;
  let chunks = 0;
  let buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let fill = 0;
  let chunkDone: (chunk: Buffer) => Promise<void> = async () => {};
  const flush = async () => {
    if (!fill) return;
    const body = buf.subarray(0, fill);
    buf = Buffer.allocUnsafe(CHUNK_BYTES);
    fill = 0;
    await entry(dumpChunkName(++chunks), body);
    await chunkDone(body);
  };
  const dump = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _e, cb) {
      whole.update(chunk);
      dumpBytes += chunk.length;
      (async () => {
        for (let off = 0; off < chunk.length; ) {
          const n = chunk.copy(buf, fill, off);
          fill += n;
          off += n;
          if (fill === CHUNK_BYTES) await flush();
        }
      })().then(() => cb(), cb);
    },
    final(cb) {
      flush().then(() => cb(), cb);
    },
  });
  // A write that failed fails `dump` too (its next chunk finds the tar closed): that is reported as the
  // write's failure (writeFailure, finish), not as an unhandled stream error.
  dump.on('error', () => undefined);
  const checkWrite = () => {
    if (tooLarge) throw tooLarge;
    if (failed) throw writeError(file, failed);
  };
  return {
    async add(name, content) {
      checkWrite();
      await entry(name, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'));
    },
    dump,
    ...(enc ? { sessionKey: enc.sessionKey } : {}),
    onDumpChunk(f) {
      chunkDone = f;
    },
    async finish() {
      checkWrite();
      const manifest = buildManifest([...members], { bytes: dumpBytes, sha256: whole.digest('hex'), chunks });
      await entry(MANIFEST_MEMBER, Buffer.from(manifestText(manifest)));
      pack.finalize();
      try {
        return { manifest, bytes: await written };
      } catch (e) {
        throw writeError(file, e);
      }
    },
    async readBack() {
      const contents = await checked;
      const onDisk = await sha256OfFile(file);
      if (onDisk !== producedHex) throw damaged(file, 'the file does not hold the bytes that were written to it');
      return contents;
    },
    writeFailure: () => tooLarge ?? (failed ? writeError(file, failed) : undefined),
    async abort(e) {
      aborted = e;
      dump.destroy();
      if (!failed) pack.finalize();
      await written.catch(() => undefined);
    },
  };
}

export type ArchiveContents = {
  meta: BackupMeta;
  /** stack/ members, by their path inside stack/. */
  files: Map<string, Buffer>;
  manifest: Manifest;
  encrypted: boolean;
  /** The session key that opened an encrypted archive: a second read needs no passphrase step. */
  sessionKey?: SessionKey;
};

export type ReadOptions = {
  /** Asked only when the archive is encrypted (and no session key is given). */
  passphrase: () => Promise<string>;
  /** The session key of an earlier read or of the writer. */
  sessionKey?: SessionKey;
  /** Each dump chunk, in order, checked first against `expect` when given; its promise is waited for. */
  dump?: (chunk: Buffer) => Promise<void>;
  /** The manifest of an earlier full read: each chunk is checked against it before `dump` sees it. */
  expect?: Manifest;
  /** Gives the read up (Ctrl-C): the file is closed and the signal's reason thrown, at once, not at the end. */
  signal?: AbortSignal;
};

/** What the first bytes of a file (a path, or a file held open) say it is. */
export function sniff(file: FileSource): 'encrypted' | 'tar' | 'pg-dump' | 'unknown' {
  if (typeof file !== 'string') return sniffHead(file.head(512));
  const head = Buffer.alloc(512);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return sniffHead(head.subarray(0, n));
}

/** What a file's first (up to 512) bytes say it is. Pure. */
function sniffHead(h: Buffer): 'encrypted' | 'tar' | 'pg-dump' | 'unknown' {
  if (h.subarray(0, 5).toString('latin1') === 'PGDMP') return 'pg-dump';
  if (looksLikeTar(h)) return 'tar';
  if (looksEncrypted(h)) return 'encrypted';
  return 'unknown';
}

const damaged = (file: string, what: string) => new PhaseComposeError('problem', `the archive ${file} is damaged: ${what}`, { details: ['nothing was changed'] });

/**
 * Reads the whole archive: decrypts it (when encrypted), checks every member against the manifest and the
 * order of members, and hands the dump's chunks to `opts.dump`. Throws a PhaseComposeError (a problem)
 * for a wrong passphrase, damage or truncation.
 */
export async function readArchive(file: FileSource, opts: ReadOptions): Promise<ArchiveContents> {
  const kind = sniff(file);
  const name = sourcePath(file);
  if (kind === 'unknown' || kind === 'pg-dump') {
    throw damaged(name, kind === 'pg-dump' ? 'it is a plain pg_dump file, not an archive' : 'it is neither an encrypted nor a plain phase-compose archive');
  }
  return readArchiveFrom(readSource(file, PIECE), kind, name, opts);
}

/** readArchive of the bytes in `raw` (an archive of `kind`; `file` names it in errors); `raw` is destroyed at the end. */
async function readArchiveFrom(raw: Readable, kind: 'encrypted' | 'tar', file: string, opts: ReadOptions): Promise<ArchiveContents> {
  const tar = await loadTar();
  const dec = kind === 'encrypted' ? await decryptStream(raw, { passphrase: opts.passphrase, sessionKey: opts.sessionKey }, file) : undefined;
  // From here on an abort closes the file at once (the key step before reads only the head); one that came
  // earlier is thrown at the first member.
  const { signal } = opts;
  const giveUp = () => raw.destroy(new Error('the read was given up'));
  signal?.addEventListener('abort', giveUp, { once: true });
  const source: Readable = dec?.stream ?? raw;
  const extract = tar.extract();
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract);

  const seen: ManifestEntry[] = [];
  const files = new Map<string, Buffer>();
  const whole = createHash('sha256');
  let dumpBytes = 0;
  let chunks = 0;
  let smallBytes = 0;
  let smallCount = 0;
  let meta: BackupMeta | undefined;
  let manifest: Manifest | undefined;
  try {
    for await (const entry of extract) {
      signal?.throwIfAborted();
      const { name, size = 0, type } = entry.header;
      if (manifest) throw damaged(file, `member ${name} follows the manifest`);
      if (type !== 'file') throw damaged(file, `member ${name} is a ${type}, not a file`);
      const isChunk = name.startsWith(DUMP_PREFIX);
      const limit = isChunk ? CHUNK_BYTES : MAX_SMALL_MEMBER;
      if (size > limit) throw damaged(file, `member ${name} is ${size} bytes (at most ${limit})`);
      if (!isChunk) {
        smallBytes += size;
        smallCount += 1;
        if (smallBytes > MAX_SMALL_TOTAL || smallCount > MAX_SMALL_MEMBERS) {
          throw damaged(file, `its members other than the dump exceed ${MAX_SMALL_MEMBERS} files or ${MAX_SMALL_TOTAL} bytes together (at ${name})`);
        }
      }
      // Hashed as it comes; a dump chunk is joined into one buffer only for a consumer of the dump.
      const keep = !isChunk || opts.dump !== undefined;
      const parts: Buffer[] = [];
      const member = createHash('sha256');
      let length = 0;
      for await (const piece of entry) {
        const b = piece as Buffer;
        member.update(b);
        if (isChunk) whole.update(b);
        if (keep) parts.push(b);
        length += b.length;
      }
      if (length !== size) throw damaged(file, `member ${name} is cut short`);
      const body = keep ? Buffer.concat(parts) : Buffer.alloc(0);
      if (name === MANIFEST_MEMBER) {
        manifest = parseManifest(body.toString('utf8'));
        continue;
      }
      const got = { name, size, sha256: member.digest('hex') };
      if (!seen.length && name !== META_MEMBER) throw damaged(file, `its first member is ${name}, not ${META_MEMBER}`);
      if (name === META_MEMBER) {
        if (seen.length) throw damaged(file, `${META_MEMBER} appears twice`);
        meta = parseMeta(body.toString('utf8'));
      } else if (isChunk) {
        if (name !== dumpChunkName(chunks + 1)) throw damaged(file, `dump chunk ${name} is out of order (expected ${dumpChunkName(chunks + 1)})`);
        chunks++;
        const want = opts.expect?.members[seen.length];
        if (opts.expect && (want?.name !== name || want.sha256 !== got.sha256 || want.size !== size)) {
          throw damaged(file, `${name} differs from what the first read of the archive checked (was the file changed meanwhile?)`);
        }
        dumpBytes += size;
        if (opts.dump) await opts.dump(body);
      } else if (name.startsWith(STACK_PREFIX) && !chunks) {
        files.set(name.slice(STACK_PREFIX.length), body);
      } else throw damaged(file, `unexpected member ${name}`);
      seen.push(got);
    }
  } catch (e) {
    signal?.throwIfAborted();
    throw e instanceof PhaseComposeError ? e : kind === 'encrypted' ? damagedError(file, e) : damaged(file, (e as Error).message);
  } finally {
    signal?.removeEventListener('abort', giveUp);
    raw.destroy();
  }
  if (!manifest || !meta) throw damaged(file, `it ends before its ${manifest ? META_MEMBER : MANIFEST_MEMBER} (truncated?)`);
  checkManifest(manifest, seen, { bytes: dumpBytes, sha256: whole.digest('hex'), chunks });
  return { meta, files, manifest, encrypted: kind === 'encrypted', ...(dec ? { sessionKey: dec.sessionKey } : {}) };
}
