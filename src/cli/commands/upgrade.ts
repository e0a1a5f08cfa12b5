// `phase-compose upgrade` and `rollback`: plan, back up, pre-deploy migrations with the new image while
// the old app serves, rolling replacement of each changed long-running service, post-deploy migrations.
import { existsSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connectDocker, type DockerClient } from '../../docker/client.js';
import type { ComposeTarget } from '../../docker/compose-cli.js';
import { listProject } from '../../docker/containers.js';
import { L_SERVICE } from '../../docker/labels.js';
import { mergeEnvFile, removeEnvKeys, parseEnvFile } from '../../init/env-file.js';
import { LABEL_PROBE } from '../../model/compose.js';
import { migrationsName } from '../../spec/graph.js';
import type { NormalisedSpec } from '../../spec/normalise.js';
import { openStack, type Stack, type WithCompose } from '../../stack/open.js';
import { renderStackFiles, staleFiles, syncStackFiles } from '../../stack/outputs.js';
import { systemClock } from '../../up/clock.js';
import { gatedCreator, withPrepared } from '../../up/compose-creator.js';
import { runLike } from '../../up/engine.js';
import { migrationChecks, migrationPlan, type MigrationPhase } from '../../up/plan.js';
import { failureReport } from '../../up/report.js';
import type { UpOutcome } from '../../up/run.js';
import { certificateOnHost, rollEdges, runningContainers, wantedServices } from '../../upgrade/observe.js';
import { dataChangeRefusal, planLines, withFileChanges, upgradePlan, type UpgradePlan } from '../../upgrade/plan.js';
import { discardSaved, previousComposePath, priorRecord, readDeployed, readRecord, restorePreviousProxy, revertRecord, savePreviousCompose, savePreviousProxy, saveUpgradedCompose, stampOf, writeRecord, type Deployed, type UpgradeRecord } from '../../upgrade/record.js';
import { rollingReplace, type RollResult } from '../../upgrade/rolling.js';
import { PhaseComposeError, formatProblem } from '../../util/errors.js';
import { readStackText, writeFileAtomic } from '../../util/fs.js';
import { abortOnInterrupt, type Arrivals, type Interrupt } from '../../util/signals.js';
import type { Io } from '../io.js';
import { cliConfirm } from '../prompt.js';
import { OK, reported, type ExitCodeOf, type Outcome } from '../outcome.js';
import { awaitEarlierMigrations, deployedNow, proxyConfigPath, rememberDeployed, rendererFor, warnComposeDrift, runPlan, timeoutMs, tlsProxy, wantCertificate, type UpArgs } from './up.js';

export type UpgradeArgs = UpArgs & { to?: string; dryRun?: boolean; yes?: boolean; skipPost?: boolean; isTTY?: boolean };

/** A Docker image tag: what `--to` may be. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const VAR_IN_IMAGE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** The variables the app's images name (`phasehq/backend:${PHASE_VERSION}` → PHASE_VERSION). */
export function versionVariables(spec: NormalisedSpec): string[] {
  const images = [...Object.values(spec.services).map((s) => s.image), ...(spec.migrations?.image ? [spec.migrations.image] : [])];
  const vars = new Set<string>();
  for (const image of images) for (const m of image.replaceAll('$$', '').matchAll(VAR_IN_IMAGE)) vars.add(m[1] ?? m[2]!);
  return [...vars].sort();
}

/** `--to`: the version variable and its new value. */
function versionChange(spec: NormalisedSpec, to: string): { name: string; to: string } {
  if (!TAG.test(to)) throw new PhaseComposeError('usage', `--to: ${JSON.stringify(to)} is not an image tag (letters, digits, _ . -; at most 128; not starting with . or -)`);
  const vars = versionVariables(spec);
  if (vars.length !== 1) {
    throw new PhaseComposeError('usage', vars.length ? `--to: the images name ${vars.length} variables (${vars.join(', ')}); it needs exactly one` : '--to: no image in the spec names a version variable', {
      details: ['write the version as a variable in the image, e.g. `image: phasehq/backend:${PHASE_VERSION}`, and set it in .env; or edit the spec and run `upgrade` without --to'],
    });
  }
  return { name: vars[0]!, to };
}

/** The `.env` Compose reads beside the compose file, and a variable's value there (the shell's wins, as in Compose). */
const dotEnvPath = (t: Pick<ComposeTarget, 'cwd'>) => join(t.cwd, '.env');
const currentValue = (t: ComposeTarget, name: string): string | undefined =>
  process.env[name] ?? parseEnvFile(readStackText(dotEnvPath(t)) ?? '')[name];

/**
 * Writes `name=value` into the `.env` beside the compose file, every other line kept; 0600. Returns
 * how to put the file back as it was (the text, or its absence). A `.env` that is a symbolic link is
 * written through it: before 2026-11-29 the link was replaced by a regular file holding a copy, and the
 * shared file it pointed to never got the new version.
 */
export function setDotEnv(t: Pick<ComposeTarget, 'cwd'>, name: string, value: string | undefined): () => void {
  const link = dotEnvPath(t);
  const p = (() => {
    try {
      return realpathSync(link);
    } catch {
      return link; // none yet (or a dangling link: written as a file, as before)
    }
  })();
  const before = readStackText(p);
  // Unset (value undefined): the line goes, as before the upgrade that added it (with its note).
  if (value === undefined) {
    if (before !== undefined) writeFileAtomic(p, removeEnvKeys(before, [name], DOTENV_NOTE), 0o600);
  } else writeFileAtomic(p, mergeEnvFile(before ?? '', { [name]: value }, {}, DOTENV_NOTE), 0o600);
  return () => (before === undefined ? rmSync(p, { force: true }) : writeFileAtomic(p, before, 0o600));
}
const DOTENV_NOTE = 'set by phase-compose upgrade';

const MIGRATION_WAIT_MS = 10 * 60_000;

/** Runs one migration phase through the start-up runner (data services, the phase's job, its backup). */
async function runPhase(stack: Stack & WithCompose, docker: DockerClient, phase: MigrationPhase, args: UpgradeArgs, io: Io, exitCodeOf: ExitCodeOf, pending: boolean | undefined): Promise<{ result: Outcome; outcome: UpOutcome }> {
  const plan = migrationPlan(stack.spec, [phase]);
  const creator = gatedCreator(stack.compose, plan);
  const first = plan.batches.find((b) => !b.after.length)?.services ?? [];
  const compose = withPrepared(creator, first, creator.prepare(first));
  try {
    // A migration phase waits at least 10 minutes (as `migrate` does), whatever --timeout gives new containers.
    const timeout = timeoutMs(args.timeout) > MIGRATION_WAIT_MS ? args.timeout : '10m';
    // The plan checked this phase with the new image under the lock: when it found migrations pending, the
    // runner does not check again (a container start and the app's boot) and goes straight to the backup.
    const r = await runPlan({ stack, docker, notes: [] }, plan, { ...args, timeout, forceMigrations: pending === true }, io, exitCodeOf, `${phase}-deploy migrations`, compose);
    await r.outcome.settled; // no Compose call of this phase is left running beside the next step's
    return r;
  } finally {
    compose.dispose();
  }
}

/** Pending per phase, checked with the new image (`image`) in a copy of the existing migrations container. */
async function pendingWithImage(docker: DockerClient, stack: Stack, image: string | undefined, signal?: AbortSignal): Promise<{ pre?: boolean; post?: boolean }> {
  const checks = migrationChecks(stack.spec);
  if (!stack.spec.migrations) return {};
  const base = (await listProject(docker, stack.project, migrationsName(stack.spec))).find((c) => c.Labels[L_SERVICE] === migrationsName(stack.spec) && c.State !== 'running');
  if (!base) return {};
  const one = async (argv: string[] | undefined) => (argv ? (await runLike(docker, base.Id, argv, { [LABEL_PROBE]: stack.project }, image, signal)).exitCode !== 0 : undefined);
  // Both read only; each is a container start and the app's boot, so they run side by side.
  const [pre, post] = await Promise.all([one(checks.pre), one(checks.post)]);
  return { ...(pre !== undefined ? { pre } : {}), ...(post !== undefined ? { post } : {}) };
}

const migrationCount = async (docker: DockerClient, stack: Stack): Promise<number | undefined> => {
  if (!stack.spec.data.postgres) return undefined;
  const { findPostgres, runSql } = await import('../../exec/postgres.js');
  return runSql(docker, await findPostgres(docker, stack), 'SELECT count(*) FROM django_migrations;\n').then((r) => Number(r[0]?.[0]), () => undefined);
};

/** The command that runs the same upgrade again. */
const upgradeAgain = (args: UpgradeArgs) => `phase-compose upgrade${args.to ? ` --to ${args.to}` : ''}`;

/**
 * The version an upgrade replaced: its Compose target (the variable's old value, or the compose file saved
 * before the upgrade), and the variable's old value that observe() pins, when it had one.
 */
const oldVersion = (
  stack: Stack & WithCompose,
  variable: { name: string; from?: string } | undefined,
  previousCompose: string,
): { target: ComposeTarget; pin: { name: string; value: string } | undefined } => ({
  // The saved copy lives in .phase-compose/: its relative paths (env_file, the proxy's config) are the stack's.
  target: variable ? { ...stack.compose, env: { [variable.name]: variable.from ?? '' } } : { ...stack.compose, file: previousCompose, projectDir: stack.compose.cwd },
  pin: variable?.from !== undefined ? { name: variable.name, value: variable.from } : undefined,
});

/**
 * The files the running containers were created from: as the last `up`, `upgrade` or `rollback` recorded
 * them, else (a stack started before that record existed) the files on disk before this run writes them.
 */
function runsFrom(stack: Stack): Partial<Deployed> {
  const saved = readDeployed(stack.specDir, stack.project);
  if (saved.compose === undefined) return existsSync(stack.composeFile) ? deployedNow(stack) : {};
  const path = proxyConfigPath(stack);
  return { compose: saved.compose, ...(path && saved.proxy !== undefined ? { proxy: { path, text: saved.proxy } } : {}) };
}

/** What the user sees about a failed rolling step. */
function rollFailureLines(r: Exclude<RollResult, { status: 'done' }>, from: string): string[] {
  const out: string[] = [];
  // Without a container to blame (Compose failed, the Engine refused a network change), the words alone:
  // until 2026-11-28 they were dropped, and Compose's own output never reached the user.
  out.push(r.failure ? failureReport(r.failure) : `✗ ${r.service}: ${r.what}`);
  if (r.removed.length) out.push(`removed the ${r.removed.length} new ${r.service} container(s)`);
  out.push(r.oldKept ? `${r.service}: the old containers were never stopped; ${from} still serves` : `${r.service}: it was replaced in place and is not serving; fix the cause and run upgrade again`);
  if (r.steps.length) out.push(`already replaced (now on the new version): ${r.steps.map((s) => s.service).join(', ')}`);
  return out;
}

/** A signal as the user knows it. */
const word = (s: Interrupt) => (s === 'SIGINT' ? 'Ctrl-C' : s);

/**
 * The rolling replacement of the plan's services, with Ctrl-C ending the wait (a drain or an in-place
 * replacement under way finishes). Ctrl-C again leaves at once: until 2026-11-29 it did nothing, and an
 * in-place replacement held up by a hung Engine kept the upgrade waiting with no way out but SIGKILL.
 */
async function replaceRolling(
  docker: DockerClient,
  target: ComposeTarget,
  plan: UpgradePlan,
  args: UpgradeArgs,
  note: (l: string) => void,
  after?: Arrivals,
): Promise<RollResult & { interruptedBy?: Interrupt; arrivals?: Arrivals }> {
  // The same for upgrade, rollback, and an upgrade's rolling back (`after` the signals that came to the
  // upgrade's step: the same one again leaves at once, as the first note said).
  const deadline = systemClock.now() + timeoutMs(args.timeout);
  const roll = (signal: AbortSignal) => {
    signal.addEventListener('abort', () => {
      const w = word(signal.reason as Interrupt);
      note(`${w}: the rolling step ends once what is under way finishes (a drain, an in-place replacement); ${w} again leaves at once`);
    }, { once: true });
    return rollingReplace(rollEdges(docker, target, { clock: systemClock, signal, note }), plan.replace, deadline);
  };
  const again = (s: Interrupt) => {
    note(`${word(s)} again: leaving now, the Compose calls under way stopped; what runs may be half replaced: \`phase-compose status\` shows it`);
    process.kill(process.pid, s);
  };
  const { result, signal, arrivals } = await abortOnInterrupt(roll, { again, ...(after ? { after } : {}) });
  return signal.aborted ? { ...result, interruptedBy: signal.reason as Interrupt, arrivals } : result;
}

/**
 * Resolves what runs and what is wanted under `target`, and plans. `dotEnv`: the version variable as
 * `.env` will hold it: services that read `.env` (env_file) get that value too, so they are replaced
 * now rather than found changed by the next `up`.
 */
async function observe(docker: DockerClient, stack: Stack, target: ComposeTarget, dotEnv: { name: string; value: string } | undefined, ranFrom: RanFrom): Promise<UpgradePlan> {
  const [running, wanted] = await Promise.all([runningContainers(docker, stack.project, tlsProxy(stack.spec)), wantedServices(docker, target).then((w) => wantCertificate(stack, w, certificateOnHost))]);
  if (dotEnv) for (const w of Object.values(wanted)) if (dotEnv.name in w.environment) w.environment[dotEnv.name] = dotEnv.value;
  withFileChanges(wanted, ranFrom.text, readStackText(target.file), ranFrom.services);
  const plan = upgradePlan(stack.spec, running, wanted);
  // Found by asking Docker: exit 4, as exec and backup say it (2 is for what is wrong before Docker is asked).
  if (!running.length) throw new PhaseComposeError('failed', `the stack "${stack.project}" is not running: start it with \`phase-compose up\``);
  if (plan.notRunning.length) throw new PhaseComposeError('failed', `not running: ${plan.notRunning.join(', ')}; an upgrade replaces running services`, { details: ['bring the stack up first (`phase-compose up`)'] });
  if (plan.missingImages.length) {
    throw notOnHost(plan.missingImages.join(', '));
  }
  return plan;
}

/** Images the upgrade needs are missing here: it never pulls. */
const notOnHost = (what: string) =>
  new PhaseComposeError('problem', `not on this host: ${what}`, { details: ['pull or build the new images first (`docker compose pull`, `docker load`); an upgrade never pulls'] });

/**
 * The compose file's text the running containers were created from (undefined: not known), and, when
 * only some services run from it (a rollback midway through an upgrade), those services.
 */
type RanFrom = { text: string | undefined; services?: string[] };

/** Runs `upgrade`. */
export async function runUpgrade(args: UpgradeArgs, io: Io, exitCodeOf: ExitCodeOf): Promise<Outcome> {
  const started = Date.now();
  const stack = openStack(args, { compose: true, lock: 'upgrade' });
  // This run's record and the one it found: each run's saved files are its own, and whichever record stays
  // keeps its files, the other's go (see the finally below).
  const records: { mine?: UpgradeRecord; prior?: UpgradeRecord; written?: boolean; reverted?: boolean } = {};
  try {
    const change = args.to !== undefined ? versionChange(stack.spec, args.to) : undefined;
    const from = change ? currentValue(stack.compose, change.name) : undefined;
    const target: ComposeTarget = { ...stack.compose, ...(change ? { env: { [change.name]: change.to } } : {}) };
    const up = { ...stack, compose: target };
    const note = rendererFor(io, args.json).note;
    for (const w of stack.warnings) note(formatProblem(w));
    const before = runsFrom(stack);
    if (args.dryRun) {
      // A dry run writes nothing (until 2026-11-28 it wrote the generated files first, so that a later plain
      // `docker compose up -d` applied the spec's change with an outage): it plans from the files as they are.
      const stale = staleFiles(renderStackFiles(stack).files);
      if (stale.length) note(`--dry-run: ${stale.map((f) => f.path).join(', ')} ${stale.length === 1 ? 'is' : 'are'} out of date with the spec and not written: the plan below is for the files as they are (the upgrade itself writes them first)`);
    } else for (const p of syncStackFiles(stack)) note(`wrote ${p} (it was missing or out of date with the spec)`);
    const now = deployedNow(stack);
    const docker = await connectDocker();
    await awaitEarlierMigrations(docker, stack, args, io);
    const plan = await observe(docker, stack, target, change && { name: change.name, value: change.to }, { text: before.compose });
    if (plan.migrationsImageMissing && !plan.missingImages.includes(plan.migrationsImage!)) {
      throw notOnHost(`${plan.migrationsImage} (the migrations' image)`);
    }
    const refused = dataChangeRefusal(stack.spec, plan);
    if (refused) throw refused;
    const newImage = plan.migrationsImage;
    // A container start and the app's boot: Ctrl-C, SIGTERM or SIGHUP meanwhile removes the throwaway
    // containers and ends as interrupted (until 2026-11-28 nothing listened: the signal killed phase-compose
    // and left them behind).
    const pending = (await abortOnInterrupt((signal) => pendingWithImage(docker, stack, newImage, signal))).result;
    const settings = stack.spec.migrations?.backup;
    const backup = settings ? (pending.pre || pending.post ? `backup: taken before the migrations run, into ${settings.dir}/` : 'backup: none needed (nothing pending)') : undefined;
    note(`upgrade ${stack.project}${change ? `: ${change.name} ${from ?? '(unset)'} -> ${change.to}` : ''}`);
    for (const l of planLines(plan, pending, backup)) note(`  ${l}`);
    if (args.skipPost) note('  post-deploy migrations: held (--skip-post); run `phase-compose migrate --phase post` once the new version is confirmed');
    if (args.dryRun) return OK;
    if (!plan.replace.length && !pending.pre && !pending.post) {
      note('nothing to upgrade');
      rememberDeployed(stack, io, now); // what runs is what the files say
      if (change) setDotEnv(stack.compose, change.name, change.to);
      return OK;
    }
    if (!(await cliConfirm(!!args.yes, !!args.isTTY)(`Upgrade project ${stack.project} as above?`))) throw new PhaseComposeError('problem', 'cancelled: upgrade not confirmed; nothing was changed'); // 1, as restore's and exec's "no" (130 is Ctrl-C); 130 until 2026-11-29

    const at = new Date().toISOString();
    const stamp = stampOf(at);
    records.prior = priorRecord(stack.specDir, stack.project);
    const record: UpgradeRecord = {
      project: stack.project,
      at,
      ...(change ? { variable: { name: change.name, ...(from !== undefined ? { from } : {}), to: change.to } } : {}),
      previousCompose: before.compose !== undefined ? savePreviousCompose(stack.specDir, stack.project, stamp, before.compose) : previousComposePath(stack.specDir, stack.project, stamp),
      ...(plan.replace.length ? { upgradedCompose: saveUpgradedCompose(stack.specDir, stack.project, stamp, now.compose) } : {}),
      // Only a rollback from the saved compose file needs it (with --to, the current file stays, and so does its config).
      ...(!change && before.proxy && before.proxy.text !== now.proxy?.text ? { previousProxy: { path: before.proxy.path, saved: savePreviousProxy(stack.specDir, stack.project, stamp, before.proxy.text) } } : {}),
      services: Object.fromEntries(plan.replace.map((r) => [r.service, { from: r.fromImage, to: r.toImage }])),
      ...(pending.post !== undefined ? { postPending: pending.post } : {}),
      postRan: false,
    };
    records.mine = record;
    // Recorded only by an upgrade that replaces something: one that only runs migrations leaves the
    // previous upgrade's record as it is (until 2026-11-29 it put an empty one in its place, and
    // `rollback` then returned to what ran, said done, and the previous upgrade could no longer be rolled back).
    const keep = () => {
      if (!plan.replace.length) return;
      writeRecord(stack.specDir, record);
      records.written = true;
    };
    /** This run left nothing to return from: the record it found goes back. */
    const revert = () => {
      revertRecord(stack.specDir, record, records.prior);
      records.reverted = true;
    };
    const timings: string[] = [];
    const fromName = change ? `${change.name}=${from ?? '(unset)'}` : 'the old version';

    // 1. Pre-deploy migrations with the new image, while the old app serves.
    if (stack.spec.migrations) {
      const before = await migrationCount(docker, stack);
      const t = Date.now();
      const pre = await runPhase(up, docker, 'pre', args, io, exitCodeOf, pending.pre);
      if (pre.outcome.backup) record.backup = pre.outcome.backup.replace(/^backup before migrations: /, '').replace(/ \(\d+ bytes, verified\)$/, '');
      timings.push(`pre-deploy migrations ${pre.outcome.migrations.pre ?? 'ran'} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
      if (pre.result.status !== 'ok') {
        const after = await migrationCount(docker, stack);
        io.err(`upgrade ${stack.project}: the pre-deploy migrations did not complete; no app container was replaced, ${fromName} still serves`);
        io.err(after !== undefined && before !== undefined
          ? after === before
            ? 'the database: no migration was recorded (each Django migration on PostgreSQL runs in a transaction and rolls back on failure; one marked atomic = False may still have left part of its work: see the invalid indexes above)'
            : `the database changed: ${after - before} migration(s) were applied before the failure (migrations are one-way)`
          : 'the database: could not count django_migrations to say whether it changed');
        if (record.backup) io.err(`backup taken before the migrations: ${record.backup}`);
        return pre.result;
      }
    }

    // 2. Rolling replacement. The new containers read .env too (env_file): it must already hold the new
    // version, or they would differ from what the next `up` wants. It is put back if nothing was replaced.
    const undoEnv = change ? setDotEnv(stack.compose, change.name, change.to) : undefined;
    // Recorded before anything is replaced: a run killed midway leaves what `rollback` needs (until
    // 2026-11-29 only after the rolling step, and a kill -9 during it left the previous upgrade's record).
    // With the migrations applied so far: one applied after this (the post phase, or a later `migrate`)
    // is one-way, and `rollback` refuses.
    const applied = stack.spec.migrations ? await migrationCount(docker, stack) : undefined;
    if (applied !== undefined) record.migrationsApplied = applied;
    keep();
    const roll = await replaceRolling(docker, target, plan, args, note);
    for (const s of roll.steps) timings.push(`${s.service}: ${s.old.length} old -> ${s.new.length} new in ${(s.ms / 1000).toFixed(1)}s`);
    if (roll.status !== 'done') {
      if (roll.oldKept && !roll.steps.length) {
        undoEnv?.(); // nothing replaced: .env names the version that serves
        revert(); // ...and `rollback` still returns from the upgrade before this one
      }
      for (const l of rollFailureLines(roll, fromName)) io.err(l);
      const outcome = reported(roll.status === 'interrupted' ? 'interrupted' : 'failed'); // never healthy by the deadline is a failure of the new version (exit 4)
      if (roll.steps.length && roll.oldKept) {
        // A later service failed after earlier ones were replaced: put those back, so one whole version serves.
        undoEnv?.();
        const old = oldVersion(stack, record.variable, record.previousCompose);
        const replaced = roll.steps.map((st) => st.service).join(', ');
        io.err(`${roll.status === 'interrupted' ? 'interrupted' : `${roll.service} failed`}: rolling ${replaced} back to ${fromName}, so that one version serves${roll.interruptedBy ? ` (${word(roll.interruptedBy)} again leaves at once, with what is rolled back by then)` : ''}`);
        // Recorded first: a run killed meanwhile (a second Ctrl-C before the rolling step listens) leaves
        // what `rollback` needs (until 2026-11-28 it left the stack on two versions with no record).
        keep();
        const back = await observe(docker, stack, old.target, old.pin, { text: now.compose, services: roll.steps.map((st) => st.service) })
          .then((p) => replaceRolling(docker, old.target, p, args, note, roll.arrivals))
          .catch((e: Error) => e);
        if (!(back instanceof Error) && back.status === 'done') {
          revert(); // rolled back: nothing to return to from this run; `rollback` returns from the upgrade before it
          io.err(`rolled ${replaced} back: ${fromName} serves everywhere again${roll.status === 'interrupted' ? `; to go on: run \`${upgradeAgain(args)}\` again` : ''}`);
          return outcome;
        }
        if (back instanceof Error) io.err(`could not roll ${replaced} back: ${back.message}`);
        else for (const l of rollFailureLines(back, 'the new version')) io.err(l);
        keep();
        io.err(`the stack may run both versions: run \`phase-compose rollback\` to return to ${fromName}, or \`${upgradeAgain(args)}\` again`);
        return outcome;
      }
      if (roll.steps.length) keep();
      if (roll.status === 'interrupted') io.err(`interrupted; to go on: run \`${upgradeAgain(args)}\` again`);
      return outcome;
    }
    keep();
    rememberDeployed(stack, io, now);
    if (roll.leftovers?.length) {
      // They may still run the old code (a worker takes jobs): the one-way post phase must not run under them.
      io.err(`upgrade ${stack.project}: every service was replaced, but the Engine did not stop or remove ${roll.leftovers.join(', ')}: ${roll.leftovers.length === 1 ? 'it' : 'they'} may still run the old version${stack.spec.migrations?.post && !args.skipPost ? ', so the post-deploy migrations were not run' : ''}; remove ${roll.leftovers.length === 1 ? 'it' : 'them'} (\`docker rm -f ${roll.leftovers.join(' ')}\`)${stack.spec.migrations?.post && !args.skipPost ? ', then run `phase-compose migrate --phase post`' : ''}`);
      return reported('failed');
    }
    if (roll.interrupted) {
      // Until 2026-11-28 a Ctrl-C while the last old containers drained was lost, and the one-way post-deploy
      // migrations ran, exit 0: the user had asked to stop, and rollback was then refused.
      io.err(`upgrade ${stack.project}: interrupted once every service was replaced: the new version serves everywhere${stack.spec.migrations?.post && !args.skipPost ? '; the post-deploy migrations were not run (they are one-way): run `phase-compose migrate --phase post` once the new version is confirmed, or `phase-compose rollback`' : ''}`);
      return reported('interrupted');
    }

    // 3. Post-deploy migrations, once every replica runs the new code.
    if (stack.spec.migrations?.post && !args.skipPost) {
      const t = Date.now();
      const post = await runPhase(up, docker, 'post', args, io, exitCodeOf, pending.post);
      timings.push(`post-deploy migrations ${post.outcome.migrations.post ?? 'ran'} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
      // A failed one may have applied some (a migration marked atomic = False leaves no row). One that ran
      // and applied nothing (`run: always`, as Phase's template does on every start) is no one-way step:
      // until 2026-11-29 it was, and such a stack could never be rolled back.
      const count = record.migrationsApplied !== undefined ? await migrationCount(docker, stack) : undefined;
      // Without a count (an external database): it ran, and the check with the new image had found some pending.
      const appliedSome = count !== undefined ? count > record.migrationsApplied! : post.outcome.migrations.post === 'ran' && pending.post !== false;
      if (post.result.status !== 'ok' || appliedSome) record.postRan = true;
      keep();
      if (post.result.status !== 'ok') {
        io.err(`upgrade ${stack.project}: the post-deploy migrations failed; the new version keeps serving. Fix the cause and run \`phase-compose migrate --phase post\``);
        return post.result;
      }
    }
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const summary = [
      `upgrade ${stack.project}: done in ${secs}s`,
      ...Object.entries(record.services).map(([s, v]) => `  ${s}: ${v.from} -> ${v.to}`),
      ...timings.map((t) => `  ${t}`),
      ...(record.backup ? [`  backup before migrations: ${record.backup}`] : []),
    ];
    if (args.json) io.out(JSON.stringify({ event: 'upgrade-result', status: 'ready', exitCode: 0, seconds: Number(secs), services: record.services, timings, backup: record.backup }));
    else for (const l of summary) io.out(l);
    await warnComposeDrift(docker, stack, io);
    return OK;
  } finally {
    try {
      if (records.mine && !records.written) discardSaved(stack.specDir, records.mine, records.prior); // never recorded: nothing refers to them
      else if (records.written && !records.reverted) discardSaved(stack.specDir, records.prior, records.mine); // its record was replaced
    } catch {
      // Leftover copies in .phase-compose/ cost a little disk; the command's own outcome stands.
    }
    stack.lock.release();
  }
}

/** Runs `rollback`: back to what the last upgrade replaced, by the same rolling replacement. */
export async function runRollback(args: UpgradeArgs, io: Io): Promise<Outcome> {
  const stack = openStack(args, { compose: true, lock: 'rollback' });
  try {
    const record = readRecord(stack.specDir, stack.project);
    const restoreHint = record.backup ? `restore the pre-upgrade backup instead: phase-compose restore ${record.backup}` : 'restore a backup taken before the upgrade instead (phase-compose restore <file>)';
    if (record.postRan) {
      throw new PhaseComposeError('problem', 'refused: the post-deploy migrations ran after the upgrade, and migrations are one-way (the old version may read what they dropped)', { details: [restoreHint] });
    }
    const docker = await connectDocker();
    // A migration recorded after the upgrade replaced the app (its post phase, or a `migrate` since) is
    // one-way. Counted when the record has the count; else, from the post phase's pending check.
    const count = record.migrationsApplied !== undefined ? await migrationCount(docker, stack) : undefined;
    if (count !== undefined && count > record.migrationsApplied!) {
      throw new PhaseComposeError('problem', `refused: ${count - record.migrationsApplied!} migration(s) were applied after the upgrade of ${record.at} replaced the app (its post-deploy phase, a later upgrade's migrations, or a \`migrate\` since), and migrations are one-way`, { details: [restoreHint] });
    }
    if (count === undefined && record.postPending) {
      const now = (await abortOnInterrupt((signal) => pendingWithImage(docker, stack, undefined, signal))).result;
      if (now.post === false) throw new PhaseComposeError('problem', 'refused: the post-deploy migrations have run since the upgrade (nothing is pending any more), and migrations are one-way', { details: [restoreHint] });
    }
    const { target, pin } = oldVersion(stack, record.variable, record.previousCompose);
    if (!record.variable && !existsSync(record.previousCompose)) throw new PhaseComposeError('problem', `the saved compose file ${record.previousCompose} is missing`);
    const note = rendererFor(io, args.json).note;
    // What the replaced services run: the copy the upgrade saved of the file it created them from (the
    // deployed record names the old file when the upgrade never finished: killed, or left on two versions).
    const upgraded = record.upgradedCompose !== undefined ? readStackText(record.upgradedCompose) : undefined;
    const plan = await observe(docker, stack, target, pin, upgraded !== undefined ? { text: upgraded, services: Object.keys(record.services) } : { text: runsFrom(stack).compose });
    note(`rollback ${stack.project} to the version before the upgrade of ${record.at}${record.variable ? ` (${record.variable.name}=${record.variable.from ?? '(unset)'})` : ''}`);
    for (const l of planLines(plan, {}, undefined).slice(0, -1)) note(`  ${l}`);
    if (args.dryRun) return OK;
    if (!(await cliConfirm(!!args.yes, !!args.isTTY)(`Roll project ${stack.project} back as above?`))) throw new PhaseComposeError('problem', 'cancelled: rollback not confirmed; nothing was changed'); // 1, as restore's and exec's "no" (130 is Ctrl-C); 130 until 2026-11-29
    // Back to what .env held: the old value, or no line at all (until 2026-11-28 an unset variable kept the
    // upgrade's value in .env, while the message said it was unset again).
    const undoEnv = record.variable ? setDotEnv(stack.compose, record.variable.name, record.variable.from) : undefined;
    // The saved compose file mounts the proxy's config by its path: it must hold what the old proxy read.
    if (record.previousProxy && !record.variable) note(restorePreviousProxy(record.previousProxy));
    const roll = await replaceRolling(docker, target, plan, args, note);
    if (roll.status !== 'done') {
      if (undoEnv && roll.oldKept && !roll.steps.length) undoEnv();
      for (const l of rollFailureLines(roll, 'the upgraded version')) io.err(l);
      return reported(roll.status === 'interrupted' ? 'interrupted' : 'failed'); // never healthy by the deadline is a failure of the new version (exit 4)
    }
    if (roll.leftovers?.length) {
      io.err(`rollback ${stack.project}: every service was rolled back, but the Engine did not stop or remove ${roll.leftovers.join(', ')}: remove ${roll.leftovers.length === 1 ? 'it' : 'them'} (\`docker rm -f ${roll.leftovers.join(' ')}\`)`);
      return reported('failed');
    }
    const now = deployedNow(stack); // a rollback by the version variable runs from the compose file itself
    rememberDeployed(stack, io, { ...now, compose: readStackText(target.file) ?? now.compose });
    revertRecord(stack.specDir, record, undefined); // rolled back: there is nothing left to return to
    if (record.variable) {
      io.out(`rollback ${stack.project}: done; ${record.variable.name} is ${record.variable.from ?? '(unset)'} again in ${dotEnvPath(stack.compose)}`);
    } else {
      io.out(`rollback ${stack.project}: done, from the compose file saved before the upgrade. The spec still names the new version: change it back, or the next \`up\` or \`upgrade\` returns to it`);
    }
    await warnComposeDrift(docker, stack, io);
    return OK;
  } finally {
    stack.lock.release();
  }
}
