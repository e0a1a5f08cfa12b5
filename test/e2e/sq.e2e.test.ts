// Interoperability: the encrypted archive is plain RFC 9580 OpenPGP, so a second implementation opens it.
// Sequoia's sq 1.3 (sequoia-openpgp 2.0; Debian 13's, fetched and cached by scripts/testbed.sh, which
// prints its path as PHASE_COMPOSE_SQ) decrypts an archive as `backup` writes it (the key packet made with
// @node-rs/argon2, the data packet by node:crypto in ./src/backup/seipd.ts) with the passphrase alone,
// refuses a wrong one, and parses both packets, and the literal data inside, field by field as RFC 9580
// lays them out. The other way, what sq encrypts with a password
// (sq 1.3 writes RFC 4880's packets for passwords, whatever --profile says) decryptStream opens, through
// OpenPGP.js. Never skipped: without sq it fails.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pgp from 'openpgp';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, FORMAT, MANIFEST_MEMBER, META_MEMBER, dumpChunkName, type BackupMeta } from '../../src/backup/archive.js';
import { decryptStream } from '../../src/backup/crypto.js';
import { countingArgon2, writeArchive } from '../unit/backup/archive-helpers.js';

const sq = process.env.PHASE_COMPOSE_SQ;
const dir = mkdtempSync(join(tmpdir(), 'pc-sq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { env: { ...process.env, HOME: dir }, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr?.toString('utf8') ?? '' };
};
const passFile = (name: string, pass: string) => {
  const f = join(dir, name);
  writeFileSync(f, pass, { mode: 0o600 }); // sq takes the whole file as the password: no newline
  return f;
};
const collect = async (s: AsyncIterable<Uint8Array>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
};

describe('an archive and Sequoia sq (a second RFC 9580 implementation)', () => {
  it('sq is there (scripts/testbed.sh prints PHASE_COMPOSE_SQ)', () => {
    expect(sq, 'PHASE_COMPOSE_SQ is not set: start the test bed with scripts/testbed.sh').toBeTruthy();
    const v = run(sq!, ['version']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr + v.stdout.toString()).toMatch(/sequoia-openpgp 2\./);
  });

  const meta: BackupMeta = {
    format: FORMAT, created: '2026-11-27T23:00:00.000Z', project: 'p', spec: 'phase-compose.yaml', env: { files: ['.env'] }, generated: [],
    postgres: { version: '15.4', database: 'phase' }, images: [], migrations: [],
  };
  const dump = randomBytes(CHUNK_BYTES + 4321);
  const archive = join(dir, 'a.pcbak');
  let sessionKey: Uint8Array | undefined;

  it('sq decrypts an archive as backup writes it, with the passphrase alone: every member and dump byte', async () => {
    sessionKey = (await writeArchive(archive, meta, dump, 'correct horse battery'))?.data;
    const tar = join(dir, 'a.tar');
    const d = run(sq!, ['decrypt', '--password-file', passFile('pw', 'correct horse battery'), '--output', tar, archive]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/AES-256\/GCM/);
    const names = run('tar', ['-tf', tar]).stdout.toString().trim().split('\n');
    expect(names).toEqual([META_MEMBER, 'stack/.env', dumpChunkName(1), dumpChunkName(2), MANIFEST_MEMBER]);
    const member = (n: string) => run('tar', ['-xOf', tar, n]).stdout as Buffer;
    expect(member('stack/.env').toString()).toBe('SECRET_KEY=k\n');
    expect(Buffer.concat([member(dumpChunkName(1)), member(dumpChunkName(2))]).equals(dump)).toBe(true);
  }, 60_000);

  it('sq refuses the archive with a wrong passphrase, and writes nothing', () => {
    const out = join(dir, 'wrong.tar');
    const d = run(sq!, ['decrypt', '--password-file', passFile('wrong', 'correct horse batterY'), '--output', out, archive]);
    expect(d.code).not.toBe(0);
    expect(existsSync(out) ? readFileSync(out).length : 0).toBe(0);
  }, 60_000);

  it('sq parses the key packet as RFC 9580 lays it out: v6, AES-256, GCM, Argon2 with 3 passes, 4 lanes, 2^16 KiB; then a v2 data packet, AES-256, GCM, 256 KiB chunks, around binary literal data', () => {
    const d = run(sq!, ['packet', 'dump', archive]);
    expect(d.code, d.stderr).toBe(0);
    const text = d.stdout.toString();
    const skesk = text.slice(0, text.indexOf('Sym. Encrypted and Integrity Protected Data Packet'));
    for (const line of ['Symmetric-Key Encrypted Session Key Packet, new CTB, 85 bytes', 'Version: 6', 'Symmetric algo: AES-256', 'AEAD: GCM', 'S2K: Argon2', 'Passes: 3', 'Parallelism: 4', 'Memory: 16 (65536 KiB)']) {
      expect(skesk).toContain(line);
    }
    expect(text.slice(skesk.length)).toMatch(/^Sym\. Encrypted and Integrity Protected Data Packet[^\n]*\n\s+Version: 2\n\s+Symmetric algo: AES-256\n\s+AEAD algo: GCM\n\s+Chunk size: 262144\n/);
    // With the session key, sq decrypts the data packet itself and parses what is inside.
    expect(sessionKey?.length).toBe(32);
    const inner = run(sq!, ['packet', 'dump', '--session-key', `9:${Buffer.from(sessionKey!).toString('hex')}`, archive]);
    expect(inner.code, inner.stderr).toBe(0);
    expect(inner.stdout.toString()).toMatch(/Decryption successful[\s\S]*Literal Data Packet[^\n]*\n\s+Format: Binary data\n/);
  }, 60_000);

  it('what sq encrypts with a password (sq 1.3 writes a v4 key packet, iterated S2K, and a v1 data packet) decryptStream opens, by OpenPGP.js', async () => {
    const plain = randomBytes(1 << 20);
    const plainFile = join(dir, 'plain.bin');
    writeFileSync(plainFile, plain);
    const c = join(dir, 'sq.pgp');
    const e = run(sq!, ['encrypt', '--without-signature', '--with-password-file', passFile('pw2', 'sq password here'), '--binary', '--output', c, plainFile]);
    expect(e.code, e.stderr).toBe(0);
    const key = (await pgp.readMessage({ binaryMessage: readFileSync(c) })).packets[0] as unknown as { version: number; s2k: { type: string } };
    expect([key.version, key.s2k.type]).toEqual([4, 'iterated']);
    const a2 = countingArgon2();
    const { stream } = await decryptStream(createReadStream(c), { passphrase: async () => 'sq password here' }, c, a2.load);
    expect((await collect(stream)).equals(plain)).toBe(true);
    expect(a2.hashes()).toBe(0);
    await expect(decryptStream(createReadStream(c), { passphrase: async () => 'not it' }, c)).rejects.toThrow(`wrong passphrase for ${c}`);
  }, 60_000);
});
