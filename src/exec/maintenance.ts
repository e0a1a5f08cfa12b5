// `phase-compose exec <task>`: runs a maintenance task from the spec in its service's running container
// (argv, no shell), streaming its output, with the extra checks of Phase's own tasks layered on by `kind`.
import type { Writable } from 'node:stream';
import type { DockerClient } from '../docker/client.js';
import { containerName, runningContainer } from '../docker/containers.js';
import { execIn, type ExecResult } from '../docker/exec.js';
import { renderTaskArgv, resolveParams, type ParamValues } from '../model/task.js';
import type { NormalisedSpec, NormalisedTask } from '../spec/normalise.js';
import type { Stack } from '../stack/open.js';
import { PhaseComposeError } from '../util/errors.js';
import { formatSizeReport, ORG_APP_SQL, parseTableSize, PURGE_COUNT_SQL, SIZE_SQL, vacuumSql, type TableSize } from './audit-sql.js';
import { parseResetResult, resetNetworkPoliciesArgv } from './network-reset.js';
import { SqlError, findPostgres, runSql, type PgTarget } from './postgres.js';


/** Where a task's output goes, and how to ask the user. */
export type ExecIo = {
  /** Our own report lines. */
  out: (line: string) => void;
  err: (line: string) => void;
  /** The task's live output. */
  stdout: Writable;
  stderr: Writable;
  /** Asks a yes/no question (the CLI answers yes for --yes and refuses without a TTY). */
  confirm: (question: string) => Promise<boolean>;
  /** Milliseconds, for the task's run time (default performance.now). */
  clock?: () => number;
  /** Ctrl-C and SIGTERM, forwarded to the task in its container (`stop`; `kill`: SIGKILL). Before it starts: it never does. */
  forward?: { stop: AbortSignal; kill?: AbortSignal };
};

/** A task that `forward` reached (or tried to): an `interrupted` error that says whether it still runs. */
export function forwardedError(what: string, container: string, r: Pick<ExecResult, 'exitCode' | 'forwarded'>, done = 'what it had done before it stopped stays done'): PhaseComposeError | undefined {
  const f = r.forwarded;
  if (!f) return undefined;
  if (f.delivered) {
    return new PhaseComposeError('interrupted', `interrupted: ${what} got ${f.signal} in ${container} and ended (exit ${r.exitCode})`, { details: [done] });
  }
  return new PhaseComposeError('interrupted', `interrupted: ${f.signal} could not be sent to ${what}: it may still be running in ${container}`, {
    details: [`see \`docker top ${container}\`; restarting the container stops it`],
  });
}

/** Ctrl-C before the task started: it never does. */
function notStarted(io: Pick<ExecIo, 'forward'>, what: string): void {
  const s = io.forward?.stop;
  if (s?.aborted) throw new PhaseComposeError('interrupted', `interrupted (${String(s.reason)}) before ${what} started: nothing ran`);
}

export type MaintenanceOptions = {
  /** phase-purge: count what would be deleted; delete nothing. */
  dryRun?: boolean;
  /** phase-purge: VACUUM after a successful purge. */
  vacuum?: 'analyze' | 'full';
};

/** The task named `name`, or a usage error listing the ones the spec has. */
export function findTask(spec: NormalisedSpec, name: string): NormalisedTask {
  const task = Object.hasOwn(spec.maintenance, name) ? spec.maintenance[name] : undefined;
  if (task) return task;
  const have = Object.keys(spec.maintenance);
  throw new PhaseComposeError('usage', `the spec has no maintenance task "${name}"`, {
    details: [have.length ? `tasks: ${have.join(', ')}` : 'declare tasks under `maintenance:` in the spec', 'or run any command with `phase-compose exec run <service> -- <argv...>`'],
  });
}

/** Runs an argv in a service's running container, streaming its output; returns the exit code. */
export async function runInService(docker: DockerClient, stack: Pick<Stack, 'project' | 'spec'>, service: string, argv: string[], io: Pick<ExecIo, 'stdout' | 'stderr' | 'forward'>): Promise<number> {
  const c = await runningContainer(docker, stack.project, service);
  notStarted(io, 'the command');
  const r = await execIn(docker, c.Id, argv, { stdout: io.stdout, stderr: io.stderr, capture: false, ...(io.forward ? { forward: io.forward } : {}) });
  const stopped = forwardedError('the command', containerName(c), r);
  if (stopped) throw stopped;
  return r.exitCode;
}

/**
 * Before the task, in one psql run (each exec costs ~70 ms): Phase's organisation (and app) must exist,
 * since purge_app_logs errors but disable_org_sso exits 0 without; and the table's size, when reported.
 */
async function preflight(docker: DockerClient, pg: PgTarget, check: { org: string; app: string } | undefined, table: string | undefined): Promise<TableSize | undefined> {
  if (!check && !table) return undefined;
  const sql = (check ? ORG_APP_SQL : '') + (table ? SIZE_SQL : '');
  const rows = await runSql(docker, pg, sql, { ...check, ...(table ? { table } : {}) }, check ? 'organisation lookup' : `size of ${table}`);
  const orgRow = check ? rows.shift() : undefined;
  if (check) {
    if (orgRow?.[0] !== '1') {
      throw new PhaseComposeError('not-found', `organisation ${JSON.stringify(check.org)} does not exist`, { details: ['names are case-sensitive; list them with `phase-compose exec run postgres -- psql ...` or in the Phase console'] });
    }
    if (check.app && orgRow?.[1] !== '1') throw new PhaseComposeError('not-found', `app ${JSON.stringify(check.app)} is not an app of organisation ${JSON.stringify(check.org)}`);
  }
  if (!table) return undefined;
  const size = parseTableSize(rows);
  if (!size) throw new PhaseComposeError('problem', `table "${table}" (maintenance report.table) does not exist in the database`);
  return size;
}

/** The table's size (after the task): the same query, alone. */
const tableSize = async (docker: DockerClient, pg: PgTarget, table: string): Promise<TableSize> => (await preflight(docker, pg, undefined, table))!;

/** Runs maintenance task `name` with parameter values; returns the task's exit code, undefined for a dry run (no task runs). */
export async function runMaintenance(docker: DockerClient, stack: Pick<Stack, 'project' | 'spec'>, name: string, given: ParamValues, io: ExecIo, opts: MaintenanceOptions = {}): Promise<number | undefined> {
  const task = findTask(stack.spec, name);
  const kind = task.kind;
  if ((opts.dryRun || opts.vacuum) && kind !== 'phase-purge') {
    throw new PhaseComposeError('usage', `${opts.dryRun ? '--dry-run' : '--vacuum'} needs a purge task of \`kind: phase-purge\` (task "${name}" has ${kind ? `kind ${kind}` : 'no kind'})`);
  }
  // VACUUM runs on report.table: without one, --vacuum asked (and --vacuum-full confirmed) and did nothing.
  if (opts.vacuum && !task.report?.table) {
    throw new PhaseComposeError('usage', `--vacuum${opts.vacuum === 'full' ? '-full' : ''} needs the table to vacuum: task "${name}" has no report.table`, { details: ['add report: { table: <its audit table> } to the task in the spec'] });
  }
  const values = resolveParams(task, given, name);
  const argv = renderTaskArgv(task, values);

  if (opts.vacuum === 'full' && !opts.dryRun) {
    const ok = await io.confirm(`VACUUM FULL rewrites ${task.report?.table ?? 'the table'} and holds an exclusive lock on it until done: the app cannot read or write audit events meanwhile. Continue?`);
    if (!ok) throw new PhaseComposeError('problem', 'cancelled: nothing was changed');
  }

  // Container checks first, so a stopped stack gives one clear error before anything runs; the two
  // lookups are independent and run at once.
  const needsPg = !!task.report || kind === 'phase-purge' || kind === 'phase-sso';
  const [app, pg] = await Promise.all([
    opts.dryRun ? undefined : runningContainer(docker, stack.project, task.service),
    needsPg ? findPostgres(docker, stack) : undefined,
  ]);

  const table = task.report?.table;
  const check = kind === 'phase-purge' || kind === 'phase-sso' ? { org: String(values.org ?? ''), app: String(values.app_id ?? '') } : undefined;
  const before = pg ? await preflight(docker, pg, check, table) : undefined;
  if (before && table) for (const l of formatSizeReport(table, before)) io.out(l);

  if (opts.dryRun && pg) {
    const retain = values.retain === undefined ? 30 : Number(values.retain);
    const [row] = await runSql(docker, pg, PURGE_COUNT_SQL, { org: String(values.org), app: String(values.app_id ?? ''), retain: String(retain) }, 'dry-run count');
    io.out(`dry run: would delete ${row?.[0] ?? '?'} READ events of ${JSON.stringify(values.org)}${values.app_id ? ` app ${values.app_id}` : ''} with timestamp <= now - ${retain} days; nothing was deleted`);
    return undefined;
  }

  let output = '';
  const capture = kind === 'phase-reset-network-policies';
  const clock = io.clock ?? (() => performance.now());
  notStarted(io, `task "${name}"`);
  const t0 = clock();
  const r = await execIn(docker, app!.Id, argv, { stdout: io.stdout, stderr: io.stderr, capture, ...(io.forward ? { forward: io.forward } : {}) });
  output = r.output;
  io.err(`task "${name}" ran ${((clock() - t0) / 1000).toFixed(2)}s in ${task.service}, exit ${r.exitCode}`);

  if (capture) {
    const res = parseResetResult(output);
    if (res) io.out(`network access policies: ${res.changed} of ${res.total} changed (is_global -> False)`);
    else if (r.exitCode === 0) io.err('could not read how many policies changed from the output');
  }

  // Ctrl-C that came as the task ended (nothing was sent to it) also means: no VACUUM.
  const stopAsked = !!r.forwarded || !!io.forward?.stop.aborted;
  let vacuumStopped: PhaseComposeError | undefined;
  if (pg && table && opts.vacuum && r.exitCode === 0 && !stopAsked) {
    io.out(opts.vacuum === 'full' ? `VACUUM FULL ANALYZE ${table} (the table is locked until it finishes)` : `VACUUM (ANALYZE) ${table}`);
    try {
      await runSql(docker, pg, vacuumSql(opts.vacuum === 'full'), { table }, 'VACUUM', undefined, io.forward);
    } catch (e) {
      // Ctrl-C reached psql, which had the server cancel the VACUUM: the size report still follows.
      vacuumStopped = e instanceof SqlError ? forwardedError('the VACUUM', 'the postgres container', e.result, `the task before it ended (exit 0); the server cancelled the VACUUM`) : undefined;
      if (!vacuumStopped) throw e;
    }
  }
  if (pg && table && before) {
    const after = await tableSize(docker, pg, table);
    for (const l of formatSizeReport(table, before, after)) io.out(l);
  }
  const stopped = forwardedError(`task "${name}"`, containerName(app!), r, kind === 'phase-purge' ? 'the batches it deleted stay deleted (each is committed); run it again to go on' : undefined);
  if (stopped) throw stopped;
  if (vacuumStopped) throw vacuumStopped;
  if (stopAsked && opts.vacuum && r.exitCode === 0) {
    throw new PhaseComposeError('interrupted', `interrupted (${String(io.forward!.stop.reason)}) as task "${name}" ended (exit 0): the VACUUM was not run`);
  }
  return r.exitCode;
}

/** The reset task: the spec's, else the built-in one run in `service` (default: the first app service). */
export function resetTask(spec: NormalisedSpec, service?: string): { name: string; task: NormalisedTask } {
  const found = Object.entries(spec.maintenance).find(([, t]) => t.kind === 'phase-reset-network-policies');
  if (found && !service) return { name: found[0], task: found[1] };
  const svc = service ?? found?.[1].service ?? Object.keys(spec.services)[0]!; // --service, else the spec's task's, else the first app service: a choice of target, not a spec default
  return { name: 'reset-network-policies', task: { service: svc, kind: 'phase-reset-network-policies', argv: resetNetworkPoliciesArgv(), params: {} } };
}
