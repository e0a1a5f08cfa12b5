// `phase-compose restore FILE`: an archive (or a plain dump) into the running stack; with --dir, a new
// stack built from the archive alone (files, then postgres alone, the database, then `up`).
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readArchive, sniff } from '../../backup/archive-io.js';
import { newestMigrations } from '../../backup/archive.js';
import {
  RESTORE_MARK_FILE, interruptibleRead, markVolumes, readRestoreMark, listCheckedDump, missingTlsFiles, pipeDump, projectInUse, refuseNonEmpty, restoreArchiveLive, restoreArgv, waitPostgresHealthy, unmarkRestoring, writeStackFromArchive,
} from '../../backup/archive-restore.js';
import { checkBackupFile, refuseNonBackup, restoreDatabase } from '../../backup/restore.js';
import { connectDocker } from '../../docker/client.js';
import { L_PROJECT, L_WORKING_DIR } from '../../docker/labels.js';
import { acquireLock, type Lock } from '../../docker/lock.js';
import { runCompose } from '../../docker/compose-cli.js';
import { findPostgres } from '../../exec/postgres.js';
import { POSTGRES_SERVICE } from '../../model/compose.js';
import { openStack } from '../../stack/open.js';
import { syncStackFiles } from '../../stack/outputs.js';
import { parseCliDuration } from '../../util/duration.js';
import { withHeldFile, type HeldFile } from '../../util/fs.js';
import { byCodePoint } from '../../util/compare.js';
import { PhaseComposeError } from '../../util/errors.js';
import type { Io } from '../io.js';
import { cliConfirm } from '../prompt.js';
import { OK, type ExitCodeOf, type Outcome } from '../outcome.js';
import { decryptPassphrase } from '../passphrase.js';

export type RestoreArgs = {
  file: string;
  projectName?: string;
  backup: string;
  yes?: boolean;
  dir?: string;
  force?: boolean;
  ignoreEnv?: boolean;
  passphraseFile?: string;
  timeout?: string;
};

/** Restores an archive (or a dump written by `backup --dump-only` or before migrations). */
export async function runRestore(args: RestoreArgs, io: Io, exitCodeOf: ExitCodeOf): Promise<Outcome> {
  // Both lift refusals of a restore into the running stack; --dir builds a new stack, where neither applies.
  const into = args.dir !== undefined && (args.ignoreEnv ? '--ignore-env' : args.force ? '--force' : undefined);
  if (into) {
    throw new PhaseComposeError('usage', `${into} is for a restore into the running stack: --dir builds a new stack from the archive, its env values included`);
  }
  const file = resolve(args.backup);
  checkBackupFile(file);
  const passphrase = decryptPassphrase({ file: args.passphraseFile, env: process.env, isTTY: io.isTTY });
  // Held open from here: the checks and the restore read the same bytes, whatever happens to the name
  // meanwhile (a scheduled backup's rotation deleting it while the app is stopped).
  return withHeldFile(file, async (held) => {
    if (args.dir !== undefined) return restoreToDir(args, held, passphrase, io, exitCodeOf);
    // A plain dump holds neither migrations nor env values to compare: the flags would lift nothing, and
    // accepting them (as until 2026-11-29) told the user a check had been waived that never ran.
    const lifting = [args.force ? '--force' : '', args.ignoreEnv ? '--ignore-env' : ''].filter(Boolean).join(' and ');
    const plain = sniff(held) === 'pg-dump';
    if (plain && lifting) {
      throw new PhaseComposeError('usage', `${lifting} ${lifting.includes(' and ') ? 'are' : 'is'} for an archive: ${file} is a plain pg_dump file, which holds no migrations or env values to compare`, {
        details: [`a plain dump is restored without those checks; run the same command without ${lifting}`],
      });
    }
    // The lock keeps `up`, `upgrade`, `down` and another restore off the stack while its app is stopped
    // and its data replaced: before, an upgrade could start new replicas (and its migrations) mid-restore.
    const stack = openStack(args, { lock: 'restore' });
    let data: Lock | undefined;
    // And the database's alone, which a backup reading it holds shared: started under a running pg_dump,
    // the restore would stop the app and then wait on pg_dump's locks for the whole dump. Taken once the
    // archive is checked and the question answered, just before the app stops (until 2026-11-29 it was
    // taken first, and a terminal left at the passphrase or the question made every scheduled backup
    // meanwhile exit 6).
    const beforeStop = () => {
      data = acquireLock(stack.project, 'restore', { kind: 'data' });
    };
    try {
      const docker = await connectDocker();
      const confirm = cliConfirm(!!args.yes, io.isTTY);
      if (plain) {
        const res = await restoreDatabase(docker, stack, held, { confirm, log: io.err, beforeStop });
        io.out(`restored ${res.file}: ${res.tables} tables with data${res.stopped.length ? `; restarted ${[...new Set(res.stopped)].join(', ')}` : ''}`);
        return OK;
      }
      const res = await restoreArchiveLive(docker, stack, held, { passphrase, force: !!args.force, ignoreEnv: !!args.ignoreEnv, confirm, log: io.err, beforeStop });
      io.out(`restored ${file}: ${res.tables} tables with data${res.stopped.length ? `; restarted ${res.stopped.join(', ')}` : ''}`);
      return OK;
    } finally {
      data?.release();
      stack.lock.release();
    }
  }, (st) => refuseNonBackup(file, st));
}

/** What of `project` exists on this host that restore --dir into `dir` did not make (projectInUse()). */
async function projectUse(project: string, dir: string, marked: Readonly<Record<string, string>>): Promise<string[]> {
  const docker = await connectDocker();
  const filters = { label: [`${L_PROJECT}=${project}`] };
  const [containers, volumes] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listVolumes({ filters })]);
  // Compose records the directory as spelled; both sides are compared by what they resolve to (a
  // symlinked spelling of DIR is DIR), as spelled where a path no longer resolves.
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  return projectInUse(
    project,
    real(dir),
    containers.map((c) => ({ name: (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''), state: c.State, ...(c.Labels[L_WORKING_DIR] !== undefined ? { workingDir: real(c.Labels[L_WORKING_DIR]) } : {}) })),
    (volumes.Volumes ?? []).map((v) => ({ name: v.Name, ...(volumeCreated(v) ? { created: volumeCreated(v)! } : {}) })).sort((a, b) => byCodePoint(a.name, b.name)),
    marked,
  );
}

/** A volume's creation time as the Engine lists it (the API has it; dockerode's type does not). */
const volumeCreated = (v: object): string | undefined => {
  const c = (v as { CreatedAt?: unknown }).CreatedAt;
  return typeof c === 'string' && c ? c : undefined;
};

/** Records the project's volumes in DIR's mark (restore --dir, once Compose has run). */
async function markProjectVolumes(dir: string, project: string): Promise<void> {
  const docker = await connectDocker();
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${L_PROJECT}=${project}`] } });
  markVolumes(dir, project, Object.fromEntries((Volumes ?? []).flatMap((v) => (volumeCreated(v) ? [[v.Name, volumeCreated(v)!]] : []))));
}

/**
 * restore --dir: the archive is read in full first (nothing is written when it is unusable); then the
 * files, postgres alone, the database (into an empty one only), and `up` for everything else.
 */
async function restoreToDir(args: RestoreArgs, held: HeldFile, passphrase: () => Promise<string>, io: Io, exitCodeOf: ExitCodeOf): Promise<Outcome> {
  const file = held.path;
  if (sniff(held) === 'pg-dump') throw new PhaseComposeError('usage', `${file} is a plain database dump: restore --dir needs an archive written by \`backup\` (it carries the spec and the env values)`);
  // Printed once Ctrl-C is handled, as restore FILE does.
  const contents = await interruptibleRead((signal) => {
    io.err(`restore: checking ${file} (${held.size} bytes): the passphrase, every checksum`);
    return readArchive(held, { passphrase, signal });
  }, 'nothing was written');
  // Its table of contents is listed once postgres is up (listCheckedDump), reading the dump again as far as that.
  if (!contents.manifest.dump.chunks) throw new PhaseComposeError('problem', `the archive ${file} holds no database dump`, { details: ['nothing was written'] });
  const dir = resolve(args.dir!);
  const project = args.projectName ?? contents.meta.project;
  io.err(`restore: archive ok: made ${contents.meta.created} from project ${contents.meta.project}; newest migrations ${newestMigrations(contents.meta.migrations).join(', ') || '(none)'}`);
  // Before anything is written or started: the project must not be another stack's.
  const mark = readRestoreMark(dir, project);
  const inUse = await projectUse(project, dir, mark?.volumes ?? {});
  if (inUse.length) {
    throw new PhaseComposeError('problem', `project ${project} already exists on this host: restore --dir builds a new stack, and would start its postgres in that project`, {
      details: [
        ...inUse.slice(0, 10),
        ...(inUse.length > 10 ? [`and ${inUse.length - 10} more`] : []),
        // An earlier run here whose volume the mark does not name as it is now (killed while Compose ran;
        // on Engine 20.10 a volume's time changes once postgres has run on it).
        ...(mark ? [`${join(dir, RESTORE_MARK_FILE)} is an earlier restore --dir of ${project} here that did not finish: if a volume above is what it left (no data of yours), remove it with \`docker volume rm\` and run again`] : []),
        `name a new project with -p NAME (restore FILE replaces a running stack's data); nothing was written or started`,
      ],
    });
  }
  // With the mark of this restore (until the database is restored): a run after a failure meanwhile may take the volume Compose made.
  const files = writeStackFromArchive(dir, contents, project);
  for (const p of files.written) io.err(`restore: wrote ${p}`);
  for (const p of files.kept) io.err(`restore: kept ${p}: it defines the archived keys (${contents.meta.env.keys!.join(', ')}) as the archive does`);
  const specFile = join(dir, contents.meta.spec);
  const timeoutMs = parseCliDuration(args.timeout ?? '5m');
  const stack = openStack({ file: specFile, projectName: project }, { compose: true, lock: 'restore' });
  try {
    for (const p of syncStackFiles(stack)) io.err(`restore: wrote ${p}`);
    const tls = missingTlsFiles(stack.specDir, stack.spec.proxy?.tls);
    if (tls.length) {
      throw new PhaseComposeError('problem', 'the stack cannot start on this host: its proxy\'s TLS files are missing', {
        details: [
          ...tls,
          contents.meta.tls
            ? 'TLS files named by an absolute path, outside the spec\'s directory, or not readable when the backup ran are not archived: copy them there'
            : 'this archive was made before 2026-11-29 and holds no TLS files: copy them from the old host, or make new ones',
          `then run the same command again; the files in ${dir} stay, nothing was started`,
        ],
      });
    }
    io.err(`restore: starting postgres alone (project ${project})`);
    // The volumes Compose makes go into the mark, whatever happens next: a run after a failure takes them as its own.
    const up = await runCompose(stack.compose, ['up', '-d', '--no-deps', POSTGRES_SERVICE]).finally(() =>
      markProjectVolumes(dir, project).catch((e: Error) => io.err(`restore: warning: could not record the project's volumes in ${join(dir, RESTORE_MARK_FILE)} (${e.message}): a run after a failure here will not take them as its own`)),
    );
    if (up.exitCode !== 0) throw new PhaseComposeError('failed', `could not start postgres (compose exit ${up.exitCode})`, { details: up.output.trim().split('\n').slice(-10) });
    const docker = await connectDocker();
    await waitPostgresHealthy(docker, project, timeoutMs);
    const pg = await findPostgres(docker, stack);
    await refuseNonEmpty(docker, pg);
    const checked = { ...contents, tables: await listCheckedDump(docker, pg, held, contents, passphrase) };
    io.err(`restore: pg_restore --single-transaction into ${pg.db} (${checked.tables} tables with data)`);
    const r = await pipeDump(docker, pg, held, checked, passphrase, restoreArgv(pg));
    if (r.exitCode !== 0) {
      throw new PhaseComposeError('failed', `pg_restore failed (exit ${r.exitCode}); the transaction was rolled back, the database is empty`, {
        details: [...r.stderr.trim().split('\n').slice(-10), `the files in ${dir} and the postgres container stay; run the same command again once fixed`],
      });
    }
    try {
      unmarkRestoring(dir);
    } catch (e) {
      io.err(`restore: warning: could not remove ${join(dir, RESTORE_MARK_FILE)} (${(e as Error).message}): remove it by hand; it would let a later restore --dir here take this project's volume`);
    }
  } finally {
    stack.lock.release();
  }
  io.err('restore: database restored; starting the stack with up');
  const { runUpCommand } = await import('./up.js');
  return runUpCommand({ file: specFile, projectName: project, timeout: args.timeout }, io, exitCodeOf);
}
