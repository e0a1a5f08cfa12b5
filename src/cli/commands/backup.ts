// `phase-compose backup [--out FILE]`: the whole instance in one archive (encrypted unless --no-encrypt);
// `backup --dump-only`: the database alone, as the pre-migration backup writes it; `backup verify FILE`.
import { backupInstance } from '../../backup/archive-backup.js';
import { verifyArchive, type VerifyResult } from '../../backup/archive-restore.js';
import { backupDatabase } from '../../backup/backup.js';
import { connectDocker } from '../../docker/client.js';
import { acquireLock } from '../../docker/lock.js';
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { PhaseComposeError } from '../../util/errors.js';
import { abortOnInterrupt } from '../../util/signals.js';
import { displayPath, withHeldFile } from '../../util/fs.js';
import { shQuote } from '../../util/shell.js';
import { writeGeneratedFiles } from '../../util/generated-files.js';
import { renderSchedule } from '../../backup/schedule.js';
import { openStack } from '../../stack/open.js';
import type { NormalisedSpec } from '../../spec/normalise.js';
import type { Io } from '../io.js';
import { OK, type Outcome } from '../outcome.js';
import { decryptPassphrase, encryptPassphrase, MIN_PASSPHRASE, readPassphraseFile } from '../passphrase.js';
import { checkBackupFile, refuseNonBackup } from '../../backup/restore.js';
import { newestMigrations as newest } from '../../backup/archive.js';

export type BackupArgs = {
  file: string;
  projectName?: string;
  out?: string;
  dir?: string;
  keep?: number;
  encrypt?: boolean;
  passphraseFile?: string;
  dumpOnly?: boolean;
  /** pg_dump's zlib level (checked by the parser); else the spec's backups.compress, else the tool's. */
  compress?: number;
};

/** Writes the archive (or, with --dump-only, the plain dump); prints its path and size. */
export async function runBackup(given: BackupArgs, io: Io): Promise<Outcome> {
  // --out and --dir are read from where the command runs, as every path on the command line (restore's,
  // verify's) is; until 2026-11-29 they were read from the spec's directory, so `-f /srv/phase/... backup
  // -o x.pcbak` from ~ wrote /srv/phase/x.pcbak, and `restore x.pcbak` from ~ did not find it.
  // backups.dir in the spec stays relative to the spec.
  const args = { ...given, ...(given.out !== undefined ? { out: resolve(given.out) } : {}), ...(given.dir !== undefined ? { dir: resolve(given.dir) } : {}) };
  const stack = openStack(args);
  if (args.out !== undefined) refuseExisting(args.out);
  const place = backupPlace(args, stack.spec);
  if (args.dumpOnly) {
    const docker = await connectDocker();
    return readingData(stack.project, () => interruptible(
      (signal) => backupDatabase(docker, stack, { ...place, out: args.out, stderr: process.stderr, signal }),
      (res) => io.out(`${res.file}\t${res.bytes} bytes\t${res.tables} tables\tsha256 ${res.sha256}`),
      BACKUP_KEPT,
    ));
  }
  // The passphrase first: a missing one is refused before Docker is asked anything.
  const passphrase = args.encrypt === false ? undefined : await encryptPassphrase({ file: args.passphraseFile, env: process.env, isTTY: io.isTTY });
  if (passphrase === undefined) io.err('backup: --no-encrypt: the archive holds the database and the .env in the clear; keep it somewhere only you can read');
  const docker = await connectDocker();
  return readingData(stack.project, () => interruptible(
    (signal) => backupInstance(docker, stack, { ...place, out: args.out, passphrase, log: io.err, signal }),
    (res) => io.out(`${res.file}\t${res.bytes} bytes\t${res.tables} tables\t${res.encrypted ? 'encrypted' : 'NOT encrypted'}`),
    BACKUP_KEPT,
  ));
}

/**
 * Runs `work` holding the project's data lock shared (with other backups; taken after the passphrase, so
 * no prompt holds it). A restore replacing the database holds it alone: a backup then exits 6 at once,
 * where pg_dump waited on the restore's transaction and failed with "cache lookup failed"; and a restore
 * refuses to start, rather than stopping the app and waiting on pg_dump's locks for the whole dump.
 */
async function readingData<T>(project: string, work: () => Promise<T>): Promise<T> {
  const lock = acquireLock(project, 'backup', { kind: 'data', shared: true });
  try {
    return await work();
  } finally {
    lock.release();
  }
}

const BACKUP_KEPT = 'once the backup was complete and verified: it is kept (above)';

/**
 * Runs `work` with Ctrl-C and SIGTERM turned into its abort signal (before, either killed the process: a
 * backup left its half-written file behind, a verification its throwaway container with the data in it).
 * One that comes while it matters stops the work and cleans up (the work throws `interrupted`); one that
 * comes after lets it finish and print, and the exit is 130 all the same, saying `late`.
 */
async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>, print: (result: T) => void, late: string): Promise<Outcome> {
  const { result, signal } = await abortOnInterrupt(work);
  print(result);
  if (signal.aborted) throw new PhaseComposeError('interrupted', `interrupted (${String(signal.reason)}) ${late}`);
  return OK;
}

/**
 * Where stamped backups go, how many are kept and pg_dump's zlib level: the flags win, else the spec's
 * backups section (normalised); a level given by neither is left to pgDumpArgv.
 */
export function backupPlace(args: { dir?: string; keep?: number; compress?: number }, spec: Pick<NormalisedSpec, 'backups'>): { dir: string; keep: number; compress?: number } {
  const compress = args.compress ?? spec.backups.compress;
  return { dir: args.dir ?? spec.backups.dir, keep: args.keep ?? spec.backups.keep, ...(compress !== undefined ? { compress } : {}) };
}

/** `--out` names a new file: one that exists (a dump or anything else) is never replaced. Checked before Docker. */
function refuseExisting(path: string): void {
  try {
    lstatSync(path);
  } catch {
    return;
  }
  throw new PhaseComposeError('problem', `refusing to overwrite ${displayPath(path)}`, { details: ['choose another --out, or move the file away first'] });
}

/** `backup verify FILE [--deep]`: prints what the archive holds; with --deep, row counts per table. */
export async function runBackupVerify(args: { archive: string; deep?: boolean; image?: string; passphraseFile?: string }, io: Io): Promise<Outcome> {
  const file = resolve(args.archive);
  checkBackupFile(file);
  const passphrase = decryptPassphrase({ file: args.passphraseFile, env: process.env, isTTY: io.isTTY });
  const docker = await connectDocker();
  // Held open: every read (checksums, pg_restore --list, --deep's restore) reads the same bytes.
  return withHeldFile(file, (held) => interruptible(
    (signal) => verifyArchive(docker, held, { passphrase, deep: !!args.deep, image: args.image, log: io.err, signal }),
    (v) => printVerified(v, file, io),
    'once the archive was checked: the throwaway container is gone',
  ), (st) => refuseNonBackup(file, st));
}

/** What `backup verify` found: the archive's facts, and with --deep the row counts. */
function printVerified(v: VerifyResult, file: string, io: Io): void {
  const m = v.checked.meta;
  io.out(`archive ${file}: ok (${v.checked.encrypted ? 'encrypted' : 'not encrypted'})`);
  io.out(`  made ${m.created} from project ${m.project}; PostgreSQL ${m.postgres.version}; ${v.checked.manifest.members.length} members, every sha256 matches`);
  io.out(`  database dump: ${v.checked.manifest.dump.bytes} bytes, ${v.checked.tables} tables with data (pg_restore --list)`);
  io.out(`  env: ${m.env.files.join(', ') || '(none)'}${m.env.keys ? ` (only ${m.env.keys.join(', ')})` : ''}`);
  for (const i of m.images) io.out(`  image ${i.service}: ${i.image} ${i.id}${i.digests.length ? ` ${i.digests.join(' ')}` : ''}`);
  if (m.appVersion) io.out(`  app version: ${m.appVersion}`);
  for (const n of newest(m.migrations)) io.out(`  newest migration: ${n}`);
  if (v.counts) {
    io.out(`rows per table (restored into a throwaway ${v.image}):`);
    for (const [t, n] of v.counts) io.out(`${t}\t${n}`);
  }
}

export type ScheduleArgs = { file: string; projectName?: string; every?: string; passphraseFile: string; unitDir?: string; print?: boolean };

/** Writes (or prints) the systemd service and timer that run `backup` every period. */
export async function runBackupSchedule(args: ScheduleArgs, io: Io): Promise<Outcome> {
  const stack = openStack(args);
  const every = args.every ?? stack.spec.backups.every;
  if (!every) throw new PhaseComposeError('usage', 'how often? pass --every (e.g. 24h) or set backups.every in the spec');
  const passphraseFile = resolve(args.passphraseFile);
  privateFile(passphraseFile);
  const env = Object.fromEntries(['DOCKER_CONFIG', 'DOCKER_HOST'].filter((k) => process.env[k]).map((k) => [k, resolveIfPath(k, process.env[k]!)]));
  const units = renderSchedule({
    project: stack.project,
    node: process.execPath,
    cli: realpathSync(process.argv[1] ?? ''),
    specFile: stack.specFile,
    passphraseFile,
    every,
    env: { HOME: homedir(), ...env },
  });
  if (args.print) {
    io.out(`# ${units.service.name}\n${units.service.content}\n# ${units.timer.name}\n${units.timer.content}`);
    return OK;
  }
  const root = process.getuid?.() === 0;
  const dir = resolve(args.unitDir ?? (root ? '/etc/systemd/system' : join(homedir(), '.config/systemd/user')));
  const files = [units.service, units.timer].map((u) => ({ path: join(dir, u.name), content: u.content, explicit: true }));
  const written = writeGeneratedFiles(files, { specFile: stack.specFile, protect: [] });
  for (const w of written) io.out(`wrote ${displayPath(w.path)}`);
  const unchanged = files.filter((f) => !written.some((w) => w.path === f.path));
  if (unchanged.length) io.out(`unchanged: ${unchanged.map((f) => displayPath(f.path)).join(', ')}`);
  const ctl = root ? 'systemctl' : 'systemctl --user';
  // A directory of systemd's own takes the unit names; any other needs the units linked first, by path.
  if (args.unitDir === undefined) io.out(`next: ${ctl} daemon-reload && ${ctl} enable --now ${units.timer.name}`);
  else io.out(`next: ${ctl} link ${shQuote(files[0]!.path)} ${shQuote(files[1]!.path)} && ${ctl} enable --now ${units.timer.name}`);
  if (!root) io.out('  (a user timer runs while you are logged in, unless: loginctl enable-linger)');
  return OK;
}

/** The passphrase file must be a regular file of ours that nobody else can read: the timer reads it for years. */
function privateFile(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new PhaseComposeError('usage', `--passphrase-file: cannot read ${displayPath(path)}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new PhaseComposeError('usage', `--passphrase-file: ${displayPath(path)} is not a file`);
  const uid = process.getuid?.();
  if ((st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid)) {
    throw new PhaseComposeError('usage', `--passphrase-file: ${displayPath(path)} must be yours and private (it is mode ${(st.mode & 0o777).toString(8)})`, { details: [`chmod 600 ${displayPath(path)}`] });
  }
  // Checked now, not at the first run in the night.
  if (readPassphraseFile(path).length < MIN_PASSPHRASE) throw new PhaseComposeError('usage', `--passphrase-file: the passphrase in ${displayPath(path)} is shorter than ${MIN_PASSPHRASE} characters`);
}

/** DOCKER_CONFIG is a directory: made absolute, since the service does not start where you stand. */
const resolveIfPath = (k: string, v: string) => (k === 'DOCKER_CONFIG' ? resolve(v) : v);
