// The data packet written and read by node:crypto in RFC 9580's layout, checked against OpenPGP.js both
// ways at the sizes where chunking and length framing turn over (empty, one byte, around a 256 KiB chunk
// and a 1 MiB partial length); then what must fail: a flipped byte (the chunk that holds it, nothing of it
// released), a cut at a chunk boundary (the final tag), bytes after the end, and a foreign inner packet.
import { randomBytes } from 'node:crypto';
import * as pgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { ByteReader, framePacket, lengthOctets, packetBody, readPacketHeader } from '../../../src/backup/openpgp-framing.js';
import { decryptData, encryptData, readDataHeader } from '../../../src/backup/seipd.js';

async function* pieces(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}
const collect = async (s: AsyncIterable<Uint8Array>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
};
const sessionKey = (data: Uint8Array) => ({ data, algorithm: 'aes256' as const, aeadAlgorithm: 'gcm' as const });

/** Our decryption of a data packet (no key packet before it). */
async function open(cipher: Buffer, key: Uint8Array, piece = 65_521): Promise<Buffer> {
  const r = new ByteReader(pieces(cipher, piece));
  const found = await readDataHeader(r, (await readPacketHeader(r))!);
  if (!found) throw new Error('not a data packet of our shape');
  return collect(decryptData(found, r, key));
}
/** Released before the failure, and the failure. */
async function openUntilFailure(cipher: Buffer, key: Uint8Array): Promise<{ released: number; error: Error }> {
  const r = new ByteReader(pieces(cipher, 65_536));
  const found = (await readDataHeader(r, (await readPacketHeader(r))!))!;
  let released = 0;
  try {
    for await (const b of decryptData(found, r, key)) released += b.length;
  } catch (e) {
    return { released, error: e as Error };
  }
  throw new Error('no failure');
}

const CHUNK = 1 << 18;
const SIZES = [0, 1, 100, CHUNK - 9, CHUNK - 8, CHUNK - 7, CHUNK, 2 * CHUNK - 8, (1 << 20) - 8, (1 << 20) + 3, 3 * (1 << 20) + 12_345];

describe('the data packet (SEIPD v2, AES-256-GCM)', () => {
  it.each(SIZES)('%i bytes: OpenPGP.js decrypts what it writes, and it decrypts what OpenPGP.js writes', async (n) => {
    const plain = randomBytes(n);
    const key = new Uint8Array(randomBytes(32));
    const ours = await collect(encryptData(pieces(plain, 77_777), key));
    const message = await pgp.readMessage({ binaryMessage: ours });
    const { data } = await pgp.decrypt({ message, sessionKeys: [sessionKey(key)], format: 'binary', config: { allowUnauthenticatedStream: false } });
    expect(Buffer.from(data as Uint8Array).equals(plain)).toBe(true);
    expect((await open(ours, key)).equals(plain)).toBe(true);
    const theirs = Buffer.from(
      (await pgp.encrypt({
        message: await pgp.createMessage({ binary: plain }),
        sessionKey: sessionKey(key),
        format: 'binary',
        config: { aeadProtect: true, preferredAEADAlgorithm: pgp.enums.aead.gcm, preferredSymmetricAlgorithm: pgp.enums.symmetric.aes256 },
      })) as Uint8Array,
    );
    expect((await open(theirs, key, 4096)).equals(plain)).toBe(true);
  }, 30_000);

  it('a flipped byte fails the chunk that holds it, and none of that chunk is released', async () => {
    const plain = randomBytes(3 * CHUNK);
    const key = new Uint8Array(randomBytes(32));
    const cipher = await collect(encryptData(pieces(plain, CHUNK), key));
    cipher[100 + CHUNK + 16 + 1000]! ^= 0x40; // inside the second chunk (after the header, the salt and the first chunk's tag)
    const { released, error } = await openUntilFailure(cipher, key);
    expect(error.message).toBe('chunk 2 of the data packet failed authentication');
    expect(released).toBeLessThan(CHUNK);
  });

  it('a wrong key fails the first chunk', async () => {
    const cipher = await collect(encryptData(pieces(randomBytes(1000), 100), new Uint8Array(32).fill(1)));
    await expect(open(cipher, new Uint8Array(32).fill(2))).rejects.toThrow('chunk 1 of the data packet failed authentication');
  });

  it('a message cut at a chunk boundary and framed again fails at its final tag; a cut inside a frame is "cut short"', async () => {
    const plain = randomBytes(3 * CHUNK);
    const key = new Uint8Array(randomBytes(32));
    const cipher = await collect(encryptData(pieces(plain, CHUNK), key));
    const r = new ByteReader(pieces(cipher, 1 << 16));
    const body = await collect(packetBody(r, (await readPacketHeader(r))!, 'x'));
    // Header (4) and salt (32), then two whole sealed chunks, then the first chunk's tag again as if it were the final one.
    const twoChunks = body.subarray(0, 36 + 2 * (CHUNK + 16));
    const reframed = await collect(framePacket(18, pieces(Buffer.concat([twoChunks, body.subarray(36 + CHUNK, 36 + CHUNK + 16)]), 1 << 16)));
    const { released, error } = await openUntilFailure(reframed, key);
    expect(error.message).toMatch(/final tag of the data packet failed authentication/);
    expect(released).toBeLessThanOrEqual(2 * CHUNK);
    await expect(open(cipher.subarray(0, cipher.length - 100), key)).rejects.toThrow(/cut short \(truncated\)/);
    // Framed whole, but too short to end in a tag: 10 bytes after the salt, or 20 after the first chunk.
    for (const rest of [body.subarray(0, 46), body.subarray(0, 36 + CHUNK + 16 + 20)]) {
      const short = await collect(framePacket(18, pieces(rest, 1 << 16)));
      await expect(open(short, key)).rejects.toThrow('the data packet is cut short (truncated)');
    }
  });

  it('bytes after the message, and a packet inside it other than literal data, are refused', async () => {
    const key = new Uint8Array(randomBytes(32));
    const cipher = await collect(encryptData(pieces(randomBytes(1000), 100), key));
    await expect(open(Buffer.concat([cipher, Buffer.from([0xc0 | 21, 1, 0])]), key)).rejects.toThrow('bytes follow the end of the encrypted message');
    // A compressed packet (tag 8) encrypted by OpenPGP.js: opened by it, refused by name here.
    const compressed = Buffer.from(
      (await pgp.encrypt({
        message: await pgp.createMessage({ binary: randomBytes(1000) }),
        sessionKey: sessionKey(key),
        format: 'binary',
        config: { aeadProtect: true, preferredAEADAlgorithm: pgp.enums.aead.gcm, preferredCompressionAlgorithm: pgp.enums.compression.zlib },
      })) as Uint8Array,
    );
    await expect(open(compressed, key)).rejects.toThrow('the encrypted message holds a packet with tag 8, not literal data (tag 11)');
  });
});

describe('packet framing', () => {
  it.each([
    [0, '00'], [191, 'bf'], [192, 'c000'], [8383, 'dfff'], [8384, 'ff000020c0'], [2 ** 20, 'ff00100000'],
  ])('a body of %i bytes has the length octets %s', (n, hex) => {
    expect(lengthOctets(n).toString('hex')).toBe(hex);
  });

  it.each([0, 511, 1 << 20, (1 << 20) + 1, 3 << 20])('a body of %i bytes framed and read back (parts of 2^20 with partial lengths)', async (n) => {
    const body = randomBytes(n);
    const framed = await collect(framePacket(11, pieces(body, 100_003)));
    const parts = Math.floor(n / (1 << 20)) - (n && n % (1 << 20) === 0 ? 1 : 0);
    expect(framed.length - n).toBe(1 + parts + lengthOctets(n - parts * (1 << 20)).length);
    const r = new ByteReader(pieces(framed, 4099));
    const h = (await readPacketHeader(r))!;
    expect([h.tag, h.partial]).toEqual([11, parts > 0]);
    expect((await collect(packetBody(r, h, 'x'))).equals(body)).toBe(true);
    expect(await r.atEnd()).toBe(true);
  });

  it('reads legacy headers: one-, two-, four-octet and indeterminate lengths', async () => {
    const read = async (bytes: number[]) => {
      const r = new ByteReader(pieces(Buffer.from(bytes), 1));
      const h = (await readPacketHeader(r))!;
      return [h.tag, h.length, (await collect(packetBody(r, h, 'x'))).length];
    };
    expect(await read([0x80 | (11 << 2), 2, 7, 7])).toEqual([11, 2, 2]);
    expect(await read([0x80 | (11 << 2) | 1, 0, 1, 7])).toEqual([11, 1, 1]);
    expect(await read([0x80 | (3 << 2) | 2, 0, 0, 0, 1, 7])).toEqual([3, 1, 1]);
    expect(await read([0x80 | (8 << 2) | 3, 1, 2, 3])).toEqual([8, undefined, 3]);
    await expect(readPacketHeader(new ByteReader(pieces(Buffer.from([0x41]), 1)))).rejects.toThrow(/without its high bit/);
  });
});
