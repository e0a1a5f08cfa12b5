// `phase-compose init`: scaffolds a stack from a template: spec, .env with generated secrets,
// compose file, nginx config (and a self-signed TLS certificate when openssl is available).
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectCompose, detectEngine } from '../../docker/detect.js';
import { clientIpYaml, generateSecret, renderTemplate, type ClientIpChoice } from '../../init/template.js';
import { formatEnvValue, mergeEnvFile, parseEnvFile } from '../../init/env-file.js';
import { hostProblem } from '../../init/host.js';
import { checkSpecText } from '../../spec/check.js';
import { DEFAULT_COMPOSE, DEFAULT_ENGINE } from '../../spec/normalise.js';
import { renderStackFiles } from '../../stack/outputs.js';
import validate from '../../spec/generated/validate-spec.js';
import schema from '../../../schema/phase-compose.schema.json' with { type: 'json' };
import { CIDR_HINT, HEADER_HINT, HEADER_NAME, isCidr } from '../../spec/values.js';
import { PhaseComposeError, SpecError, formatProblem } from '../../util/errors.js';
import { answer } from '../prompt.js';
import { backupFile, displayPath, makeDirs, readStackText, writeFileAtomic, writeProblems } from '../../util/fs.js';
import { writeError } from '../../util/generated-files.js';
import { shQuote } from '../../util/shell.js';
import { holdingSignals } from '../../util/signals.js';
import type { Io } from '../io.js';
import { OK, type Outcome } from '../outcome.js';
import { selfCommand } from '../invocation.js';

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

/** Where prompts read and write (the process's stdin/stdout unless a test passes its own). */
export type PromptStreams = { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream };

/** Asks one question; Ctrl-C or Ctrl-D (end of input) is exit 130, with nothing written. */
async function ask(question: string, def: string, streams: PromptStreams): Promise<string> {
  const { createInterface } = await import('node:readline');
  const input = streams.input ?? process.stdin;
  const rl = createInterface({ input, output: streams.output ?? process.stdout, terminal: 'isTTY' in input ? Boolean(input.isTTY) : undefined });
  try {
    return (await answer(rl, `${question} [${def}]: `, 'nothing was written')).trim() || def;
  } finally {
    rl.close();
  }
}

const usage = (message: string, hint?: string) => new PhaseComposeError('usage', message, { details: hint ? [hint] : [] });

/**
 * The client-IP choice from the flags (and answers), checked before anything is written: every value
 * here ends up in the nginx config. `--trusted` only with a mode that uses it; `--proxy-header` only with header.
 */
export function clientIpChoice(mode: string, header: string | undefined, trusted: readonly string[] | undefined): ClientIpChoice {
  const ranges = [...(trusted ?? [])];
  for (const r of ranges) if (!isCidr(r)) throw usage(`--trusted ${JSON.stringify(r)} is not a CIDR range`, CIDR_HINT);
  if (header !== undefined && mode !== 'header') throw usage('--proxy-header needs --client-ip header');
  if (mode === 'direct') {
    if (ranges.length) throw usage('--trusted needs --client-ip cloudflare or --client-ip header: in direct mode no proxy is trusted', 'add --client-ip cloudflare (Cloudflare\'s ranges) or --client-ip header (your proxy\'s)');
    return { mode };
  }
  if (mode === 'cloudflare') return ranges.length ? { mode, trusted: ranges } : { mode };
  if (mode === 'header') {
    const h = header ?? 'X-Forwarded-For';
    if (!HEADER_NAME.test(h)) throw usage(`--proxy-header ${JSON.stringify(h)} is not an HTTP header name`, HEADER_HINT);
    if (!ranges.length) throw usage('--client-ip header needs --trusted <cidr> (the proxy ranges allowed to set the header)');
    return { mode, header: h, trusted: ranges };
  }
  throw usage(`--client-ip ${JSON.stringify(mode)} is not one of direct, cloudflare, header`);
}

/** Whether anything (a dangling symlink too) is at `path`. */
const present = (path: string) => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

/** `--dir` must be a directory, or not exist yet. */
function checkDir(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    isDir = false;
    if (code !== 'ENOTDIR') throw new PhaseComposeError('usage', `--dir ${displayPath(dir)}: ${(e as Error).message}`, { cause: e });
  }
  if (!isDir) throw new PhaseComposeError('usage', `--dir ${displayPath(dir)} is not a directory`, { details: ['give a directory (it is created when missing)'] });
}

/** Runs init. */
export async function runInit(args: InitArgs, io: Io, streams: PromptStreams = {}): Promise<Outcome> {
  const root = packageRoot();
  const tplDir = join(root, 'templates', args.template);
  if (!existsSync(join(tplDir, 'phase-compose.yaml'))) {
    throw new PhaseComposeError('usage', `unknown template "${args.template}"`, { details: ['available templates: phase'] });
  }
  const dir = resolve(args.dir);
  checkDir(dir);
  const interactive = io.isTTY && !args.yes;
  const envPath = join(dir, '.env');
  const oldEnvText = readStackText(envPath);
  const oldEnv = oldEnvText === undefined ? {} : parseEnvFile(oldEnvText);

  // The host: --host, else (asked, defaulting to) the one an existing .env has, else localhost.
  let host = args.host;
  const defaultHost = oldEnv.HOST || 'localhost';
  if (!host) host = interactive ? await ask('Host name users will reach Phase at', defaultHost, streams) : defaultHost;
  const badHost = hostProblem(host);
  if (badHost) {
    const from = args.host || host !== oldEnv.HOST ? '--host' : `HOST in ${displayPath(envPath)}`;
    throw new PhaseComposeError('usage', `${from} "${host}" is not a host name`, { details: [badHost] });
  }
  const mode = args.clientIp ?? (interactive ? await ask('Client IP from: direct, cloudflare, or header (another proxy)', 'direct', streams) : 'direct');
  let header = args.proxyHeader;
  let trusted = args.trusted;
  if (mode === 'header') {
    header ??= interactive ? await ask('Header that carries the client IP', 'X-Forwarded-For', streams) : 'X-Forwarded-For';
    if (!trusted?.length && interactive) trusted = (await ask('Trusted proxy ranges (comma-separated CIDRs)', '10.0.0.0/8', streams)).split(',').map((s) => s.trim()).filter(Boolean);
  }
  const clientIp = clientIpChoice(mode, header, trusted);

  const haveOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
  let tls = args.tls ?? (haveOpenssl ? 'self-signed' : 'none');
  if (tls === 'self-signed' && !haveOpenssl) {
    if (args.tls) throw new PhaseComposeError('usage', '--tls self-signed needs openssl on PATH', { details: ['install openssl, or use --tls none and add your certificate to the spec later'] });
    tls = 'none';
  }

  // Target versions: flags, else what is installed, else a safe default. Checked: they are written into the spec.
  for (const [flag, v] of [['--compose-version', args.composeVersion], ['--engine-version', args.engineVersion]] as const) {
    if (v !== undefined && !/^[0-9]+(\.[0-9]+){0,2}$/.test(v)) throw usage(`${flag} ${JSON.stringify(v)} is not a version`, 'give a version such as 2.20.2 or 1.29');
  }
  const compose = args.composeVersion ?? detectCompose()?.version ?? DEFAULT_COMPOSE;
  const engine = args.engineVersion ?? detectEngine() ?? DEFAULT_ENGINE;

  const specPath = join(dir, 'phase-compose.yaml');
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
  // volume was initialised with them; replacing them would lock the app out of its own data), and
  // every other entry it has (OAuth secrets, its HOST unless --host is given).
  const kept = SECRETS.filter((k) => oldEnv[k]);
  const fresh = Object.fromEntries(SECRETS.map((k) => [k, generateSecret()]));
  const protocol = tls === 'none' ? 'http://' : 'https://';
  const templateEnv = renderTemplate(readFileSync(join(tplDir, 'env.template'), 'utf8'), {
    HOST: formatEnvValue(host),
    HTTP_PROTOCOL: formatEnvValue(protocol),
    ...fresh,
  });
  let envText = templateEnv;
  if (oldEnvText !== undefined) {
    // The host given (--host, or typed at the prompt: until 2026-11-28 a typed one reached the certificate
    // but not .env, so the app and its certificate named two hosts).
    const set: Record<string, string> = { HTTP_PROTOCOL: protocol, ...(host !== oldEnv.HOST ? { HOST: host } : {}) };
    for (const k of SECRETS) if (!oldEnv[k]) set[k] = fresh[k]!;
    try {
      envText = mergeEnvFile(oldEnvText, set, parseEnvFile(templateEnv), 'Added by phase-compose init --force');
    } catch (e) {
      throw new PhaseComposeError('problem', `cannot update ${displayPath(envPath)}: ${(e as Error).message}`, { details: ['edit it by hand, or move it away and run init again'], cause: e });
    }
  }

  // Init's own write below (every file, with its .bak, under one signal hold) covers the spec and .env too.
  const rendered = renderStackFiles({ spec: checked.spec, specFile: specPath, specDir: dir });
  const files: Array<{ path: string; content: string; mode?: number }> = [
    { path: specPath, content: specText },
    { path: envPath, content: envText, mode: 0o600 },
    ...rendered.files.map((f) => ({ path: f.path, content: f.content })),
  ];
  const certPath = join(dir, 'nginx/tls/cert.pem');
  const keyPath = join(dir, 'nginx/tls/key.pem');
  const tlsFiles = tls === 'self-signed' ? [certPath, keyPath] : [];

  // Refuse before writing anything, naming every file that exists.
  const existing = [...files.map((f) => f.path), ...tlsFiles].filter(present);
  if (existing.length && !args.force) {
    throw new PhaseComposeError('problem', `refusing to overwrite existing file${existing.length === 1 ? '' : 's'}: ${existing.map(displayPath).join(', ')}`, {
      details: ['use --force to overwrite (each file is kept as <file>.bak, or .bak.1, .bak.2, ... when taken; every entry of an existing .env is kept)'],
    });
  }

  // Every target checked before the first write (until 2026-11-29 a directory at the third target was
  // found after the first two were written).
  const cannot = writeProblems([...files.map((f) => f.path), ...tlsFiles]);
  if (cannot.length) throw new PhaseComposeError('problem', `cannot write every file: ${cannot.join('; ')}`, { details: ['nothing was written'] });

  let tlsPair: { cert: string; key: string } | undefined;
  if (tls === 'self-signed') tlsPair = makeSelfSigned(host.replace(/:\d+$/, ''));

  const show = displayPath;
  const writes = [
    ...files.map((f) => ({ ...f, mode: f.mode ?? 0o644, note: f.mode === 0o600 ? ' (mode 0600)' : '' })),
    ...(tlsPair ? [{ path: certPath, content: tlsPair.cert, mode: 0o644, note: ' (self-signed)' }, { path: keyPath, content: tlsPair.key, mode: 0o600, note: ' (self-signed, mode 0600)' }] : []),
  ];
  // Synchronous, with Ctrl-C held back: each file is complete or untouched, and no temp file is left.
  await holdingSignals(() => {
    try {
      makeDirs(dir, 0o755);
    } catch (e) {
      throw writeError(dir, e);
    }
    for (const w of writes) {
      let bak: string | undefined;
      try {
        bak = backupFile(w.path);
        writeFileAtomic(w.path, w.content, w.mode);
      } catch (e) {
        throw writeError(w.path, e);
      }
      io.out(`wrote ${show(w.path)}${w.note}${bak ? ` (previous kept as ${show(bak)})` : ''}`);
    }
  });
  if (kept.length) io.out(`kept existing secrets from .env: ${kept.join(', ')}`);
  for (const w of checked.problems) io.err(formatProblem(w));
  for (const w of rendered.warnings) io.err(`warning: ${w}`);
  io.out('');
  io.out(`Next: cd ${shQuote(show(dir))} && ${selfCommand(process.argv[1] ?? 'phase-compose', process.env.PATH)} up`);
  return OK;
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
    if (r.status !== 0) throw new PhaseComposeError('problem', 'openssl could not make a self-signed certificate', { details: [r.stderr.trim()] });
    return { cert: readFileSync(join(tmp, 'cert.pem'), 'utf8'), key: readFileSync(join(tmp, 'key.pem'), 'utf8') };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
