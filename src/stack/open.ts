// Opening a stack: the one way every stack command (up, migrate, down, status, exec, backup, restore)
// starts. Resolves the spec, its paths, the Compose project name and, when asked, the Compose CLI and
// the lock. Reads only: it writes nothing (generated files are written by ./outputs.ts, under the lock).
import { dirname, resolve } from 'node:path';
import type { ComposeTarget } from '../docker/compose-cli.js';
import { findCompose } from '../docker/detect.js';
import { normalizeProjectName, PROJECT_NAME } from '../docker/labels.js';
import { acquireLock, type Lock } from '../docker/lock.js';
import { assertComposeData } from '../model/compose.js';
import { loadSpec } from '../spec/load.js';
import type { NormalisedSpec } from '../spec/normalise.js';
import { PhaseComposeError, type Problem } from '../util/errors.js';

/** Where a stack command is pointed: `-f` and `-p`. */
export type StackArgs = { file: string; projectName?: string };

/** A stack as the spec describes it. Functions that need only part of it take a `Pick<Stack, ...>`. */
export type Stack = {
  spec: NormalisedSpec;
  specFile: string;
  specDir: string;
  /** Compose project name: `-p`, else COMPOSE_PROJECT_NAME, else the spec's name. */
  project: string;
  /** Absolute path of the generated compose file. */
  composeFile: string;
  /** The spec's warnings (not yet printed). */
  warnings: Problem[];
};

/** How to run Compose on the stack. */
export type WithCompose = { compose: ComposeTarget };
/** The stack's lock, held until `lock.release()`. */
export type WithLock = { lock: Lock };

/**
 * Opens the stack: loads the spec (throws SpecError/PhaseComposeError like loadSpec) and resolves the project.
 * With `compose`, also finds the Compose CLI (exit 3 when there is none); with `lock`, then takes the
 * stack's lock for that command (exit 6 when another holds it). No Docker, no writes.
 */
export function openStack(args: StackArgs): Stack;
export function openStack(args: StackArgs, want: { compose: true }): Stack & WithCompose;
export function openStack(args: StackArgs, want: { lock: string }): Stack & WithLock;
export function openStack(args: StackArgs, want: { compose: true; lock: string }): Stack & WithCompose & WithLock;
export function openStack(args: StackArgs, want: { compose?: true; lock?: string } = {}): Stack & Partial<WithCompose & WithLock> {
  const specFile = resolve(args.file);
  const { spec, warnings } = loadSpec(specFile);
  // Every stack command runs the stack with Compose, which cannot take a managed database (yet).
  assertComposeData(spec);
  const specDir = dirname(specFile);
  const project = normalizeProjectName(args.projectName ?? projectFromEnv() ?? spec.name);
  const stack: Stack = { spec, specFile, specDir, project, composeFile: resolve(specDir, spec.output), warnings };
  const compose = want.compose ? composeTarget(stack) : undefined;
  return { ...stack, ...(compose ? { compose } : {}), ...(want.lock ? { lock: acquireLock(project, want.lock) } : {}) };
}

/**
 * COMPOSE_PROJECT_NAME, checked as `-p` is: an empty value is unset (as Compose takes it); one outside
 * Compose's rule is a usage error (before: normalised, so `../x` became `x` and `.` an empty project
 * name, hence an empty lock name and a label filter that matched nothing).
 */
function projectFromEnv(): string | undefined {
  const v = process.env.COMPOSE_PROJECT_NAME;
  if (v === undefined || v === '') return undefined;
  if (!PROJECT_NAME.test(v)) {
    throw new PhaseComposeError('usage', `COMPOSE_PROJECT_NAME=${JSON.stringify(v)}: a Compose project name is lower-case letters, digits, "_" and "-", starting with a letter or digit`, {
      details: ['set it to such a name, or unset it and pass -p NAME'],
    });
  }
  return v;
}

/** How to run Compose on `stack`: exit 3 when there is no Compose CLI. */
function composeTarget(stack: Stack): ComposeTarget {
  const argv = findCompose();
  if (!argv) {
    throw new PhaseComposeError('docker', 'Docker Compose was not found', {
      details: ['install the Compose plugin (`docker compose version`) or docker-compose v1 (`docker-compose version`)'],
    });
  }
  return { cli: { argv }, project: stack.project, file: stack.composeFile, cwd: dirname(stack.composeFile) };
}
