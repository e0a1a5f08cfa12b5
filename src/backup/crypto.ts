// Passphrase encryption of the archive: OpenPGP (RFC 9580) as OpenPGP.js writes it, symmetric only:
// an Argon2 S2K (memory-hard: 3 passes, 64 MiB, the RFC's second recommended setting) wraps the session
// key, and the data is one AEAD-protected packet (SEIPD v2, AES-256-GCM) cut into 256 KiB chunks, each
// authenticated before a byte of it is released. So a stream is decrypted in bounded memory, a flipped
// byte fails the chunk that holds it, and a truncated file fails at its end (the final tag covers the
// length). Any RFC 9580 implementation reads it, e.g. `sq decrypt` (Sequoia) or OpenPGP.js itself.
//
// The file is the key packet followed by the data packet, which is what `openpgp.encrypt({ passwords })`
// writes. They are made apart so that the Argon2 step (a few tenths of a second of one core, blocking the
// thread it runs on) runs in a worker thread while the data is already being encrypted: the session key
// is random and known at once, and only the key packet needs the passphrase.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { PassThrough, Readable, pipeline } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { PhaseComposeError } from '../util/errors.js';

/** Binary OpenPGP starts with a packet tag (high bit set); a tar starts with a file name (ASCII). */
export function looksEncrypted(head: Buffer): boolean {
  return head.length > 0 && (head[0]! & 0x80) !== 0;
}

/** A tar member header holds "ustar" at offset 257. */
export function looksLikeTar(head: Buffer): boolean {
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

type OpenPgp = typeof import('openpgp');
const load = (): Promise<OpenPgp> => import('openpgp');
type WebStream = import('node:stream/web').ReadableStream<Uint8Array>;

/**
 * The archive's session key (AES-256, GCM): random, wrapped in the file by the passphrase. Kept by the
 * process that holds it so that a second read (backup's read-back, restore's second pass) skips the
 * Argon2 step, a second or more of CPU each time. Opaque outside this module.
 */
export type SessionKey = { data: Uint8Array; algorithm: 'aes256'; aeadAlgorithm: 'gcm' };

const CONFIG = (pgp: OpenPgp) => ({
  aeadProtect: true,
  preferredAEADAlgorithm: pgp.enums.aead.gcm,
  preferredSymmetricAlgorithm: pgp.enums.symmetric.aes256,
  s2kType: pgp.enums.s2k.argon2,
});

/**
 * The key packet (SKESK v6: Argon2 S2K, AES-256 key wrap in GCM) holding `sessionKey` under `passphrase`.
 * `cancel` stops the work when the archive is given up on.
 */
export type WrapKey = (sessionKey: SessionKey, passphrase: string) => { packet: Promise<Uint8Array>; cancel: () => void };

/** WrapKey in a worker thread, with the same OpenPGP.js the main thread loads (resolved from here). */
export const wrapKeyInWorker: WrapKey = (sessionKey, passphrase) => {
  const worker = new Worker(WRAP_WORKER, {
    eval: true,
    workerData: { openpgp: createRequire(import.meta.url).resolve('openpgp'), key: sessionKey, passphrase },
  });
  const packet = new Promise<Uint8Array>((res, rej) => {
    worker.once('message', (m: { packet?: Uint8Array; error?: string }) => (m.packet ? res(m.packet) : rej(new Error(`the passphrase's key packet: ${m.error}`))));
    worker.once('error', rej);
    worker.once('exit', (code) => rej(new Error(`the passphrase's key packet: its worker exited (${code}) without it`)));
  });
  return { packet, cancel: () => void worker.terminate() };
};

// CommonJS, run by the worker: the config is CONFIG's, in the enums' names.
const WRAP_WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
const pgp = require(w.openpgp);
const config = { aeadProtect: true, preferredAEADAlgorithm: pgp.enums.aead.gcm, preferredSymmetricAlgorithm: pgp.enums.symmetric.aes256, s2kType: pgp.enums.s2k.argon2 };
pgp.encryptSessionKey({ data: w.key.data, algorithm: w.key.algorithm, aeadAlgorithm: w.key.aeadAlgorithm, passwords: [w.passphrase], format: 'binary', config })
  .then((packet) => parentPort.postMessage({ packet }), (e) => parentPort.postMessage({ error: String((e && e.message) || e) }));
`;

/**
 * Ciphertext the data packet may run ahead of the key packet by, held in memory until the key packet is
 * written first: 16 MiB each side of a PassThrough. pg_dump -Fc writes a few MB/s while it compresses, so
 * the Argon2 step costs it nothing; a faster source waits once this much is held.
 */
const AHEAD = 16 << 20;

/**
 * Encrypts a byte stream with the passphrase; returns the ciphertext stream and the session key. The data
 * is encrypted from the start; the key packet, which the file opens with, is made meanwhile by `wrap`.
 */
export async function encryptStream(
  plain: AsyncIterable<Uint8Array>,
  passphrase: string,
  wrap: WrapKey = wrapKeyInWorker,
): Promise<{ stream: Readable; sessionKey: SessionKey }> {
  const pgp = await load();
  const sessionKey: SessionKey = { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256', aeadAlgorithm: 'gcm' };
  const key = wrap(sessionKey, passphrase);
  key.packet.catch(() => undefined); // awaited by the stream below
  const source = Readable.toWeb(Readable.from(slices(plain))) as ReadableStream<Uint8Array>;
  const message = await pgp.createMessage({ binary: source, format: 'binary' });
  // No passwords: the data packet alone, encrypted with the session key (Message.encrypt adds no key packet).
  const data = await pgp.encrypt({ message, sessionKey, format: 'binary', config: CONFIG(pgp) });
  const ahead = new PassThrough({ highWaterMark: AHEAD });
  pipeline(Readable.fromWeb(data as WebStream), ahead, () => undefined); // an error reaches `ahead`'s reader
  const stream = Readable.from(
    (async function* () {
      try {
        yield await key.packet;
        yield* ahead;
      } finally {
        key.cancel();
        ahead.destroy();
      }
    })(),
    { objectMode: false },
  );
  return { stream, sessionKey };
}

/** OpenPGP.js encrypts 1 MiB pieces fastest: measured here on 21 MiB, 8 MiB pieces took 1.6 s, 1 MiB 0.06 s, 64 KiB 0.7 s. */
export const PIECE = 1 << 20;

/** The same bytes in pieces of at most PIECE (views, not copies). */
export async function* slices(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const c of src) for (let i = 0; i < c.length; i += PIECE) yield c.subarray(i, i + PIECE);
}

/**
 * Decrypts a ciphertext stream with the passphrase, or with a session key an earlier read found. A wrong
 * passphrase is known before the promise resolves (the key packet does not open); damage is reported by
 * the returned stream as it reaches it.
 */
export async function decryptStream(cipher: Readable, key: { passphrase: () => Promise<string>; sessionKey?: SessionKey }, file: string): Promise<{ stream: Readable; sessionKey: SessionKey }> {
  const pgp = await load();
  let message;
  try {
    message = await pgp.readMessage({ binaryMessage: Readable.toWeb(cipher) as ReadableStream<Uint8Array> });
  } catch (e) {
    throw damagedError(file, e);
  }
  let sessionKey = key.sessionKey;
  if (!sessionKey) {
    const passphrase = await key.passphrase();
    try {
      const [k] = await pgp.decryptSessionKeys({ message, passwords: [passphrase] });
      sessionKey = { data: k!.data, algorithm: 'aes256', aeadAlgorithm: 'gcm', ...(k!.algorithm ? { algorithm: k!.algorithm as 'aes256' } : {}) };
    } catch (e) {
      const msg = (e as Error).message;
      if (/session key decryption failed|password|passphrase/i.test(msg)) {
        throw new PhaseComposeError('problem', `wrong passphrase for ${file}`, { details: ['the archive stays as it is; nothing was changed'] });
      }
      throw damagedError(file, e);
    }
  }
  try {
    const { data } = await pgp.decrypt({ message, sessionKeys: [sessionKey], format: 'binary', config: { allowUnauthenticatedStream: false } });
    return { stream: Readable.fromWeb(data as WebStream), sessionKey };
  } catch (e) {
    throw damagedError(file, e);
  }
}

/** A decryption failure after the key opened: the ciphertext was altered or cut short. */
export function damagedError(file: string, e: unknown): PhaseComposeError {
  return new PhaseComposeError('problem', `the archive ${file} is damaged or truncated: ${(e as Error).message}`, {
    details: ['its authentication failed, so none of it is used; nothing was changed'],
  });
}
