// The fixture stack: copy test/fixtures/stack (spec + .env) to a temp dir and generate its compose file there
// with the real CLI (node dist/cli.js generate), so every test runs the generator's actual output.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { retarget } from './compose.js';
import { uniqueProject, type Stack } from './docker.js';
import { mustRun } from './run.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURE_STACK_DIR = join(REPO_ROOT, 'test/fixtures/stack');
export const CLI = join(REPO_ROOT, 'dist/cli.js');

export interface GeneratedStack extends Stack {
  /** remove the temp dir (call after composeDown) */
  cleanup(): void;
}

/** A fixture: a directory with phase-compose.yaml and .env, and an edit of the spec's text (after retarget). */
export interface Fixture {
  dir: string;
  edit?: (spec: string) => string;
}

/** Writes the fixture spec (targeted at the stack under test) and its .env into `dir`; returns the spec's path. */
export function copyFixtureSpec(dir: string, fixture: Fixture = { dir: FIXTURE_STACK_DIR }): string {
  const spec = join(dir, 'phase-compose.yaml');
  const text = retarget(readFileSync(join(fixture.dir, 'phase-compose.yaml'), 'utf8'));
  writeFileSync(spec, fixture.edit ? fixture.edit(text) : text);
  cpSync(join(fixture.dir, '.env'), join(dir, '.env'));
  return spec;
}

export function generateFixtureStack(label: string, fixture?: Fixture): GeneratedStack {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` before the e2e tests`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'phase-compose-e2e-'));
  copyFixtureSpec(dir, fixture);
  const composeFile = join(dir, 'docker-compose.yml');
  mustRun('node', [CLI, 'generate', '-q', '-f', join(dir, 'phase-compose.yaml'), '-o', composeFile], { cwd: dir });
  if (!existsSync(composeFile)) throw new Error(`generate did not write ${composeFile}`);
  return {
    project: uniqueProject(label),
    dir,
    composeFile,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
