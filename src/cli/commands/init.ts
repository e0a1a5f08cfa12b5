// `phase-compose init`: scaffolds a stack from a template: spec, .env with generated secrets,
// compose file, nginx config (and a self-signed TLS certificate when openssl is available).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectCompose, detectEngine } from '../../docker/detect.js';
import { clientIpYaml, generateSecret, parseEnvFile, renderTemplate, type ClientIpChoice } from '../../init/template.js';
import { hostProblem } from '../../init/host.js';
import { renderOutputs } from '../../model/outputs.js';
import { checkSpecText } from '../../spec/check.js';
import validate from '../../spec/generated/validate-spec.js';
import schema from '../../../schema/phase-compose.schema.json' with { type: 'json' };
import { CliError, ExitCode, SpecError } from '../../util/errors.js';
import { backupFile, displayPath, writeFileAtomic } from '../../util/fs.js';
import type { Io } from '../io.js';

export type InitArgs = {
  dir: string;
  template: string;
  host?: string;
  clientIp?: 'direct' | 'cloudflare' | 'header';
  proxyHeader?: string;
  trusted?: readonly string[];
  tls?: 'self-signed' | 'none';
  composeVersion?: string;
  engineVersion?: string;
  yes?: boolean;
  force?: boolean;
};

const SECRETS = ['SECRET_KEY', 'SERVER_SECRET', 'DATABASE_PASSWORD', 'REDIS_PASSWORD'] as const;

/** The package root (where templates/ and schema/ live), from dist/ or src/. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'templates')) || !existsSync(join(dir, 'schema'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the phase-compose templates/ directory');
    dir = up;
  }
  return dir;
}

async function ask(question: string, def: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const a = (await rl.question(`${question} [${def}]: `)).trim();
    return a || def;
  } finally {
    rl.close();
  }
}

/** Runs init; returns the exit code. */
export async function runInit(args: InitArgs, io: Io): Promise<number> {
  const root = packageRoot();
  const tplDir = join(root, 'templates', args.template);
  if (!existsSync(join(tplDir, 'phase-compose.yaml'))) {
    throw new CliError(`unknown template "${args.template}"`, { exitCode: ExitCode.usage, details: ['available templates: phase'] });
  }
  const dir = resolve(args.dir);
  const interactive = io.isTTY && !args.yes;

  let host = args.host;
  if (!host) host = interactive ? await ask('Host name users will reach Phase at', 'localhost') : 'localhost';
  const badHost = hostProblem(host);
  if (badHost) throw new CliError(`--host "${host}" is not a host name`, { exitCode: ExitCode.usage, details: [badHost] });
  let mode = args.clientIp;
  if (!mode) mode = interactive ? ((await ask('Client IP from: direct, cloudflare, or header (another proxy)', 'direct')) as InitArgs['clientIp']) : 'direct';
  let clientIp: ClientIpChoice;
  if (mode === 'header') {
    const header = args.proxyHeader ?? (interactive ? await ask('Header that carries the client IP', 'X-Forwarded-For') : 'X-Forwarded-For');
    const trusted = args.trusted?.length ? [...args.trusted] : interactive ? (await ask('Trusted proxy ranges (comma-separated CIDRs)', '10.0.0.0/8')).split(',').map((s) => s.trim()).filter(Boolean) : [];
    if (!trusted.length) throw new CliError('--client-ip header needs --trusted <cidr> (the proxy ranges allowed to set the header)', { exitCode: ExitCode.usage });
    clientIp = { mode: 'header', header, trusted };
  } else if (mode === 'direct' || mode === 'cloudflare') {
    clientIp = { mode };
  } else {
    throw new CliError(`--client-ip "${String(mode)}" is not one of direct, cloudflare, header`, { exitCode: ExitCode.usage });
  }

  const haveOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
  let tls = args.tls ?? (haveOpenssl ? 'self-signed' : 'none');
  if (tls === 'self-signed' && !haveOpenssl) {
    if (args.tls) throw new CliError('--tls self-signed needs openssl on PATH', { exitCode: ExitCode.usage, details: ['install openssl, or use --tls none and add your certificate to the spec later'] });
    tls = 'none';
  }

  // Target versions: flags, else what is installed, else a safe default.
  const compose = args.composeVersion ?? detectCompose()?.version ?? '2.20.2';
  const engine = args.engineVersion ?? detectEngine() ?? '20.10';

  const specPath = join(dir, 'phase-compose.yaml');
  const envPath = join(dir, '.env');
  const schemaPath = join(root, 'schema', 'phase-compose.schema.json');
  const specText = renderTemplate(readFileSync(join(tplDir, 'phase-compose.yaml'), 'utf8'), {
    SCHEMA: relative(dir, schemaPath).split('\\').join('/'),
    COMPOSE_VERSION: compose,
    ENGINE_VERSION: engine,
    CLIENT_IP: clientIpYaml(clientIp),
    TLS: tls === 'self-signed' ? '  tls: { cert: nginx/tls/cert.pem, key: nginx/tls/key.pem }' : '  # tls: { cert: nginx/tls/cert.pem, key: nginx/tls/key.pem }',
  });
  const checked = checkSpecText(specText, 'phase-compose.yaml', validate, schema as Record<string, unknown>);
  if (!checked.spec) throw new SpecError(checked.problems);

  // Secrets: new ones, except that with --force an existing .env keeps its secrets (the database
  // volume was initialised with them; replacing them would lock the app out of its own data).
  const existingEnv = existsSync(envPath) ? parseEnvFile(readFileSync(envPath, 'utf8')) : {};
  const kept: string[] = [];
  const secrets = Object.fromEntries(SECRETS.map((k) => {
    const old = existingEnv[k];
    if (old) kept.push(k);
    return [k, old || generateSecret()];
  }));
  const envText = renderTemplate(readFileSync(join(tplDir, 'env.template'), 'utf8'), {
    HOST: host,
    HTTP_PROTOCOL: tls === 'none' ? 'http://' : 'https://',
    ...secrets,
  });

  const rendered = renderOutputs(checked.spec, 'phase-compose.yaml', undefined, dir);
  const files: Array<{ path: string; content: string; mode?: number }> = [
    { path: specPath, content: specText },
    { path: envPath, content: envText, mode: 0o600 },
    ...rendered.files.map((f) => ({ path: join(dir, f.path), content: f.content })),
  ];
  const certPath = join(dir, 'nginx/tls/cert.pem');
  const keyPath = join(dir, 'nginx/tls/key.pem');
  const tlsFiles = tls === 'self-signed' ? [certPath, keyPath] : [];

  // Refuse before writing anything, naming every file that exists.
  const existing = [...files.map((f) => f.path), ...tlsFiles].filter((p) => existsSync(p));
  if (existing.length && !args.force) {
    throw new CliError(`refusing to overwrite existing file${existing.length === 1 ? '' : 's'}: ${existing.map(displayPath).join(', ')}`, {
      exitCode: ExitCode.problem,
      details: ['use --force to overwrite (each file is kept as <file>.bak; existing secrets in .env are kept)'],
    });
  }

  let tlsPair: { cert: string; key: string } | undefined;
  if (tls === 'self-signed') tlsPair = makeSelfSigned(host.replace(/:\d+$/, ''));

  mkdirSync(dir, { recursive: true });
  const show = displayPath;
  for (const f of files) {
    const bak = backupFile(f.path);
    writeFileAtomic(f.path, f.content, f.mode ?? 0o644);
    if (f.mode) chmodSync(f.path, f.mode);
    io.out(`wrote ${show(f.path)}${bak ? ` (previous kept as ${show(bak)})` : ''}${f.mode === 0o600 ? ' (mode 0600)' : ''}`);
  }
  if (tlsPair) {
    for (const [p, content, m] of [[certPath, tlsPair.cert, 0o644], [keyPath, tlsPair.key, 0o600]] as const) {
      const bak = backupFile(p);
      writeFileAtomic(p, content, m);
      chmodSync(p, m);
      io.out(`wrote ${show(p)} (self-signed${bak ? `; previous kept as ${show(bak)}` : ''})`);
    }
  }
  if (kept.length) io.out(`kept existing secrets from .env: ${kept.join(', ')}`);
  for (const w of rendered.warnings) io.err(`warning: ${w}`);
  io.out('');
  io.out(`Next: cd ${show(dir)} && phase-compose up`);
  return ExitCode.ok;
}

/** A self-signed certificate for `host`, made by openssl (argv, no shell) in a private temp dir. */
function makeSelfSigned(host: string): { cert: string; key: string } {
  const tmp = mkdtempSync(join((process.env.TMPDIR ?? '/tmp'), 'phase-compose-tls-'));
  try {
    const san = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? `IP:${host}` : `DNS:${host}`;
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '825',
      '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'),
      '-subj', `/CN=${host}`, '-addext', `subjectAltName=${san}`,
    ], { encoding: 'utf8' });
    if (r.status !== 0) throw new CliError('openssl could not make a self-signed certificate', { details: [r.stderr.trim()] });
    return { cert: readFileSync(join(tmp, 'cert.pem'), 'utf8'), key: readFileSync(join(tmp, 'key.pem'), 'utf8') };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
