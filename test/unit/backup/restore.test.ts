import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import type { DockerClient } from '../../../src/docker/client.js';
import { appContainers, checkBackupFile, checkedPieces, dumpDigests, pgRestoreArgv, startOrder, startWaves, withStopped, withoutFinalCommit } from '../../../src/backup/restore.js';
import { createHash, randomBytes } from 'node:crypto';
import { PhaseComposeError } from '../../../src/util/errors.js';
import { AGAIN_GAP_MS } from '../../../src/util/signals.js';
import { demoSpec } from '../up/demo-spec.js';

const c = (service: string, state: string, role?: string) =>
  ({ Id: service, State: state, Names: [`/p_${service}_1`], Labels: { 'com.docker.compose.service': service, ...(role ? { 'dev.phase-compose.role': role } : {}) } }) as unknown as ContainerInfo;

describe('restore', () => {
  it('names why a backup file cannot be used: missing (or under a file) is a usage error, a loop says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-restore-file-'));
    try {
      writeFileSync(join(dir, 'plain'), 'x');
      symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
      const err = (f: string) => {
        try {
          checkBackupFile(f);
          return undefined;
        } catch (e) {
          return [(e as PhaseComposeError).kind, (e as Error).message];
        }
      };
      expect(err(join(dir, 'plain'))).toBeUndefined();
      expect(err(join(dir, 'nothing'))).toEqual(['usage', `no backup file ${join(dir, 'nothing')}`]);
      expect(err(join(dir, 'plain', 'x'))).toEqual(['usage', `no backup file ${join(dir, 'plain', 'x')}`]);
      expect(err(dir)?.[0]).toBe('usage');
      expect(err(join(dir, 'loop'))?.[0]).toBe('problem');
      expect(err(join(dir, 'loop'))?.[1]).toMatch(/^cannot read .*loop: ELOOP/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops only running non-data containers', () => {
    const all = [c('postgres', 'running', 'data'), c('redis', 'running'), c('backend', 'running'), c('worker', 'running'), c('migrations', 'exited', 'migrations'), c('nginx', 'running')];
    expect(appContainers(all).map((x) => x.Id)).toEqual(['backend', 'worker', 'nginx']);
  });

  it('starts in dependency order (backend before the proxy, unknown services last) so stops run in reverse', () => {
    const running = [c('nginx', 'running'), c('stray', 'running'), c('worker', 'running'), c('backend', 'running'), c('migrations-post', 'running')];
    const order = startOrder(demoSpec, running).map((x) => x.Id);
    expect(order.indexOf('backend')).toBeLessThan(order.indexOf('nginx'));
    expect(order.indexOf('backend')).toBeLessThan(order.indexOf('migrations-post'));
    expect(order.at(-1)).toBe('stray');
    expect(order).toHaveLength(5);
    // Waves: what depends on nothing still stopped starts together; unknown services come last, together.
    const waves = startWaves(demoSpec, running).map((w) => w.map((x) => x.Id));
    expect(waves.flat()).toEqual(order);
    expect(waves.findIndex((w) => w.includes('backend'))).toBeLessThan(waves.findIndex((w) => w.includes('nginx')));
    expect(waves.at(-1)).toEqual(['stray']);
  });

  it('restores all or nothing (one transaction, stop at the first error), dropping what exists', () => {
    const argv = pgRestoreArgv('u', 'd');
    expect(argv[0]).toBe('pg_restore');
    expect(argv).toEqual(expect.arrayContaining(['--single-transaction', '--exit-on-error', '--clean', '--if-exists', '--no-owner']));
  });

  it('passes hostile user and database names as one argv element each, right after their flag', () => {
    const user = '-x; rm -rf / "$(id)"';
    const db = "--clean d'b";
    const argv = pgRestoreArgv(user, db);
    expect(argv[argv.indexOf('-U') + 1]).toBe(user);
    expect(argv[argv.indexOf('-d') + 1]).toBe(db);
    expect(argv.filter((a) => a === user || a === db)).toHaveLength(2);
  });

  describe('withStopped', () => {
    /** A Docker whose stops wait until released; every call is recorded. */
    const fakeDocker = (failStop?: string, failStart?: string) => {
      const calls: string[] = [];
      const pending: Array<() => void> = [];
      const docker = {
        getContainer: (id: string) => ({
          stop: () => {
            calls.push(`stop ${id}`);
            return new Promise<void>((res, rej) => pending.push(() => (id === failStop ? rej(new Error(`cannot stop ${id}`)) : res())));
          },
          start: async () => {
            calls.push(`start ${id}`);
            if (id === failStart) throw new Error(`No such container: ${id}`);
          },
        }),
      } as unknown as DockerClient;
      return { docker, calls, release: () => pending.splice(0).forEach((r) => r()) };
    };
    const apps = [[c('backend', 'running'), c('worker', 'running')], [c('nginx', 'running')]];
    const settle = () => new Promise<void>((r) => setImmediate(r));

    it('stops every app container at once, runs the restore, then starts them in dependency order', async () => {
      const d = fakeDocker();
      const done = withStopped(d.docker, apps, () => {}, async () => void d.calls.push('restore'));
      await settle();
      expect(d.calls).toEqual(['stop nginx', 'stop worker', 'stop backend']); // all asked before any stopped
      d.release();
      await done;
      expect(d.calls.slice(3)).toEqual(['restore', 'start backend', 'start worker', 'start nginx']);
    });

    it('a stop that fails: no restore, whatever stopped is started again, the error is reported', async () => {
      const d = fakeDocker('worker');
      const done = withStopped(d.docker, apps, () => {}, async () => void d.calls.push('restore'));
      await settle();
      d.release();
      await expect(done).rejects.toThrow('cannot stop worker');
      expect(d.calls).not.toContain('restore');
      expect(d.calls.filter((x) => x.startsWith('start'))).toEqual(['start backend', 'start worker', 'start nginx']);
    });

    it.each([['SIGINT', 'Ctrl-C'], ['SIGTERM', 'SIGTERM'], ['SIGHUP', 'SIGHUP']] as const)('%s while the app is stopped is held (a real signal): the restore ends, every container starts again, and it says so', async (signal, said) => {
      const d = fakeDocker();
      const lines: string[] = [];
      const listeners = process.listenerCount(signal);
      const done = withStopped(d.docker, apps, (l) => lines.push(l), async () => {
        process.kill(process.pid, signal);
        for (let turn = 0; turn < 100 && !lines.some((l) => l.includes(`${said} held`)); turn++) await settle();
        d.calls.push('restore');
      });
      await settle();
      d.release();
      await done;
      expect(lines.filter((l) => l.includes(`${said} held`))).toHaveLength(1);
      expect(d.calls.slice(3)).toEqual(['restore', 'start backend', 'start worker', 'start nginx']);
      expect(process.listenerCount(signal)).toBe(listeners);
    });

    it('the same signal again, 0.5 s or more later, leaves at once; a copy sooner (npx passes one Ctrl-C on twice) or another signal does not', async () => {
      const d = fakeDocker();
      const lines: string[] = [];
      const left: string[] = [];
      let t = 1000;
      const done = withStopped(d.docker, apps, (l) => lines.push(l), async () => {
        process.emit('SIGINT');
        t += 100;
        // Until 2026-11-29 this copy left at once, the app stopped.
        process.emit('SIGINT');
        process.emit('SIGHUP'); // the terminal closed: held, and said so, as its first
        t += AGAIN_GAP_MS - 101;
        process.emit('SIGINT');
        expect(left).toEqual([]);
        t += 1;
        process.emit('SIGINT');
        d.calls.push('restore');
      }, { now: () => t, leave: (s) => left.push(s) });
      await settle();
      d.release();
      await done;
      expect(left).toEqual(['SIGINT']);
      expect(lines.filter((l) => / held: /.test(l)).map((l) => l.split(' ')[1])).toEqual(['Ctrl-C', 'SIGHUP']);
      expect(d.calls.slice(3)).toEqual(['restore', 'start backend', 'start worker', 'start nginx']);
    });

    it('a container that does not start again after the restore: the others start, and it is a failure that says so', async () => {
      // Before, the start's error was printed and the restore ended as a success (exit 0) with the app down.
      const d = fakeDocker(undefined, 'worker');
      const lines: string[] = [];
      const done = withStopped(d.docker, apps, (l) => lines.push(l), async () => void d.calls.push('restore'));
      await settle();
      d.release();
      const e = await done.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PhaseComposeError);
      expect(e).toMatchObject({ kind: 'failed', message: 'the database was restored, but a container of the app did not start again' });
      expect((e as PhaseComposeError).details).toEqual([expect.stringMatching(/: No such container: worker$/), 'start the app with `phase-compose up`; the restored data stays']);
      expect(d.calls.slice(3)).toEqual(['restore', 'start backend', 'start worker', 'start nginx']);
      expect(lines.some((l) => /^restore: could not start .*: No such container: worker$/.test(l))).toBe(true);
    });

    it('a restore that fails still starts every container again', async () => {
      const d = fakeDocker();
      const done = withStopped(d.docker, apps, () => {}, async () => {
        throw new Error('pg_restore failed');
      });
      await settle();
      d.release();
      await expect(done).rejects.toThrow('pg_restore failed');
      expect(d.calls.filter((x) => x.startsWith('start'))).toEqual(['start backend', 'start worker', 'start nginx']);
    });
  });
});

describe('a plain dump read twice: digests, then the pieces checked before they are passed on', () => {
  const MiB = 1 << 20;
  const bytes = randomBytes(3 * MiB + 12_345);
  /** `b` in reads of odd sizes, as a pipe or a file may return them. */
  async function* reads(b: Buffer, sizes = [1, 70_000, MiB + 3, 17]): AsyncGenerator<Buffer> {
    for (let at = 0, i = 0; at < b.length; i++) {
      const n = sizes[i % sizes.length]!;
      yield b.subarray(at, at + n);
      at += n;
    }
  }
  const file = () => {
    const f = join(mkdtempSync(join(tmpdir(), 'pc-pieces-')), 'x.dump');
    writeFileSync(f, bytes);
    return f;
  };
  const collect = async (source: AsyncIterable<Buffer>) => {
    const got: Buffer[] = [];
    const e = await (async () => {
      for await (const p of source) got.push(p);
    })().catch((x: unknown) => x);
    return { got: Buffer.concat(got), e };
  };

  it('digests the whole file (the .sha256 it is checked against) and each MiB', async () => {
    const d = await dumpDigests(file());
    expect(d.whole).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(d.pieces).toHaveLength(4);
    expect(d.pieces[3]).toBe(createHash('sha256').update(bytes.subarray(3 * MiB)).digest('hex'));
  });

  it('passes the same bytes on, whatever the sizes of the reads', async () => {
    const d = await dumpDigests(file());
    const { got, e } = await collect(checkedPieces(reads(bytes), d, 'x.dump'));
    expect(e).toBeUndefined();
    expect(got.equals(bytes)).toBe(true);
  });

  it.each([
    ['one byte written over in place', (b: Buffer) => { const c2 = Buffer.from(b); c2[2 * MiB + 5]! ^= 1; return c2; }, 'bytes 2097152 to 3145728 differ', 2 * MiB],
    ['grown', (b: Buffer) => Buffer.concat([b, Buffer.from('more')]), 'bytes 3145728 to 3158077 differ', 3 * MiB],
    ['a MiB longer', (b: Buffer) => Buffer.concat([b.subarray(0, 3 * MiB), randomBytes(MiB), b.subarray(3 * MiB)]), 'bytes 3145728 to 4194304 differ', 3 * MiB],
    ['cut short', (b: Buffer) => b.subarray(0, 2 * MiB), 'it shrank', 2 * MiB],
  ])('%s since it was checked: refused, and no byte of the changed piece is passed on', async (_, change, what, passed) => {
    const d = await dumpDigests(file());
    const { got, e } = await collect(checkedPieces(reads(change(bytes)), d, 'x.dump'));
    expect(e).toBeInstanceOf(PhaseComposeError);
    expect((e as PhaseComposeError).message).toBe(`x.dump changed after it was checked: ${what}`);
    expect(got.length).toBe(passed);
    expect(got.equals(bytes.subarray(0, passed))).toBe(true);
  });
});

describe('withoutFinalCommit: a wiped restore commits only by its own COMMIT', () => {
  const script = (body: string) =>
    `--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\nBEGIN;\n\n${body}\n\nCOMMIT;\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc123\n\n`;
  const run = (text: string, sizes: number[]) => {
    const w = withoutFinalCommit();
    const bytes = Buffer.from(text);
    const out: Buffer[] = [];
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const n = sizes[i % sizes.length]!;
      out.push(w.push(bytes.subarray(at, at + n)));
      at += n;
    }
    const rest = w.end();
    return rest === undefined ? undefined : Buffer.concat([...out, rest]).toString();
  };

  it('passes every byte on but the final COMMIT, however the script is cut into chunks', () => {
    // A script longer than what is held back (64 KiB), with COMMIT inside its data too.
    const body = `COPY public.t (v) FROM stdin;\n${'COMMIT;\n'.repeat(20_000)}\\.\n`;
    const text = script(body);
    const want = text.replace('\nCOMMIT;\n\n--\n-- PostgreSQL database dump complete', '\n\n--\n-- PostgreSQL database dump complete');
    expect(want).not.toBe(text);
    for (const sizes of [[1 << 20], [1], [13], [7, 65_536, 3], [65_535, 65_537], [9000]]) expect(run(text, sizes)).toBe(want);
  });

  it('undefined when the script is cut short or does not end with its COMMIT: then nothing is committed', () => {
    const text = script('CREATE TABLE t (v text);');
    expect(run(text.slice(0, text.indexOf('COMMIT;')), [100])).toBeUndefined();
    expect(run(text.replace('\nCOMMIT;\n', '\n'), [100])).toBeUndefined();
    // A COMMIT followed by more SQL is not the script's end.
    expect(run(`${text}SELECT 1;\n`, [100])).toBeUndefined();
    expect(run('', [1])).toBeUndefined();
  });
});
