// `restore FILE` (an archive) into the running stack. The archive is read in full and checked, and the live
// database compared with it (a migration the archive does not know refuses unless --force), before the
// app stops. The dump goes into a side database (./side-db.ts) that takes the live one's name once it is
// complete; with --yes that restore starts at once, beside the check and the stop, so the wait is the
// restore's own. A database the side path would change in other ways is restored in place, as before:
// pg_restore --clean in one transaction, the app stopped meanwhile.
import type { DockerClient } from '../docker/client.js';
import { listProject } from '../docker/containers.js';
import { execDetached } from '../docker/exec.js';
import { L_SERVICE } from '../docker/labels.js';
import { findPostgres, runSql, type PgTarget } from '../exec/postgres.js';
import type { Stack } from '../stack/open.js';
import { PhaseComposeError } from '../util/errors.js';
import { onInterrupt } from '../util/signals.js';
import { newerDatabaseError, newestMigrations, unknownMigrations } from './archive.js';
import type { ArchiveContents } from './archive-io.js';
import { checkArchive, pipeDump, restoreArgv, afterCheck, type Checked } from './archive-restore.js';
import type { SessionKey } from './crypto.js';
import { appliedMigrations } from './instance.js';
import { appContainers, pgRestoreArgv, startWaves, withStopped } from './restore.js';
import {
  SIDE_FACTS_SQL, SWAP_SQL, createSideSql, dropSql, dropdbArgv, parseSideFacts, planSide, sideFactsVars, sideNames, sideVars, type SidePlan,
} from './side-db.js';

export type RestoreArchiveResult = { tables: number; stopped: string[]; archived: string[] };

type Side = Extract<SidePlan, { kind: 'side' }>;

/**
 * The restore into the side database, started once (`start`), given up on with `cancel` (pg_restore made
 * to fail, the side database dropped). Its outcome is only read once the app is stopped.
 */
function sideRestore(docker: DockerClient, pg: PgTarget, file: string, plan: Side, key: Promise<SessionKey | undefined>, passphrase: () => Promise<string>) {
  const vars = sideVars(pg.db, plan);
  const abort = new AbortController();
  let created = false;
  let started: Promise<{ exec: { exitCode: number; stderr: string }; contents: ArchiveContents }> | undefined;
  const start = () =>
    (started ??= (async () => {
      await runSql(docker, pg, createSideSql(plan), vars, `creating the database ${plan.names.side}`);
      created = true;
      const sessionKey = await key;
      abort.signal.throwIfAborted();
      return pipeDump(docker, pg, file, { passphrase, ...(sessionKey ? { sessionKey } : {}), signal: abort.signal }, restoreArgv({ user: pg.user, db: plan.names.side }));
    })());
  const drop = async (): Promise<string | undefined> => {
    if (!created) return undefined;
    return runSql(docker, pg, dropSql('side'), vars, `dropping ${plan.names.side}`).then(() => undefined, (e: Error) => e.message);
  };
  return {
    start: () => {
      const p = start();
      p.catch(() => undefined); // read where it matters
      return p;
    },
    /** Gives up: stops pg_restore, drops the side database; returns what could not be cleaned up, if anything. */
    async cancel(): Promise<string | undefined> {
      abort.abort(new Error('cancelled'));
      if (started) await started.catch(() => undefined);
      return drop();
    },
    vars,
  };
}

/**
 * `restore FILE` into the running stack: the archive checked and the live database compared before the app
 * services stop; then the dump restored (a side database swapped in, or in place) and the app started again.
 * `early` (the user said yes already): the side restore starts beside the check.
 */
export async function restoreArchiveLive(
  docker: DockerClient,
  stack: Pick<Stack, 'project' | 'spec'>,
  file: string,
  opts: { passphrase: () => Promise<string>; force: boolean; confirm: (q: string) => Promise<boolean>; early?: boolean; log?: (l: string) => void },
): Promise<RestoreArchiveResult> {
  const log = opts.log ?? (() => {});
  const pg = await findPostgres(docker, stack);
  // What the live stack holds is only read: it is asked while the archive is checked (the archive's own
  // failure is still the one reported first).
  const applied = appliedMigrations(docker, pg);
  const running = listProject(docker, stack.project);
  applied.catch(() => undefined);
  running.catch(() => undefined);
  const plan: Promise<SidePlan> = runSql(docker, pg, SIDE_FACTS_SQL, sideFactsVars(pg.db, sideNames(pg.db)), "reading the database's properties").then(
    (rows) => planSide(pg.db, parseSideFacts(rows)),
    (e: Error) => ({ kind: 'in-place', why: `its properties could not be read (${e.message})` }),
  );
  let opened!: (k: SessionKey | undefined) => void;
  let notOpened!: (e: unknown) => void;
  const key = new Promise<SessionKey | undefined>((res, rej) => ((opened = res), (notOpened = rej)));
  key.catch(() => undefined);
  const first = checkArchive(docker, pg, file, opts.passphrase, opened);
  first.catch(notOpened);
  const side = plan.then((p) => (p.kind === 'side' ? sideRestore(docker, pg, file, p, key, opts.passphrase) : undefined));
  if (opts.early) void side.then((s) => void s?.start());

  // Ctrl-C or SIGTERM before anything stops: the side database (maybe being filled) is dropped, and the
  // command ends with nothing changed (before, the signal killed it, which then changed nothing either).
  const interrupted = new AbortController();
  const stopListening = onInterrupt((signal) => interrupted.abort(signal));
  const onSignal = new Promise<never>((_, rej) =>
    interrupted.signal.addEventListener('abort', () =>
      rej(new PhaseComposeError('interrupted', `interrupted (${String(interrupted.signal.reason)}) before anything was stopped`, { details: ['nothing was changed'] }))),
  );
  onSignal.catch(() => undefined);
  const orSignal = <T>(work: Promise<T>) => Promise.race([work, onSignal]);

  let checked: Checked;
  let waves: ReturnType<typeof startWaves>;
  let names: string[];
  try {
    checked = await orSignal(first);
    log(`restore: archive ok: made ${checked.meta.created} from project ${checked.meta.project}, every checksum matches`);
    const unknown = unknownMigrations(await orSignal(applied), checked.meta.migrations);
    if (unknown.length && !opts.force) throw newerDatabaseError(unknown);
    if (unknown.length) log(`restore: --force: the live database has ${unknown.length} migrations the archive does not know`);
    waves = startWaves(stack.spec, appContainers(await orSignal(running)));
    names = [...new Set(waves.flat().map((c) => c.Labels[L_SERVICE] ?? c.Id.slice(0, 12)))];
    const ok = await orSignal(opts.confirm(
      `Restore ${file} (${checked.tables} tables with data, made ${checked.meta.created}) into database "${pg.db}" of project "${stack.project}"? This replaces the current data` +
        (names.length ? ` and stops ${names.join(', ')} meanwhile.` : '.'),
    ));
    if (!ok) throw new PhaseComposeError('problem', 'cancelled: nothing was changed');
  } catch (e) {
    const left = await (await side.catch(() => undefined))?.cancel();
    if (left) log(`restore: could not drop the unused side database: ${left}`);
    throw e;
  } finally {
    stopListening();
  }

  const p = await plan;
  const s = await side;
  const result = { tables: checked.tables, stopped: names, archived: newestMigrations(checked.meta.migrations) };
  if (p.kind === 'in-place' || !s) {
    if (p.kind === 'in-place') log(`restore: restoring in place, as the database cannot be swapped: ${p.why}`);
    await withStopped(docker, waves, log, async () => {
      log(`restore: pg_restore --clean --if-exists --single-transaction into ${pg.db}`);
      const { exec: r } = await pipeDump(docker, pg, file, afterCheck(checked, opts.passphrase), pgRestoreArgv(pg.user, pg.db));
      if (r.exitCode !== 0) throw restoreFailed(r);
    });
    return result;
  }

  log(`restore: pg_restore into a new database ${p.names.side}; it takes the name ${pg.db} once complete`);
  const restoring = s.start();
  await withStopped(docker, waves, log, async () => {
    let r: Awaited<typeof restoring>;
    try {
      r = await restoring;
      if (r.exec.exitCode !== 0) throw restoreFailed(r.exec);
      if (JSON.stringify(r.contents.manifest) !== JSON.stringify(checked.manifest)) {
        throw new PhaseComposeError('problem', `${file} changed while it was restored: what was restored is not what was checked`, { details: ['the database is as before'] });
      }
      await runSql(docker, { ...pg, db: p.names.maintenance }, SWAP_SQL, s.vars, `renaming ${p.names.side} to ${pg.db}`).catch((e: Error) => {
        throw new PhaseComposeError('failed', `could not put the restored database in place: ${e.message}`, {
          details: [...((e as PhaseComposeError).details ?? []), `the database ${pg.db} is as before`],
        });
      });
    } catch (e) {
      const left = await s.cancel();
      if (left) log(`restore: could not drop ${p.names.side}: ${left}`);
      throw e;
    }
    // The replaced data is dropped by the server after we are gone: DROP DATABASE forces a checkpoint
    // (a second or more after a restore), and nothing uses that database any more. Should it not go, it
    // keeps its mark, and the next restore drops it.
    await execDetached(docker, pg.containerId, dropdbArgv(pg, p.names.old)).then(
      () => log(`restore: ${p.names.side} is now ${pg.db}; the server drops the replaced data (${p.names.old}) meanwhile`),
      (e: Error) => log(`restore: ${p.names.side} is now ${pg.db}; warning: the replaced data stays in database ${p.names.old} (${e.message}); the next restore drops it`),
    );
  });
  return result;
}

const restoreFailed = (r: { exitCode: number; stderr: string }) =>
  new PhaseComposeError('failed', `pg_restore failed (exit ${r.exitCode}); the transaction was rolled back, the database is as before`, {
    details: r.stderr.trim().split('\n').slice(-10),
  });
