// The fixture stack: copy test/fixtures/stack (spec + .env) to a temp dir and generate its compose file there
// with the real CLI (node dist/cli.js generate), so every test runs the generator's actual output.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uniqueProject, type Stack } from './docker.js';
import { mustRun } from './run.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURE_STACK_DIR = join(REPO_ROOT, 'test/fixtures/stack');
export const CLI = join(REPO_ROOT, 'dist/cli.js');

export interface GeneratedStack extends Stack {
  /** remove the temp dir (call after composeDown) */
  cleanup(): void;
}

export function generateFixtureStack(label: string): GeneratedStack {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` before the e2e tests`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'phase-compose-e2e-'));
  cpSync(join(FIXTURE_STACK_DIR, 'phase-compose.yaml'), join(dir, 'phase-compose.yaml'));
  cpSync(join(FIXTURE_STACK_DIR, '.env'), join(dir, '.env'));
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
