// Passphrase encryption of the archive: OpenPGP (RFC 9580), symmetric only: an Argon2 S2K (memory-hard:
// 3 passes, 64 MiB, 4 lanes, the RFC's second recommended setting) wraps the session key, and the data is
// one AEAD-protected packet (SEIPD v2, AES-256-GCM) cut into 256 KiB chunks, each authenticated before a
// byte of it is released. So a stream is decrypted in bounded memory, a flipped byte fails the chunk that
// holds it, and a truncated file fails at its end (the final tag covers the length). Any RFC 9580
// implementation reads it, e.g. `sq decrypt` (Sequoia) or OpenPGP.js itself.
//
// The file is the key packet followed by the data packet, which is what `openpgp.encrypt({ passwords })`
// writes. They are made apart so that the data is encrypted from the first byte while the key packet is
// made: the session key is random and known at once, and only the key packet needs the passphrase. The
// data packet is ./seipd.ts's (node:crypto's AES-256-GCM in RFC 9580's layout; OpenPGP.js's streams cost
// about four times its CPU). The key packet's Argon2 is @node-rs/argon2's (native, prebuilt for each platform,
// on its own threads), not OpenPGP.js's WASM: one hash in a fresh process took 0.15-0.33 s of CPU here
// against 0.56-0.61 s for the WASM, on 2 cores that pg_dump keeps busy. Around it the key packet is 87
// fixed bytes (RFC 9580 section 5.3: HKDF-SHA256 and AES-256-GCM from node:crypto). The unit tests have
// OpenPGP.js open what this module writes and the e2e tests Sequoia's sq. Opening goes the same way for
// a message of this shape (OpenPGP.js wrote the same before); any other (another tool's) is opened by
// OpenPGP.js, as is every key packet where @node-rs/argon2 does not load. OpenPGP.js is loaded only then.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { PassThrough, Readable, pipeline } from 'node:stream';
import { PhaseComposeError } from '../util/errors.js';
import { ByteReader, readPacketHeader } from './openpgp-framing.js';
import { AES256, GCM, TAG_SEIPD, decryptData, encryptData, readDataHeader } from './seipd.js';

/** Binary OpenPGP starts with a packet tag (high bit set); a tar starts with a file name (ASCII). */
export function looksEncrypted(head: Buffer): boolean {
  return head.length > 0 && (head[0]! & 0x80) !== 0;
}

/** A tar member header holds "ustar" at offset 257. */
export function looksLikeTar(head: Buffer): boolean {
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

type OpenPgp = typeof import('openpgp');
const loadOpenPgp = (): Promise<OpenPgp> => import('openpgp');
type WebStream = import('node:stream/web').ReadableStream<Uint8Array>;

/**
 * The archive's session key (AES-256, GCM): random, wrapped in the file by the passphrase. Kept by the
 * process that holds it so that a second read (backup's read-back, restore's second pass) skips the
 * Argon2 step (0.15-0.33 s of CPU natively, 0.6 s in OpenPGP.js's WASM). Opaque outside this module.
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
 * `cancel` drops the work when the archive is given up on.
 */
export type WrapKey = (sessionKey: SessionKey, passphrase: string) => { packet: Promise<Uint8Array>; cancel: () => void };

/** RFC 9580 section 4.3.4's second recommended Argon2 setting (OpenPGP.js's default): t=3, p=4, m=2^16 KiB. */
const ARGON2 = { t: 3, p: 4, encodedM: 16 };
/** The most key packets a message may have for the passphrase to be tried on (phase-compose writes one). */
const MAX_KEY_PACKETS = 16;
/** The most a key packet read from a file may ask of Argon2: the RFC's first recommended memory (2 GiB). */
const ARGON2_MAX = { t: 10, p: 16, encodedM: 21 };
/** The packet's header in the new format (tag 3, 0xC0 | 3) with version, cipher and AEAD: the wrap's HKDF info and associated data. */
const SKESK_INFO = Buffer.from([0xc3, 6, AES256, GCM]);

type Argon2Params = { salt: Uint8Array; t: number; p: number; encodedM: number };

/** Argon2id (version 0x13), raw output: @node-rs/argon2's hashRaw, or a stand-in in the tests. */
export type Argon2 = { hashRaw: (password: string, options: { algorithm: number; version: number; memoryCost: number; timeCost: number; parallelism: number; outputLen: number; salt: Uint8Array }) => Promise<Uint8Array> };
/** Loads @node-rs/argon2; undefined where its prebuilt addon does not load (a platform it ships none for). */
export type LoadArgon2 = () => Promise<Argon2 | undefined>;
const loadArgon2: LoadArgon2 = () => import('@node-rs/argon2').then((m) => m as Argon2, () => undefined);
// @node-rs/argon2's const enums (Algorithm.Argon2id, Version.V0x13), which isolated modules cannot read.
const ARGON2ID = 2;
const V0X13 = 1;

/** The key-encryption key: Argon2id of the passphrase, then HKDF-SHA256 bound to the packet's header. */
async function keyEncryptionKey(argon2: Argon2, passphrase: string, s: Argon2Params): Promise<Buffer> {
  const ikm = await argon2.hashRaw(passphrase, { algorithm: ARGON2ID, version: V0X13, salt: s.salt, timeCost: s.t, parallelism: s.p, memoryCost: 2 ** s.encodedM, outputLen: 32 });
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), SKESK_INFO, 32));
}

/** The session key out of a wrapped one (48 bytes: key and GCM tag); undefined when the tag fails (a wrong key). */
function unwrap(kek: Buffer, iv: Uint8Array, wrapped: Uint8Array): Buffer | undefined {
  const d = createDecipheriv('aes-256-gcm', kek, iv).setAAD(SKESK_INFO);
  d.setAuthTag(wrapped.subarray(32));
  try {
    return Buffer.concat([d.update(wrapped.subarray(0, 32)), d.final()]);
  } catch {
    return undefined;
  }
}

/**
 * A key packet's fields (`bytes`: the whole packet), when it is one this module writes: the current
 * format, v6, AES-256, GCM, Argon2 (RFC 9580 section 5.3; OpenPGP.js writes the same 87 bytes); undefined
 * for any other kind.
 */
export function parseKeyPacket(bytes: Buffer): (Argon2Params & { iv: Buffer; wrapped: Buffer }) | undefined {
  // header (tag 3, length 85), version 6, count 35, cipher, AEAD, S2K length 20, S2K type 4, salt, t, p, m, IV, key and tag
  const fixed = [0xc3, 85, 6, 35, AES256, GCM, 20, 4];
  if (bytes.length !== 87 || fixed.some((b, i) => bytes[i] !== b)) return undefined;
  return { salt: bytes.subarray(8, 24), t: bytes[24]!, p: bytes[25]!, encodedM: bytes[26]!, iv: bytes.subarray(27, 39), wrapped: bytes.subarray(39, 87) };
}

/** S2K specifier lengths by type (RFC 9580 section 3.7.1): simple, salted, iterated and salted, Argon2. */
const S2K_LENGTH: Readonly<Record<number, number>> = { 0: 2, 1: 10, 3: 11, 4: 20 };
/** Nonce lengths by AEAD mode (RFC 9580 section 5.13.2): EAX, OCB, GCM. */
const AEAD_NONCE_LENGTH: Readonly<Record<number, number>> = { 1: 16, 2: 15, 3: 12 };

/**
 * A v6 key packet's body (version, a count of the next five fields' octets, cipher, AEAD, S2K length,
 * S2K, nonce, wrapped key) whose two length octets agree with what they count. OpenPGP.js skips both:
 * until 2026-11-29 a flipped bit in either sent our own packet there, which opened it all the same, so
 * that one damaged octet of the archive went unseen.
 */
function v6LengthsAgree(body: Buffer): boolean {
  const s2kLength = S2K_LENGTH[body[5] ?? -1];
  const nonce = AEAD_NONCE_LENGTH[body[3] ?? -1];
  return s2kLength !== undefined && nonce !== undefined && body[4] === s2kLength && body[1] === 3 + s2kLength + nonce && body.length > 2 + body[1];
}

/**
 * The Argon2 settings a key packet (`bytes`: header and body) asks for, whatever its header format and
 * version (4, 5 or 6, RFC 9580 section 5.3); null when its S2K is another kind (iterated and salted: its
 * cost is bounded by its one-octet count); undefined when it cannot be read.
 */
export function keyPacketArgon2(bytes: Buffer): Pick<Argon2Params, 't' | 'p' | 'encodedM'> | null | undefined {
  const first = bytes[0];
  if (first === undefined || !(first & 0x80)) return undefined;
  let at: number;
  if (first & 0x40) {
    const l = bytes[1];
    if (l === undefined || (l >= 224 && l < 255)) return undefined; // a partial length: no key packet has one
    at = l < 192 ? 2 : l < 224 ? 3 : 6;
  } else {
    const type = first & 3;
    if (type === 3) return undefined;
    at = 2 + [1, 2, 4][type]! - 1;
  }
  const body = bytes.subarray(at);
  const s2kAt = body[0] === 4 ? 2 : body[0] === 5 ? 3 : body[0] === 6 ? 5 : -1;
  if (s2kAt < 0 || body.length <= s2kAt) return undefined;
  if (body[0] === 6 && !v6LengthsAgree(body)) return undefined;
  if (body[s2kAt] !== 4) return null;
  if (body.length < s2kAt + 20) return undefined;
  return { t: body[s2kAt + 17]!, p: body[s2kAt + 18]!, encodedM: body[s2kAt + 19]! };
}

/**
 * WrapKey with @node-rs/argon2 (native, on its own threads, off the main thread). The packet is parsed
 * back and unwrapped before it is handed out. Where @node-rs/argon2 does not load, OpenPGP.js makes the
 * whole packet (its WASM Argon2, on the main thread).
 */
export const wrapKeyWith =
  (load: LoadArgon2 = loadArgon2): WrapKey =>
  (sessionKey, passphrase) => {
    let cancelled = false;
    const packet = (async () => {
      const argon2 = await load();
      if (!argon2) {
        const pgp = await loadOpenPgp();
        const { data, algorithm, aeadAlgorithm } = sessionKey;
        return pgp.encryptSessionKey({ data, algorithm, aeadAlgorithm, passwords: [passphrase], format: 'binary', config: CONFIG(pgp) });
      }
      const s2k = { salt: randomBytes(16), ...ARGON2 };
      const kek = await keyEncryptionKey(argon2, passphrase, s2k);
      if (cancelled) throw new Error("the passphrase's key packet: cancelled");
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', kek, iv).setAAD(SKESK_INFO);
      const wrapped = Buffer.concat([c.update(sessionKey.data), c.final(), c.getAuthTag()]);
      const s2kSpec = Buffer.concat([Buffer.from([4]), s2k.salt, Buffer.from([s2k.t, s2k.p, s2k.encodedM])]);
      const body = Buffer.concat([Buffer.from([6, 3 + s2kSpec.length + iv.length, AES256, GCM, s2kSpec.length]), s2kSpec, iv, wrapped]);
      const bytes = Buffer.concat([Buffer.from([0xc3, body.length]), body]); // body < 192: a one-octet length
      const read = parseKeyPacket(bytes);
      const back = read && unwrap(kek, read.iv, read.wrapped);
      if (!back?.equals(sessionKey.data)) throw new Error("the passphrase's key packet does not read back as written");
      return bytes;
    })();
    return { packet, cancel: () => void (cancelled = true) };
  };

/**
 * The session key under the message's key packets (`keyPackets`, their bytes), opened by the passphrase:
 * ours by @node-rs/argon2, any other by OpenPGP.js. Throws WrongPassphrase when the passphrase does not
 * open it; a key packet asking Argon2 for more than ARGON2_MAX, or more than MAX_KEY_PACKETS of them, is
 * refused before any Argon2 runs.
 */
async function openSessionKey(keyPackets: Buffer[], passphrase: string, load: LoadArgon2): Promise<SessionKey> {
  // Each key packet may cost an Argon2 run of up to ARGON2_MAX: their number is bounded too.
  if (keyPackets.length > MAX_KEY_PACKETS) throw new Error(`it has ${keyPackets.length} key packets (an archive has one; at most ${MAX_KEY_PACKETS} are tried)`);
  const ours = keyPackets.map(parseKeyPacket);
  // Every key packet, whatever its header or version: until 2026-11-28 only ours were checked, and the
  // same packet under an old-format header went to OpenPGP.js's Argon2 (on the main thread, deaf to
  // Ctrl-C) with whatever it asked for.
  for (const packet of keyPackets) {
    const k = keyPacketArgon2(packet);
    if (k === undefined) throw new Error('its key packet cannot be read (an unknown version or S2K, or length octets that disagree)');
    if (k && (k.t > ARGON2_MAX.t || k.p > ARGON2_MAX.p || k.encodedM > ARGON2_MAX.encodedM)) {
      throw new Error(`its key packet asks Argon2 for ${k.t} passes, ${k.p} lanes and 2^${k.encodedM} KiB: more than the ${ARGON2_MAX.t} passes, ${ARGON2_MAX.p} lanes and 2 GiB allowed`);
    }
  }
  const argon2 = ours.length && ours.every((k) => k) ? await load() : undefined;
  if (!argon2) {
    const pgp = await loadOpenPgp();
    const message = await pgp.readMessage({ binaryMessage: new Uint8Array(Buffer.concat(keyPackets)) });
    const [k] = await pgp.decryptSessionKeys({ message, passwords: [passphrase] }).catch((e: Error) => {
      // OpenPGP.js says so in its message only ("Error decrypting session keys: Session key decryption failed.").
      throw /session key decryption failed|password|passphrase/i.test(e.message) ? new WrongPassphrase() : e;
    });
    // A v4 key packet names the data's cipher (another tool's may not be AES-256); a v6 one leaves it to the data packet.
    return { data: k!.data, algorithm: 'aes256', aeadAlgorithm: 'gcm', ...(k!.algorithm ? { algorithm: k!.algorithm as 'aes256' } : {}) };
  }
  for (const k of ours) {
    const key = unwrap(await keyEncryptionKey(argon2, passphrase, k!), k!.iv, k!.wrapped);
    if (key) return { data: new Uint8Array(key), algorithm: 'aes256', aeadAlgorithm: 'gcm' };
  }
  throw new WrongPassphrase();
}

/** The passphrase opens none of the key packets. */
class WrongPassphrase extends Error {
  constructor() {
    super('the passphrase opens none of the key packets');
  }
}

/**
 * Ciphertext the data packet may run ahead of the key packet by, held in memory until the key packet is
 * written first: 16 MiB each side of a PassThrough. pg_dump -Fc writes a few MB/s while it compresses, so
 * the Argon2 step costs it nothing; a faster source waits once this much is held.
 */
const AHEAD = 16 << 20;

/**
 * Encrypts a byte stream with the passphrase; returns the ciphertext stream and the session key. The data
 * is encrypted (./seipd.ts) from the start; the key packet, which the file opens with, is made meanwhile by `wrap`.
 */
export async function encryptStream(
  plain: AsyncIterable<Uint8Array>,
  passphrase: string,
  wrap: WrapKey = wrapKeyWith(),
): Promise<{ stream: Readable; sessionKey: SessionKey }> {
  const sessionKey: SessionKey = { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256', aeadAlgorithm: 'gcm' };
  const key = wrap(sessionKey, passphrase);
  key.packet.catch(() => undefined); // awaited by the stream below
  const ahead = new PassThrough({ highWaterMark: AHEAD });
  pipeline(Readable.from(encryptData(plain, sessionKey.data), { objectMode: false }), ahead, () => undefined); // an error reaches `ahead`'s reader
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

/** The archive is read from its file in pieces of 1 MiB. */
export const PIECE = 1 << 20;

/** The message's start read before deciding who decrypts it: its key packets and the data packet's fixed fields fit. */
const HEAD_BYTES = 4096;
const TAG_SKESK = 3;

/** The key packets' bytes, when the message is key packets then a data packet that ./seipd.ts reads; else undefined. */
async function nativeShape(head: Buffer): Promise<Buffer[] | undefined> {
  const r = new ByteReader((async function* () {
    yield head;
  })());
  const keyPackets: Buffer[] = [];
  try {
    for (;;) {
      const at = r.position;
      const h = await readPacketHeader(r);
      if (!h || h.length === undefined) return undefined;
      if (h.tag === TAG_SEIPD) return keyPackets.length && (await readDataHeader(r, h)) ? keyPackets : undefined;
      if (h.tag !== TAG_SKESK || h.partial) return undefined;
      await r.exact(h.length, 'a key packet');
      keyPackets.push(head.subarray(at, r.position));
    }
  } catch {
    return undefined; // cut short or malformed: OpenPGP.js reports it
  }
}

/** The first `n` bytes of `it` (fewer when it ends first), and the rest as an iterable that goes on from them. */
async function splitHead(it: AsyncIterator<Uint8Array>, n: number): Promise<{ head: Buffer; all: AsyncIterable<Uint8Array> }> {
  const got: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const r = await it.next();
    if (r.done) break;
    got.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
    have += r.value.length;
  }
  const head = Buffer.concat(got);
  const all = (async function* () {
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  })();
  return { head, all };
}

/**
 * Decrypts a ciphertext stream with the passphrase, or with a session key an earlier read found. A wrong
 * passphrase is known before the promise resolves (the key packet does not open); damage is reported by
 * the returned stream as it reaches it. A message of key packets then a SEIPD v2 AES-256-GCM data packet
 * (what encryptStream writes, and OpenPGP.js before it) is decrypted by ./seipd.ts; any other by OpenPGP.js.
 */
export async function decryptStream(
  cipher: Readable,
  key: { passphrase: () => Promise<string>; sessionKey?: SessionKey },
  file: string,
  load: LoadArgon2 = loadArgon2,
  maxWhole = MAX_WHOLE_BYTES,
): Promise<{ stream: Readable; sessionKey: SessionKey }> {
  const { head, all } = await splitHead(cipher[Symbol.asyncIterator](), HEAD_BYTES);
  const keyPackets = await nativeShape(head);
  if (!keyPackets) return decryptWithOpenPgp(all, key, file, load, maxWhole);
  const sessionKey = key.sessionKey ?? (await openKey(keyPackets, key, file, load));
  const r = new ByteReader(all);
  for (const k of keyPackets) await r.exact(k.length, 'a key packet');
  const found = await readDataHeader(r, (await readPacketHeader(r))!);
  return { stream: Readable.from(decryptData(found!, r, sessionKey.data), { objectMode: false }), sessionKey };
}

/** Asks the passphrase and opens the key packets with it; a wrong passphrase or damage as a PhaseComposeError. */
async function openKey(keyPackets: Buffer[], key: { passphrase: () => Promise<string> }, file: string, load: LoadArgon2): Promise<SessionKey> {
  const passphrase = await key.passphrase();
  try {
    return await openSessionKey(keyPackets, passphrase, load);
  } catch (e) {
    if (e instanceof WrongPassphrase) {
      throw new PhaseComposeError('problem', `wrong passphrase for ${file}`, {
        details: [
          // The key packet authenticates the key, not itself apart: a damaged one reads as a wrong passphrase.
          'sure of the passphrase? Then the archive\'s key packet (its first bytes) may be damaged: try another copy',
          'the archive stays as it is; nothing was changed',
        ],
      });
    }
    throw damagedError(file, e);
  }
}

/**
 * The most ciphertext a message whose integrity is checked only at its end (SEIPD v1: `gpg --symmetric`,
 * sq's default for v4 keys) may hold: OpenPGP.js keeps the whole of such a message in memory until its
 * check passed (about three times its size, measured +300 MiB for a 96 MiB archive).
 */
export const MAX_WHOLE_BYTES = 256 * 1024 * 1024;

/** decryptStream for a message of another shape: OpenPGP.js reads it (all of it, for SEIPD v1, up to `maxWhole` bytes). */
async function decryptWithOpenPgp(
  chunks: AsyncIterable<Uint8Array>,
  key: { passphrase: () => Promise<string>; sessionKey?: SessionKey },
  file: string,
  load: LoadArgon2,
  maxWhole: number,
): Promise<{ stream: Readable; sessionKey: SessionKey }> {
  const pgp = await loadOpenPgp();
  // The bound holds once the data packet is known to be read whole; past it the read stops, said so.
  const bound = { on: false, over: false };
  let read = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const c of chunks) {
      read += c.length;
      if (bound.on && read > maxWhole) {
        bound.over = true;
        throw new Error(`more than ${maxWhole} bytes`);
      }
      yield c;
    }
  }
  const tooBig = () =>
    new PhaseComposeError('problem', `${file} is encrypted with an integrity check only at its end (SEIPD v1, as \`gpg --symmetric\` writes), which would be read whole into memory: it is larger than ${maxWhole / 2 ** 20} MiB`, {
      details: [
        'archives phase-compose writes (SEIPD v2, checked chunk by chunk) are streamed at any size',
        'decrypt it with the tool that encrypted it (`gpg --decrypt FILE > plain.pcbak`) and restore the plain archive: its checksums are still checked',
        'nothing was changed',
      ],
    });
  let message;
  try {
    message = await pgp.readMessage({ binaryMessage: Readable.toWeb(Readable.from(counted(), { objectMode: false })) as ReadableStream<Uint8Array> });
  } catch (e) {
    throw bound.over ? tooBig() : damagedError(file, e);
  }
  const data = [...message.packets].find((p) => (p.constructor as { tag?: number }).tag === pgp.enums.packet.symEncryptedIntegrityProtectedData) as { version?: number } | undefined;
  bound.on = data?.version === 1;
  if (bound.on && read > maxWhole) throw tooBig();
  const keyPackets = [...message.packets.filterByTag(pgp.enums.packet.symEncryptedSessionKey)].map((p) => {
    const one = new pgp.PacketList<typeof p>();
    one.push(p);
    return Buffer.from(one.write()); // with its header, as parseKeyPacket reads it
  });
  // A v4 key packet (gpg's, sq's) carries no check of the key it yields: a wrong passphrase mostly yields a
  // cipher number or key length that does not exist (refused above as a wrong passphrase), but about 1 in
  // 100 yields a key that fails only on the data, as damage does (measured 2 in 200; until 2026-11-28 such a
  // wrong passphrase was reported as a damaged archive).
  const unchecked = !key.sessionKey && [...message.packets.filterByTag(pgp.enums.packet.symEncryptedSessionKey)].some((p) => (p as { version?: number }).version === 4);
  const sessionKey = key.sessionKey ?? (await openKey(keyPackets, key, file, load));
  try {
    const { data } = await pgp.decrypt({ message, sessionKeys: [sessionKey], format: 'binary', config: { allowUnauthenticatedStream: false } });
    return { stream: Readable.fromWeb(data as WebStream), sessionKey };
  } catch (e) {
    if (bound.over) throw tooBig();
    if (unchecked) {
      throw new PhaseComposeError('problem', `wrong passphrase for ${file}, or the archive is damaged: ${(e as Error).message}`, {
        details: ['its key packet (OpenPGP v4, as gpg writes) cannot tell the two apart; try the passphrase again before you give the archive up', 'nothing was changed'],
      });
    }
    throw damagedError(file, e);
  }
}

/** A decryption failure after the key opened: the ciphertext was altered or cut short. */
export function damagedError(file: string, e: unknown): PhaseComposeError {
  return new PhaseComposeError('problem', `the archive ${file} is damaged or truncated: ${(e as Error).message}`, {
    details: ['its authentication failed, so none of it is used; nothing was changed'],
  });
}
