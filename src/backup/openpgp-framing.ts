// OpenPGP packet framing (RFC 9580 section 4.2) for streams: a packet's header and lengths, read and
// written, with partial body lengths for a body whose length is not known in advance. No cryptography
// here; ./seipd.ts puts the data packet's encryption inside these frames.

/** A byte source read in exact amounts; at most what one call asks for is held. */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private ended = false;
  /** Bytes handed out so far (less those put back). */
  position = 0;

  constructor(src: AsyncIterable<Uint8Array>) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** Puts bytes back in front of what is left. */
  unshift(b: Buffer): void {
    if (!b.length) return;
    this.held.unshift(b);
    this.heldBytes += b.length;
    this.position -= b.length;
  }

  private async fill(n: number): Promise<void> {
    while (this.heldBytes < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else if (r.value.length) {
        const v = r.value;
        this.held.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
        this.heldBytes += v.length;
      }
    }
  }

  /** Up to `n` bytes as views of what was read (no copy): fewer only at the end of the source. */
  async take(n: number): Promise<Buffer[]> {
    await this.fill(n);
    const out: Buffer[] = [];
    let want = Math.min(n, this.heldBytes);
    this.heldBytes -= want;
    this.position += want;
    while (want > 0) {
      const b = this.held[0]!;
      if (b.length <= want) {
        out.push(b);
        this.held.shift();
        want -= b.length;
      } else {
        out.push(b.subarray(0, want));
        this.held[0] = b.subarray(want);
        want = 0;
      }
    }
    return out;
  }

  /** Up to `n` bytes in one buffer: fewer only at the end of the source. */
  async upTo(n: number): Promise<Buffer> {
    const parts = await this.take(n);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Exactly `n` bytes; throws "truncated" when the source ends first. */
  async exact(n: number, what: string): Promise<Buffer> {
    const b = await this.upTo(n);
    if (b.length < n) throw new Error(`${what} is cut short (truncated)`);
    return b;
  }

  /** The next `n` bytes as they arrive, in pieces of at most `piece`; throws when the source ends first. */
  async *pieces(n: number, what: string, piece = 1 << 20): AsyncGenerator<Buffer> {
    for (let left = n; left > 0; ) {
      const parts = await this.take(Math.min(left, piece));
      if (!parts.length) throw new Error(`${what} is cut short (truncated)`);
      for (const b of parts) {
        left -= b.length;
        yield b;
      }
    }
  }

  /** True when nothing is left. */
  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.heldBytes === 0;
  }
}

/** The bytes in `views`, together. */
export const byteLength = (views: readonly Uint8Array[]): number => views.reduce((a, b) => a + b.length, 0);

/** A packet's tag, and its first length (partial: one part of a body that goes on; undefined: to the end of the source). */
export type PacketHeader = { tag: number; length: number | undefined; partial: boolean };

/** A body length in the packet format's one, two or five octets (RFC 9580 section 4.2.1.1-3). */
export function lengthOctets(n: number): Buffer {
  if (n < 192) return Buffer.from([n]);
  if (n < 8384) return Buffer.from([((n - 192) >> 8) + 192, (n - 192) & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xff;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Reads a length in the packet format (after the tag octet). */
async function readLength(r: ByteReader, what: string): Promise<{ length: number; partial: boolean }> {
  const [a] = await r.exact(1, what);
  if (a! < 192) return { length: a!, partial: false };
  if (a! < 224) return { length: ((a! - 192) << 8) + (await r.exact(1, what))[0]! + 192, partial: false };
  if (a! < 255) return { length: 2 ** (a! & 0x1f), partial: true };
  return { length: (await r.exact(4, what)).readUInt32BE(0), partial: false };
}

/** Reads a packet's header in either format (legacy headers: RFC 9580 section 4.2.2); undefined at the source's end. */
export async function readPacketHeader(r: ByteReader): Promise<PacketHeader | undefined> {
  const first = await r.upTo(1);
  if (!first.length) return undefined;
  const b = first[0]!;
  if (!(b & 0x80)) throw new Error(`a packet header octet without its high bit (0x${b.toString(16)})`);
  if (b & 0x40) return { tag: b & 0x3f, ...(await readLength(r, 'a packet header')) };
  const kind = b & 3;
  const tag = (b >> 2) & 0x0f;
  if (kind === 3) return { tag, length: undefined, partial: false };
  const n = (await r.exact([1, 2, 4][kind]!, 'a packet header')).readUIntBE(0, [1, 2, 4][kind]!);
  return { tag, length: n, partial: false };
}

/** A packet's body, read in pieces as it arrives, through every partial length to the last part. */
export async function* packetBody(r: ByteReader, h: PacketHeader, what: string): AsyncGenerator<Buffer> {
  if (h.length === undefined) {
    for (let parts = await r.take(1 << 20); parts.length; parts = await r.take(1 << 20)) yield* parts;
    return;
  }
  let part = { length: h.length, partial: h.partial };
  for (;;) {
    yield* r.pieces(part.length, what);
    if (!part.partial) return;
    part = await readLength(r, what);
  }
}

/** Partial body parts written: 2^20 bytes each (the first must be at least 512; RFC 9580 section 4.2.1.4). */
const PART_LOG2 = 20;
const PART = 1 << PART_LOG2;

/**
 * A packet (in the current format) around a body of unknown length: parts of PART bytes with partial
 * lengths, then the rest with its length. A body shorter than PART gets one plain length.
 */
export async function* framePacket(tag: number, body: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  yield Buffer.from([0xc0 | tag]);
  const q = new ByteReader(body);
  for (;;) {
    const part = await q.take(PART);
    const n = byteLength(part);
    const last = n < PART || (await q.atEnd());
    yield last ? lengthOctets(n) : Buffer.from([224 + PART_LOG2]);
    yield* part;
    if (last) return;
  }
}
