// generate --target kubernetes: the directory, --check, --with-secrets at 0600, secrets never printed.
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGenerate, type GenerateArgs } from '../../../src/cli/commands/generate.js';
import { PhaseComposeError } from '../../../src/util/errors.js';

const fixture = join(import.meta.dirname, '../../fixtures/stack/phase-compose.yaml');
const stack = () => {
  const dir = mkdtempSync(join(tmpdir(), 'pc-kube-'));
  cpSync(fixture, join(dir, 'phase-compose.yaml'));
  writeFileSync(join(dir, '.env'), 'DATABASE_NAME=fx\nDATABASE_USER=fx\nDATABASE_PASSWORD=very-secret-pw\nREDIS_PASSWORD=redis-secret-pw\n');
  return dir;
};
const run = async (dir: string, a: Partial<GenerateArgs> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const r = await runGenerate({ file: join(dir, 'phase-compose.yaml'), target: 'kubernetes', ...a }, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { r, out: out.join('\n'), err: err.join('\n') };
};

describe('generate --target kubernetes', () => {
  it('writes kubernetes/ beside the spec, names the Secret command, and --check then passes', async () => {
    const dir = stack();
    const { r, out } = await run(dir);
    expect(r).toEqual({ status: 'ok' });
    expect(readdirSync(join(dir, 'kubernetes')).sort()).toEqual(['backend.yaml', 'env-defaults.yaml', 'kustomization.yaml', 'migrations-post.yaml', 'migrations.yaml', 'namespace.yaml', 'postgres.yaml', 'redis.yaml', 'worker.yaml']);
    expect(out).toContain(`kubectl -n fixture create secret generic fixture-env --from-env-file=${join(dir, '.env')}`);
    expect(out).not.toContain('very-secret-pw');
    expect((await run(dir, { check: true, quiet: true })).r).toEqual({ status: 'ok' });
    // Another version is another output: --check says so.
    const stale = await run(dir, { check: true, kubeVersion: '1.20' });
    expect(stale.r).toEqual({ status: 'reported', kind: 'problem' });
    expect(stale.err.split('\n').at(-1)).toBe(`9 generated files are out of date with ${join(dir, 'phase-compose.yaml')}; run \`phase-compose generate\``);
    // The fixture's images are :latest: each is said once (from 2026-11-29).
    const mutable = stale.err.split('\n').filter((l) => l.includes('has a mutable tag (latest)'));
    expect(mutable.length).toBeGreaterThan(0);
    expect(new Set(mutable.map((l) => /the image (\S+)/.exec(l)![1])).size).toBe(mutable.length);
  });

  it('the next-step commands quote a path a shell would split (until 2026-11-29 a space broke the pasted command)', async () => {
    const base = mkdtempSync(join(tmpdir(), 'pc-kube-'));
    const dir = join(base, "my stack's $dir");
    cpSync(stack(), dir, { recursive: true });
    const { r, out } = await run(dir);
    expect(r).toEqual({ status: 'ok' });
    expect(out).toContain(`create secret generic fixture-env '--from-env-file=${base}/my stack'\\''s $dir/.env'`);
    expect(out).toContain(`kubectl apply -k '${base}/my stack'\\''s $dir/kubernetes'`);
  });

  it('--with-secrets writes secret.yaml at 0600, lists it, and --check never prints its values', async () => {
    const dir = stack();
    await run(dir, { withSecrets: true, quiet: true });
    const secret = join(dir, 'kubernetes', 'secret.yaml');
    expect(statSync(secret).mode & 0o777).toBe(0o600);
    expect(readFileSync(secret, 'utf8')).toContain('DATABASE_PASSWORD: "very-secret-pw"');
    expect(statSync(join(dir, 'kubernetes', 'backend.yaml')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(dir, 'kubernetes', 'kustomization.yaml'), 'utf8')).toContain('- "secret.yaml"');
    for (const f of readdirSync(join(dir, 'kubernetes')).filter((f) => f !== 'secret.yaml')) {
      expect(readFileSync(join(dir, 'kubernetes', f), 'utf8')).not.toMatch(/very-secret-pw|redis-secret-pw/);
    }
    writeFileSync(join(dir, '.env'), 'DATABASE_PASSWORD=changed-secret\n');
    const c = await run(dir, { withSecrets: true, check: true });
    expect(c.r).toEqual({ status: 'reported', kind: 'problem' });
    expect(c.out).toBe(`${secret}: out of date (it holds secret values: no diff shown)`);
    expect(c.out + c.err).not.toMatch(/secret-pw|changed-secret/);
  });

  it('--with-secrets refuses a value Compose reads otherwise than as written, naming the key but not the value', async () => {
    // Checked with Compose 2.26.1 and 1.29.2: `pa$word` is "pa" to the one and "pa$word" to the other, and
    // "x\"y" is x"y to both but x\"y to dotenv. Before, the Secret held dotenv's reading.
    const dir = stack();
    writeFileSync(join(dir, '.env'), 'DATABASE_NAME=fx\nDATABASE_USER=fx\nDATABASE_PASSWORD=pa$word-secret\nREDIS_PASSWORD="redis\\"secret"\nOK=\'lit$eral\'\n');
    const e = await run(dir, { withSecrets: true, quiet: true }).then(() => undefined, (x: unknown) => x as PhaseComposeError);
    expect(e?.kind).toBe('problem');
    expect(e?.message).toBe(`--with-secrets: ${join(dir, '.env')}: DATABASE_PASSWORD, REDIS_PASSWORD have values Compose reads otherwise than as written`);
    expect(e?.details).toEqual([
      'DATABASE_PASSWORD: a `$`, which Compose expands (a variable, or `$$`), and Compose 1.29 and 2 differently',
      'REDIS_PASSWORD: a backslash in double quotes, an escape to Compose (`\\"`, `\\\\`) that dotenv keeps',
      "write each value in single quotes (K='value'), as Compose reads it literally, or leave out --with-secrets and create the Secret yourself",
    ]);
    expect(JSON.stringify(e)).not.toMatch(/secret"|word-secret/);
    expect(readdirSync(join(dir))).not.toContain('kubernetes');
  });

  it('never replaces a file it did not write; kube-only options need --target kubernetes', async () => {
    const dir = stack();
    await run(dir, { quiet: true });
    writeFileSync(join(dir, 'kubernetes', 'backend.yaml'), 'mine\n');
    const e = await run(dir, { quiet: true }).then(() => undefined, (x: unknown) => x as PhaseComposeError);
    expect(e?.message).toContain('backend.yaml exists and was not written by phase-compose');
    expect(readFileSync(join(dir, 'kubernetes', 'backend.yaml'), 'utf8')).toBe('mine\n');
    const u = await run(dir, { target: 'compose', withSecrets: true, kubeVersion: '1.20' }).then(() => undefined, (x: unknown) => x as PhaseComposeError);
    expect([u?.kind, u?.message]).toEqual(['usage', '--kube-version, --with-secrets are for --target kubernetes']);
  });

  it('data.postgres.external: Kubernetes takes it (and --check holds); the compose target refuses it with a usage error', async () => {
    const dir = stack();
    const file = join(dir, 'phase-compose.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('    volume: fixture-postgres-data\n', '    external: { host: db.example.com }\n'));
    expect((await run(dir, { quiet: true })).r).toEqual({ status: 'ok' });
    expect(readFileSync(join(dir, 'kubernetes', 'postgres.yaml'), 'utf8')).toContain('externalName: "db.example.com"');
    expect((await run(dir, { check: true, quiet: true })).r).toEqual({ status: 'ok' });
    for (const target of ['compose', undefined] as const) {
      const e = await run(dir, { target }).then(() => undefined, (x: unknown) => x as PhaseComposeError);
      expect([e?.kind, e?.message, e?.details]).toEqual([
        'usage',
        'data.postgres.external (a managed database) is only for `generate --target kubernetes`, for now',
        ['Compose runs postgres and redis itself, and up, backup, restore and exec use their containers', 'remove data.postgres.external to run the stack with Compose, or run `phase-compose generate --target kubernetes`'],
      ]);
    }
    expect(readdirSync(dir).sort()).toEqual(['.env', 'kubernetes', 'phase-compose.yaml']);
  });
});
