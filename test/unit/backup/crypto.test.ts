// The archive's encryption, made in two parts (the key packet in a worker thread, the data packet at once):
// what it writes is one standard OpenPGP message that the passphrase alone opens, the data does not wait
// for the key packet, and a key packet that fails fails the stream.
import { randomBytes } from 'node:crypto';
import * as pgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { encryptStream, wrapKeyInWorker, type SessionKey, type WrapKey } from '../../../src/backup/crypto.js';

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
      return { packet: gate.then(() => wrapKeyInWorker(key, passphrase).packet), cancel: () => undefined };
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

describe('wrapKeyInWorker', () => {
  it('wraps the session key so that the passphrase, and only it, unwraps it', async () => {
    const key: SessionKey = { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256', aeadAlgorithm: 'gcm' };
    const packet = await wrapKeyInWorker(key, 'correct horse').packet;
    const message = await pgp.readMessage({ binaryMessage: packet });
    const [got] = await pgp.decryptSessionKeys({ message, passwords: ['correct horse'] });
    expect(Buffer.from(got!.data).equals(Buffer.from(key.data))).toBe(true);
    await expect(pgp.decryptSessionKeys({ message, passwords: ['wrong'] })).rejects.toThrow();
  }, 30_000);

  it('a cancelled wrap ends its worker and reports no packet', async () => {
    const key: SessionKey = { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256', aeadAlgorithm: 'gcm' };
    const w = wrapKeyInWorker(key, 'p');
    w.cancel();
    await expect(w.packet).rejects.toThrow(/worker exited/);
  });
});
