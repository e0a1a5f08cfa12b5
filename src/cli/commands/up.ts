// `phase-compose up`: ordered, event-driven start-up with migration gating and failure reports.
import { join, resolve } from 'node:path';
import { buildPlan, coldStart, migrationPlan, type MigrationPhase, type Plan } from '../../up/plan.js';
import { jsonRenderer, plainRenderer, ttyRenderer, type ProgressRenderer } from '../../up/progress.js';
import { failureReport, standingReport } from '../../up/report.js';
import { systemClock } from '../../up/clock.js';
import { dockerEngine } from '../../up/engine.js';
import { backupSettings, takeBackup } from '../../up/pending.js';
import { waitForEarlierMigrations } from '../../up/earlier-migration.js';
import { migrationsName, postMigrationsName, proxyName } from '../../spec/graph.js';
import { runUp, type ComposeCreator, type UpOutcome } from '../../up/run.js';
import { gatedCreator, withPrepared } from '../../up/compose-creator.js';
import { connectDocker, type DockerClient } from '../../docker/client.js';
import { listProject } from '../../docker/containers.js';
import { L_SERVICE, driftedServices } from '../../docker/labels.js';
import { openStack, type Stack, type WithCompose } from '../../stack/open.js';
import { syncStackFiles } from '../../stack/outputs.js';
import type { NormalisedSpec } from '../../spec/normalise.js';
import type { Replacement, RunningContainer, Wanted } from '../../upgrade/plan.js';
import { mergeDeployed, readDeployed, recreatedServices, saveDeployed, type Deployed } from '../../upgrade/record.js';
import { parseCliDuration } from '../../util/duration.js';
import { readStackText } from '../../util/fs.js';
import { abortOnInterrupt } from '../../util/signals.js';
import { PhaseComposeError, formatProblem } from '../../util/errors.js';
import type { Io } from '../io.js';
import { OK, reported, type ExitCodeOf, type Outcome } from '../outcome.js';

export type UpArgs = {
  file: string;
  projectName?: string;
  timeout?: string;
  forceMigrations?: boolean;
  json?: boolean;
  services?: string[];
  /** `up` on a running stack: recreate changed services at once (an outage) instead of refusing. */
  recreate?: boolean;
};

const isMigration = (spec: NormalisedSpec, service: string) => service === migrationsName(spec) || (!!spec.migrations?.post && service === postMigrationsName(spec));

/** Picks the renderer: JSON lines, live lines on a TTY, else plain lines. */
export function rendererFor(io: Io, json: boolean | undefined): ProgressRenderer {
  if (json) return jsonRenderer(io.out);
  if (io.isTTY) return ttyRenderer((chunk) => io.out(chunk.replace(/\n$/, '')), () => process.stdout.columns);
  return plainRenderer(io.out);
}

/** `--timeout` in ms (default 5m); a bad value is a usage error. */
export const timeoutMs = (t: string | undefined) => {
  try {
    return parseCliDuration(t ?? '5m');
  } catch (e) {
    throw new PhaseComposeError('usage', `--timeout: ${(e as Error).message}`);
  }
};

/**
 * Runs a plan with progress output (the `notes` first), Ctrl-C handling and the reports; a failure,
 * time-out or Ctrl-C is reported here. `exitCodeOf` gives the exit code the JSON result names.
 */
export async function runPlan(
  { stack, docker, notes }: { stack: Stack; docker: DockerClient; notes: string[] },
  plan: Plan, args: UpArgs, io: Io, exitCodeOf: ExitCodeOf, verb: string, compose: ComposeCreator,
): Promise<{ result: Outcome; outcome: UpOutcome }> {
  const ms = timeoutMs(args.timeout);
  const progress = rendererFor(io, args.json);
  for (const n of notes) progress.note(n);
  const settings = backupSettings(stack.spec);
  const started = Date.now();
  const { result: outcome } = await abortOnInterrupt((signal) =>
    runUp(
      {
        engine: dockerEngine(docker),
        compose,
        clock: systemClock,
        progress,
        signal,
        ...(settings ? { backup: () => takeBackup(docker, stack, settings, signal) } : {}),
      },
      { project: stack.project, plan, timeoutMs: ms, forceMigrations: args.forceMigrations },
    ),
  );
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const result = outcome.status === 'ready' ? OK : reported(outcome.status);
  if (args.json) {
    io.out(JSON.stringify({ event: 'result', status: outcome.status, exitCode: exitCodeOf(result), seconds: Number(secs), services: outcome.rows, migrations: outcome.migrations, backup: outcome.backup, failures: outcome.failures }));
    return { result, outcome };
  }
  if (outcome.status === 'ready') {
    io.out(`${verb} ${stack.project}: ready in ${secs}s`);
    return { result, outcome };
  }
  for (const f of outcome.failures) io.err(failureReport(f));
  if (outcome.failures.some((f) => isMigration(stack.spec, f.service)) && stack.spec.data.postgres) {
    const { invalidIndexes, invalidIndexLines } = await import('../../exec/postgres.js');
    const lines = await invalidIndexes(docker, stack).then(invalidIndexLines, (e: Error) => [`invalid indexes: could not look (${e.message})`]);
    for (const l of lines) io.err(l);
  }
  if (outcome.status === 'interrupted') io.err(`interrupted after ${secs}s; containers are left as they are. Where each service stood:`);
  else io.err(`${verb} ${stack.project}: ${outcome.status === 'timeout' ? `timed out after ${secs}s` : `failed after ${secs}s`}. Where each service stood:`);
  io.err(standingReport(outcome.rows.map((r) => ({ service: r.service, state: r.state, elapsedMs: r.elapsedMs }))));
  return { result, outcome };
}

/**
 * Waits for a migration container that an earlier run left running (it is never stopped, and nothing
 * may replace it while it runs); throws `timeout` when it still runs at the end of `--timeout`.
 */
export async function awaitEarlierMigrations(docker: DockerClient, stack: Stack, args: Pick<UpArgs, 'timeout' | 'json'>, io: Io): Promise<void> {
  const mig = stack.spec.migrations;
  if (!mig) return;
  const ms = timeoutMs(args.timeout);
  const note = rendererFor(io, args.json).note;
  const services = [migrationsName(stack.spec), ...(mig.post ? [postMigrationsName(stack.spec)] : [])];
  const deadline = systemClock.now() + ms;
  const { result: found, signal } = await abortOnInterrupt((signal) =>
    waitForEarlierMigrations(dockerEngine(docker), { project: stack.project, migrationServices: services, deadline, clock: systemClock, signal, note }),
  );
  const left = found.find((f) => f.stillRunning);
  if (signal.aborted) throw new PhaseComposeError('interrupted', `interrupted while an earlier run's migration still runs in ${left?.container ?? 'its container'}; it was left running`);
  if (left) {
    throw new PhaseComposeError('timeout', `an earlier run's migration still runs in ${left.container} after ${args.timeout ?? '5m'}; it was left running (a migration is never killed: a half-built index would wedge the next deploy)`, {
      details: [`follow it: docker logs -f ${left.container}`, 'run the command again once it has ended'],
    });
  }
}

/** Where the proxy's generated config is, when the spec has a proxy. */
export const proxyConfigPath = (stack: Stack): string | undefined => (stack.spec.proxy ? resolve(stack.specDir, stack.spec.proxy.config) : undefined);

/** The generated files as they are on disk now: the compose file, and the proxy's config. */
export function deployedNow(stack: Stack): Deployed {
  const path = proxyConfigPath(stack);
  const text = path ? readStackText(path) : undefined;
  const compose = readStackText(stack.composeFile);
  if (compose === undefined) throw new PhaseComposeError('problem', `${stack.composeFile} is missing: run \`phase-compose generate\``);
  return {
    compose,
    ...(path && text !== undefined ? { proxy: { path, text } } : {}),
  };
}

/**
 * Records the files the stack now runs from (see upgrade/record.ts). Not being able to is said, and is
 * not a failure of the command that already succeeded.
 */
export function rememberDeployed(stack: Stack, io: Io, d: Deployed = deployedNow(stack)): void {
  try {
    saveDeployed(stack.specDir, stack.project, d);
  } catch (e) {
    io.err(`warning: could not record the files this stack runs from in ${join(stack.specDir, '.phase-compose')} (${(e as Error).message}); a rollback after the next upgrade returns to the compose file as it was when that upgrade started`);
  }
}

/** Records that `services` now run from the files (an `up` of some services); the rest as recorded. */
function rememberSome(stack: Stack, io: Io, services: string[]): void {
  const now = deployedNow(stack);
  const merged = mergeDeployed(readDeployed(stack.specDir, stack.project).compose, now.compose, services);
  if (merged === undefined) return; // nothing recorded to start from: the next full `up` or `upgrade` records it
  const proxy = stack.spec.proxy && services.includes(proxyName(stack.spec)) ? now.proxy : undefined;
  rememberDeployed(stack, io, { compose: merged, ...(proxy ? { proxy } : {}) });
}

/**
 * After an `up` that did not end ready (a timeout, a failure, Ctrl-C): the services whose every running
 * container this run created (none of `existed`, the project's containers in any state before it: one
 * merely started again may have been made from older files) run from these files all the same, and are
 * recorded so. Until 2026-11-29 nothing was, and after a failed `up --recreate` the next `up` was
 * refused over the very change the containers already ran ("backend (healthcheck) changed"). A record
 * only: never fails the command.
 */
async function rememberRecreated(docker: DockerClient, stack: Stack, io: Io, existed: ReadonlySet<string>): Promise<void> {
  try {
    const now = (await listProject(docker, stack.project)).filter((c) => c.State === 'running' || c.State === 'restarting');
    const fresh = recreatedServices(existed, now.map((c) => ({ id: c.Id, service: c.Labels[L_SERVICE] ?? '' })));
    if (fresh.length) rememberSome(stack, io, fresh);
  } catch {
    // The next `up` compares with the record as it was: at worst it refuses, naming the change.
  }
}

/**
 * phase-compose has Compose create with `--no-deps`; an affected Compose v2 (2.19 until 2.29.3) then
 * labels the services that wait on others with a hash a plain `docker compose up` disagrees with, and
 * that would recreate them all at once though nothing changed. Says so (stderr), naming them; never
 * fails the command.
 */
export async function warnComposeDrift(docker: DockerClient, stack: Stack, io: Io): Promise<void> {
  try {
    const withDeps = new Set(buildPlan(stack.spec).steps.filter((s) => s.deps.length).map((s) => s.service));
    const { services, compose } = driftedServices(await listProject(docker, stack.project), withDeps);
    if (!services.length) return;
    io.err(
      `warning: Compose ${compose} created ${services.join(', ')} with a config hash that leaves out depends_on (Compose 2.19 to 2.29.2 do so with --no-deps, ` +
        `docker/compose#12069), so a plain \`docker compose up\` on this stack would recreate them all at once though nothing changed: ` +
        `run phase-compose up or upgrade here, or install Compose 2.29.3 or newer`,
    );
  } catch {
    // A warning only: the command's own outcome stands.
  }
}

/** The proxy's service, when the spec gives it TLS: its containers' certificate is compared with the host's file. */
export const tlsProxy = (spec: NormalisedSpec): string | undefined => (spec.proxy?.tls ? spec.proxy.service : undefined);

/** What the proxy wants gets the hash of the certificate file on the host now (what a new container would read). */
export function wantCertificate(stack: Stack, wanted: Record<string, Wanted>, onHost: (path: string) => string | undefined): Record<string, Wanted> {
  const p = stack.spec.proxy;
  const w = p?.tls ? wanted[p.service] : undefined;
  const hash = p?.tls ? onHost(resolve(stack.specDir, p.tls.cert)) : undefined;
  if (w && hash) w.tlsCertSha256 = hash;
  return wanted;
}

/** Whether `service` serves requests (an app service or the proxy), as against a job or a data service. */
const longRunning = (spec: NormalisedSpec, service: string) => spec.services[service]?.role === 'service' || service === spec.proxy?.service;

/** The long-running services of a running stack that differ from what the files now say. */
async function changedServices(docker: DockerClient, stack: Stack & WithCompose, running: RunningContainer[], beforeSync?: string): Promise<Replacement[]> {
  if (!running.some((c) => longRunning(stack.spec, c.service))) return [];
  const { certificateOnHost, wantedServices } = await import('../../upgrade/observe.js');
  const { upgradePlan, withFileChanges } = await import('../../upgrade/plan.js');
  const wanted = wantCertificate(stack, await wantedServices(docker, stack.compose), certificateOnHost);
  // What the containers' inspect cannot tell (a healthcheck or a volume changed, a key removed): the
  // compose file they were created from, as recorded (else as it was before this run wrote it), against this one.
  withFileChanges(wanted, readDeployed(stack.specDir, stack.project).compose ?? beforeSync, readStackText(stack.composeFile));
  return upgradePlan(stack.spec, running, wanted).replace;
}

/**
 * `up --recreate` accepts the outage, and Compose recreates what changed in the compose file. A proxy
 * whose certificate file was replaced on the host changed nowhere Compose looks: its container is
 * removed here, before the gate opens, so that Compose creates it anew.
 */
async function dropStaleCertificates(docker: DockerClient, stack: Stack & WithCompose, running: RunningContainer[], notes: string[]): Promise<void> {
  if (!tlsProxy(stack.spec)) return;
  for (const r of await changedServices(docker, stack, running)) {
    if (!r.why.includes('certificate')) continue;
    for (const c of r.old) {
      await docker.getContainer(c.id).remove({ force: true });
      notes.push(`${r.service}: removed ${c.name}, which read an older TLS certificate than the file on the host; Compose creates it anew`);
    }
  }
}

/**
 * `up` on a running stack whose long-running services changed would have Compose stop every replica
 * before the new ones start: refuse, and point to `upgrade` (rolling, no outage) or `--recreate`. Only
 * the services this `up` has Compose create count: `up worker` leaves a changed backend alone (until
 * 2026-11-29 it was refused over it).
 */
async function refuseOutage(docker: DockerClient, stack: Stack & WithCompose, running: RunningContainer[], beforeSync: string | undefined, touched: ReadonlySet<string>): Promise<void> {
  const changed = (await changedServices(docker, stack, running, beforeSync)).filter((r) => touched.has(r.service));
  if (!changed.length) return;
  throw new PhaseComposeError('problem', `the stack is running and ${changed.map((r) => `${r.service} (${r.why.join(' and ')})`).join(', ')} changed: Compose would stop every replica before the new ones start`, {
    details: ['`phase-compose upgrade` replaces them without an outage (rolling, with the migrations in order)', '`phase-compose up --recreate` recreates them at once, accepting the outage'],
  });
}

/**
 * Opens the stack, takes its lock, brings the generated files up to date (only now: a refused `up`
 * changes nothing) and runs the plan `planOf` gives. The first batch's Compose process is started
 * before Docker's client is even loaded: it spends its start-up meanwhile, and the gate holds its
 * changes until the runner listens to events.
 */
async function runStack(args: UpArgs, io: Io, exitCodeOf: ExitCodeOf, verb: string, planOf: (spec: NormalisedSpec) => Plan): Promise<Outcome> {
  const stack = openStack(args, { compose: true, lock: verb });
  try {
    // The plan first: a command it refuses (an unknown service, `migrate` without migrations) writes nothing.
    const plan = planOf(stack.spec);
    const notes = stack.warnings.map(formatProblem);
    const beforeSync = readStackText(stack.composeFile);
    for (const p of syncStackFiles(stack)) notes.push(`wrote ${p} (it was missing or out of date with the spec)`);
    const creator = gatedCreator(stack.compose, plan);
    const first = plan.batches.find((b) => !b.after.length)?.services ?? [];
    const compose = withPrepared(creator, first, creator.prepare(first));
    try {
      const docker = await connectDocker();
      // Before the gate opens (nothing can replace a container until then): an earlier run's migration ends first.
      await awaitEarlierMigrations(docker, stack, args, io);
      const { runningContainers } = await import('../../upgrade/observe.js');
      const running = await runningContainers(docker, stack.project, tlsProxy(stack.spec));
      if (verb === 'up' && !args.recreate) await refuseOutage(docker, stack, running, beforeSync, new Set(plan.steps.map((st) => st.service)));
      if (verb === 'up' && args.recreate) await dropStaleCertificates(docker, stack, running, notes);
      // No app container runs: nothing serves the old code, so the post phase need not wait for the app.
      const cold = !running.some((c) => longRunning(stack.spec, c.service));
      const post = plan.steps.find((s) => s.migration?.phase === 'post' && s.deps.some((d) => longRunning(stack.spec, d.on)));
      if (cold && post) notes.push(`${post.service}: no app container was running, so no old code serves; the post-deploy phase runs once the pre-deploy phase is done, beside the app's start`);
      // Every container of the project before the run, whatever its state: one not among them was created by it.
      // (A record only: when they cannot be listed, nothing is recorded after a run that does not end ready.)
      const existed = verb === 'up' ? await listProject(docker, stack.project).then((l) => new Set(l.map((c) => c.Id)), () => undefined) : undefined;
      const { result, outcome } = await runPlan({ stack, docker, notes }, cold ? coldStart(plan) : plan, args, io, exitCodeOf, verb, compose);
      // Every long-running service now runs from these files: what `upgrade` saves for `rollback`.
      if (verb === 'up' && outcome.status === 'ready') {
        if (!args.services?.length) rememberDeployed(stack, io);
        // Those services (and what they wait on) now run from these files: until 2026-11-29 nothing was
        // recorded, and the next `up` refused an unchanged stack ("backend (healthcheck) changed").
        else rememberSome(stack, io, plan.steps.map((st) => st.service));
      }
      if (verb === 'up' && outcome.status === 'ready') await warnComposeDrift(docker, stack, io);
      await outcome.settled; // the lock is held until every Compose call of the run exited
      if (existed && outcome.status !== 'ready') await rememberRecreated(docker, stack, io, existed);
      return result;
    } finally {
      compose.dispose();
    }
  } finally {
    stack.lock.release();
  }
}

/** Runs `up`. */
export async function runUpCommand(args: UpArgs, io: Io, exitCodeOf: ExitCodeOf): Promise<Outcome> {
  return runStack(args, io, exitCodeOf, 'up', (spec) => buildPlan(spec, args.services?.length ? args.services : undefined));
}

/** Runs `migrate`: the data services and the chosen migration phases only. */
export async function runMigrateCommand(args: UpArgs & { phase?: MigrationPhase }, io: Io, exitCodeOf: ExitCodeOf): Promise<Outcome> {
  return runStack(args, io, exitCodeOf, 'migrate', (spec) => {
    if (!spec.migrations) throw new PhaseComposeError('usage', 'the spec has no migrations section');
    const phases: MigrationPhase[] = args.phase ? [args.phase] : spec.migrations.post ? ['pre', 'post'] : ['pre'];
    return migrationPlan(spec, phases);
  });
}
