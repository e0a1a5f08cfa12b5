// The options every command shares and the argument checks yargs runs while parsing: a bad value is a
// usage error (exit 2) before any command touches Docker or the disk. yargs wraps what the checks
// throw; main.ts's `.fail` turns it into a usage error.
import type { Argv } from 'yargs';
import { PROJECT_NAME } from '../docker/labels.js';
import { parseCliDuration } from '../util/duration.js';

const projectName = (v: unknown) => {
  if (v === undefined) return v;
  if (typeof v !== 'string' || !PROJECT_NAME.test(v)) {
    throw new Error(`-p ${JSON.stringify(v)}: a Compose project name is lower-case letters, digits, "_" and "-", starting with a letter or digit`);
  }
  return v;
};

/** A duration option (`--timeout 90s`, a bare number is seconds), more than zero. */
export const duration = (name: string) => (v: unknown) => {
  let ms: number;
  try {
    ms = parseCliDuration(String(v));
  } catch (e) {
    throw new Error(`--${name}: ${(e as Error).message}`);
  }
  if (!(ms > 0)) throw new Error(`--${name}: must be more than zero, got ${JSON.stringify(v)}`);
  return String(v);
};

/**
 * A whole number option (`--retain 90`), zero or more, at most `max`: by default PostgreSQL's `int`
 * (the values reach SQL as one; a larger one failed there, after Docker was asked, exit 4).
 */
export const count = (name: string, max = 2 ** 31 - 1, why = 'the largest value it takes', min = 0) => (v: unknown) => {
  if (v === undefined) return v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new Error(`--${name}: expected a whole number (${min} or more)`);
  if (v > max) throw new Error(`--${name}: at most ${max} (${why}), got ${v}`);
  return v;
};

/** `backup --compress`: pg_dump's zlib level, 0 (none) to 9 (smallest). */
export const zlibLevel = (v: unknown) => {
  if (v === undefined) return v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 9) throw new Error(`--compress: expected a level from 0 (none) to 9 (smallest), got ${JSON.stringify(v)}`);
  return v;
};

/** The global options: the spec and the Compose project name. Global, so they work before or after the command. */
export const globalOptions = (y: Argv) =>
  y
    .option('file', { alias: 'f', type: 'string', default: 'phase-compose.yaml', requiresArg: true, describe: 'Deployment spec', normalize: true, global: true })
    .option('project-name', { alias: 'p', type: 'string', requiresArg: true, coerce: projectName, describe: 'Compose project name: [a-z0-9][a-z0-9_-]* (default: COMPOSE_PROJECT_NAME, else the spec\'s name)', global: true });

/** What every command's parser holds besides its own options. */
export type GlobalArgv = ReturnType<typeof globalOptions>;
