// The archive's encryption, made in two parts (the key packet by @node-rs/argon2, the data packet at once):
// what it writes is one standard OpenPGP message that the passphrase alone opens (OpenPGP.js's own Argon2
// opens it too), the data does not wait for the key packet, and a key packet that fails fails the stream.
// Opening: our key packets by @node-rs/argon2, any other by OpenPGP.js, and none that asks for unbounded work.
import { randomBytes } from 'node:crypto';
import * as pgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { decryptStream, encryptStream, keyPacketArgon2, wrapKeyWith, type LoadArgon2, type SessionKey, type WrapKey } from '../../../src/backup/crypto.js';
import { PhaseComposeError } from '../../../src/util/errors.js';
import { countingArgon2 } from './archive-helpers.js';

async function* source(bytes: Buffer, piece: number, onEnd?: () => void): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += piece) yield bytes.subarray(i, i + piece);
  onEnd?.();
}

const collect = async (s: AsyncIterable<Uint8Array>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
};

describe('encryptStream', () => {
  it('writes one OpenPGP message: an Argon2 key packet (v6) then the AEAD data packet (v2), opened by the passphrase alone', async () => {
    const plain = randomBytes(3 << 20);
    const { stream } = await encryptStream(source(plain, 1 << 16), 'correct horse');
    const cipher = await collect(stream);
    const message = await pgp.readMessage({ binaryMessage: cipher });
    const packets = [...message.packets].map((p) => p.constructor.name);
    expect(packets).toEqual(['SymEncryptedSessionKeyPacket', 'SymEncryptedIntegrityProtectedDataPacket']);
    const skesk = message.packets[0] as unknown as { version: number; s2k: { type: string } };
    expect(skesk.version).toBe(6);
    expect(skesk.s2k.type).toBe('argon2');
    expect((message.packets[1] as unknown as { version: number }).version).toBe(2);
    const { data } = await pgp.decrypt({ message, passwords: ['correct horse'], format: 'binary' });
    expect(Buffer.from(data as Uint8Array).equals(plain)).toBe(true);
    await expect(pgp.decrypt({ message: await pgp.readMessage({ binaryMessage: cipher }), passwords: ['wrong'], format: 'binary' })).rejects.toThrow();
  }, 30_000);

  it('the data is encrypted while the key packet is still being made (it is written first all the same)', async () => {
    const plain = randomBytes(3 << 20);
    let release!: () => void;
    let sourceEnded = false;
    let keyAsked: SessionKey | undefined;
    // The key packet is made only once the whole source has been read: an encryption that waited for it
    // before reading would never end.
    const slowWrap: WrapKey = (key, passphrase) => {
      keyAsked = key;
      const gate = new Promise<void>((res) => (release = res));
      return { packet: gate.then(() => wrapKeyWith()(key, passphrase).packet), cancel: () => undefined };
    };
    const { stream, sessionKey } = await encryptStream(source(plain, 1 << 16, () => ((sourceEnded = true), release())), 'pass', slowWrap);
    expect(keyAsked).toBe(sessionKey);
    const cipher = await collect(stream);
    expect(sourceEnded).toBe(true);
    const message = await pgp.readMessage({ binaryMessage: cipher });
    expect(message.packets[0]!.constructor.name).toBe('SymEncryptedSessionKeyPacket');
    const { data } = await pgp.decrypt({ message, passwords: ['pass'], format: 'binary' });
    expect(Buffer.from(data as Uint8Array).equals(plain)).toBe(true);
  }, 30_000);

  it('a key packet that fails fails the stream, and its work is cancelled', async () => {
    let cancelled = 0;
    const failing: WrapKey = () => ({ packet: Promise.reject(new Error('the passphrase\'s key packet: boom')), cancel: () => void cancelled++ });
    const { stream } = await encryptStream(source(randomBytes(1 << 20), 1 << 16), 'pass', failing);
    await expect(collect(stream)).rejects.toThrow(/key packet: boom/);
    expect(cancelled).toBe(1);
  });
});

const newKey = (): SessionKey => ({ data: new Uint8Array(randomBytes(32)), algorithm: 'aes256', aeadAlgorithm: 'gcm' });

describe('wrapKeyWith', () => {
  it('@node-rs/argon2 wraps the session key in an 87-byte v6 key packet that OpenPGP.js opens with the passphrase, and only it', async () => {
    const key = newKey();
    const a2 = countingArgon2();
    const packet = await wrapKeyWith(a2.load)(key, 'correct horse').packet;
    expect(a2.hashes()).toBe(1);
    expect(packet.length).toBe(87);
    const message = await pgp.readMessage({ binaryMessage: packet });
    const k = message.packets[0] as unknown as { version: number; s2k: { type: string; t: number; p: number; encodedM: number } };
    expect([k.version, k.s2k.type, k.s2k.t, k.s2k.p, k.s2k.encodedM]).toEqual([6, 'argon2', 3, 4, 16]);
    // OpenPGP.js's own (WASM) Argon2 derives the same key from it.
    const [got] = await pgp.decryptSessionKeys({ message, passwords: ['correct horse'] });
    expect(Buffer.from(got!.data).equals(Buffer.from(key.data))).toBe(true);
    await expect(pgp.decryptSessionKeys({ message, passwords: ['wrong'] })).rejects.toThrow();
  }, 30_000);

  it('where @node-rs/argon2 does not load, OpenPGP.js makes the packet', async () => {
    const key = newKey();
    const packet = await wrapKeyWith(async () => undefined)(key, 'p').packet;
    const message = await pgp.readMessage({ binaryMessage: packet });
    const [got] = await pgp.decryptSessionKeys({ message, passwords: ['p'] });
    expect(Buffer.from(got!.data).equals(Buffer.from(key.data))).toBe(true);
  }, 30_000);

  it('a wrap cancelled while Argon2 runs reports no packet', async () => {
    const w = wrapKeyWith()(newKey(), 'p');
    w.cancel();
    await expect(w.packet).rejects.toThrow(/cancelled/);
  });
});

const cipherOf = async (plain: Buffer, passphrase: string, config?: Partial<pgp.Config>): Promise<Buffer> => {
  const message = await pgp.createMessage({ binary: plain });
  return Buffer.from((await pgp.encrypt({ message, passwords: [passphrase], format: 'binary', config: { aeadProtect: true, preferredAEADAlgorithm: pgp.enums.aead.gcm, s2kType: pgp.enums.s2k.argon2, ...config } })) as Uint8Array);
};
const open = async (cipher: Buffer, passphrase: string, load?: LoadArgon2) =>
  collect((await decryptStream(Readable.from([cipher]), { passphrase: async () => passphrase }, 'f.pcbak', load)).stream);

describe('decryptStream', () => {
  const plain = randomBytes(100_000);

  it('opens a v6 Argon2 key packet (as OpenPGP.js writes it) with @node-rs/argon2, once', async () => {
    const a2 = countingArgon2();
    expect((await open(await cipherOf(plain, 'pw'), 'pw', a2.load)).equals(plain)).toBe(true);
    expect(a2.hashes()).toBe(1);
  }, 30_000);

  it('a wrong passphrase is refused as such: by @node-rs/argon2, and by OpenPGP.js (a v4 key packet; no @node-rs/argon2)', async () => {
    const v4 = await cipherOf(plain, 'pw', { aeadProtect: false, s2kType: pgp.enums.s2k.iterated });
    for (const [cipher, load] of [[await cipherOf(plain, 'pw'), undefined], [v4, undefined], [await cipherOf(plain, 'pw'), async () => undefined]] as const) {
      const e = await open(cipher, 'not it', load).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PhaseComposeError);
      // A v4 key packet checks nothing: about 1 wrong passphrase in 100 fails on the data instead, said so.
      if (cipher === v4) expect((e as Error).message).toMatch(/^wrong passphrase for f\.pcbak(, or the archive is damaged: .*)?$/);
      else expect((e as Error).message).toBe('wrong passphrase for f.pcbak');
    }
  }, 30_000);

  it('a v4 key packet whose data fails names both causes: it cannot tell a wrong passphrase from damage', async () => {
    // Until 2026-11-28 this said "damaged" alone, also for the 1 in 100 wrong passphrases that get this far.
    const v4 = await cipherOf(plain, 'pw', { aeadProtect: false, s2kType: pgp.enums.s2k.iterated });
    const damaged = Buffer.from(v4);
    damaged[damaged.length - 30]! ^= 0x01; // in the data, before its MDC
    const e = (await open(damaged, 'pw').catch((x: unknown) => x)) as PhaseComposeError;
    expect(e.message).toMatch(/^wrong passphrase for f\.pcbak, or the archive is damaged: .*Modification detected/);
    expect(e.details).toContain('its key packet (OpenPGP v4, as gpg writes) cannot tell the two apart; try the passphrase again before you give the archive up');
    // Our own key packets (v6, Argon2) check the key: damage there is damage.
    const v6 = Buffer.from(await cipherOf(plain, 'pw'));
    v6[v6.length - 30]! ^= 0x01;
    const six = ((await open(v6, 'pw').catch((x: unknown) => x)) as Error).message;
    expect(six).toMatch(/failed authentication/);
    expect(six).not.toMatch(/passphrase/);
  }, 30_000);

  it('other key packets (v4, iterated and salted S2K, as gpg writes) and a missing @node-rs/argon2 go to OpenPGP.js', async () => {
    const a2 = countingArgon2();
    const v4 = await cipherOf(plain, 'pw', { aeadProtect: false, s2kType: pgp.enums.s2k.iterated });
    expect((await open(v4, 'pw', a2.load)).equals(plain)).toBe(true);
    // The cipher a v4 key packet names is the data's, AES-128 here.
    const aes128 = await cipherOf(plain, 'pw', { aeadProtect: false, s2kType: pgp.enums.s2k.iterated, preferredSymmetricAlgorithm: pgp.enums.symmetric.aes128 });
    expect((await open(aes128, 'pw', a2.load)).equals(plain)).toBe(true);
    expect(a2.hashes()).toBe(0);
    expect((await open(await cipherOf(plain, 'pw'), 'pw', async () => undefined)).equals(plain)).toBe(true);
  }, 30_000);

  it('a message checked only at its end (SEIPD v1, as gpg writes) is refused past its bound, not read whole into memory', async () => {
    // Until 2026-11-29 OpenPGP.js held any such message whole (+300 MiB for a 96 MiB archive).
    const v1 = await cipherOf(plain, 'pw', { aeadProtect: false, s2kType: pgp.enums.s2k.iterated });
    const at = (max: number) => decryptStream(Readable.from([v1.subarray(0, 4096), v1.subarray(4096)]), { passphrase: async () => 'pw' }, 'f.pcbak', undefined, max).then((r) => collect(r.stream));
    const e = (await at(50_000).catch((x: unknown) => x)) as PhaseComposeError;
    expect(e).toBeInstanceOf(PhaseComposeError);
    expect(e.message).toMatch(/^f\.pcbak is encrypted with an integrity check only at its end \(SEIPD v1, as `gpg --symmetric` writes\), which would be read whole into memory/);
    expect(e.details).toContain('nothing was changed');
    expect((await at(200_000)).equals(plain)).toBe(true); // under the bound: read as before
    // A message checked chunk by chunk (AEAD, here OCB as sq may write) is streamed whatever its size.
    const ocb = await cipherOf(plain, 'pw', { preferredAEADAlgorithm: pgp.enums.aead.ocb });
    expect((await decryptStream(Readable.from([ocb]), { passphrase: async () => 'pw' }, 'f.pcbak', undefined, 1000).then((r) => collect(r.stream))).equals(plain)).toBe(true);
  }, 30_000);

  it('refuses, as damage and before any Argon2, a message with more than 16 key packets (ours, and OpenPGP.js\'s)', async () => {
    const a2 = countingArgon2();
    const cipher = await cipherOf(plain, 'pw');
    const many = Buffer.concat([...Array<Buffer>(17).fill(cipher.subarray(0, 87)), cipher.subarray(87)]);
    // And a v4 key packet (1 octet of length after 0xC3) before a v1 data packet: the message OpenPGP.js reads.
    const v4 = await cipherOf(plain, 'pw', { aeadProtect: false, s2kType: pgp.enums.s2k.iterated });
    const k4 = v4.subarray(0, 2 + v4[1]!);
    for (const data of [many, Buffer.concat([...Array<Buffer>(17).fill(k4), v4.subarray(k4.length)])]) {
      const e = await open(data, 'pw', a2.load).catch((x: unknown) => x);
      expect((e as Error).message).toMatch(/damaged or truncated: it has 17 key packets \(an archive has one; at most 16 are tried\)/);
    }
    expect(a2.hashes()).toBe(0);
  }, 30_000);

  it('refuses, as damage and before any Argon2, a key packet that asks for more than 2 GiB', async () => {
    const a2 = countingArgon2();
    const cipher = await cipherOf(plain, 'pw');
    // The key packet: 0xC3, length, version, count, cipher, AEAD, S2K length, S2K type 4, 16 salt, t, p, m.
    expect([cipher[0], cipher[7]]).toEqual([0xc3, 4]);
    cipher[26] = 22;
    const e = await open(cipher, 'pw', a2.load).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/damaged or truncated: its key packet asks Argon2 for 3 passes, 4 lanes and 2\^22 KiB/);
    expect(a2.hashes()).toBe(0);
  }, 30_000);

  it('refuses the same under an old-format header, and a v4 key packet asking too much (not only ours were checked)', async () => {
    // Until 2026-11-28 a key packet not byte for byte ours went to OpenPGP.js's Argon2 unchecked: 0x8C 0x55
    // (the old header of tag 3, one octet of length) with 11 passes was opened.
    const a2 = countingArgon2();
    const cipher = await cipherOf(plain, 'pw');
    cipher[0] = 0x8c;
    cipher[24] = 11;
    const e = await open(cipher, 'pw', a2.load).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/damaged or truncated: its key packet asks Argon2 for 11 passes, 4 lanes and 2\^16 KiB/);
    // A v4 key packet with an Argon2 S2K (version, cipher, S2K type 4, salt, t, p, m), new and old headers.
    const body = Buffer.concat([Buffer.from([4, 9, 4]), Buffer.alloc(16), Buffer.from([1, 4, 31])]);
    for (const head of [[0xc3, body.length], [0x8c, body.length], [0x8d, 0, body.length]]) {
      expect(keyPacketArgon2(Buffer.concat([Buffer.from(head), body]))).toEqual({ t: 1, p: 4, encodedM: 31 });
    }
    expect(keyPacketArgon2(Buffer.from([0xc3, 4, 4, 9, 3, 2]))).toBeNull(); // iterated and salted
    expect(keyPacketArgon2(Buffer.from([0xc3, 3, 7, 9, 4]))).toBeUndefined(); // version 7
    expect(a2.hashes()).toBe(0);
  }, 30_000);

  it('refuses, as damage, a flipped bit in either length octet of the key packet (OpenPGP.js skips both)', async () => {
    // Until 2026-11-29 such a packet was not ours byte for byte, went to OpenPGP.js, and opened: one
    // damaged octet of the archive was accepted.
    const cipher = await cipherOf(plain, 'pw');
    expect([cipher[3], cipher[6]]).toEqual([35, 20]); // the count of the next five fields' octets; the S2K's length
    for (const at of [3, 6]) {
      for (const bit of [0x01, 0x10]) {
        const flipped = Buffer.from(cipher);
        flipped[at]! ^= bit;
        const e = await open(flipped, 'pw').catch((x: unknown) => x);
        expect((e as Error).message, `octet ${at} ^ ${bit}`).toMatch(/damaged or truncated: its key packet cannot be read/);
      }
    }
    // The packet as written reads back.
    expect(keyPacketArgon2(cipher.subarray(0, 87))).toEqual({ t: 3, p: 4, encodedM: 16 });
  }, 60_000);
});
