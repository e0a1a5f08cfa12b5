// What every stack command (up, down, status, exec, backup, ...) starts from: the spec, where it is,
// the Compose project name and the compose file.
import { dirname, join, resolve } from 'node:path';
import { normalizeProjectName } from '../docker/labels.js';
import { loadSpec } from '../spec/load.js';
import type { DeploymentSpec } from '../spec/types.js';
import type { Problem } from '../util/errors.js';

export type StackContext = {
  spec: DeploymentSpec;
  specFile: string;
  specDir: string;
  /** Compose project name: `-p`, else COMPOSE_PROJECT_NAME, else the spec's name. */
  project: string;
  /** Absolute path of the generated compose file. */
  composeFile: string;
  warnings: Problem[];
};

/** Loads the spec and resolves the project; throws SpecError/PhaseComposeError like loadSpec. */
export function loadStack(args: { file: string; projectName?: string }): StackContext {
  const specFile = resolve(args.file);
  const { spec, warnings } = loadSpec(specFile);
  const specDir = dirname(specFile);
  const project = normalizeProjectName(args.projectName ?? process.env.COMPOSE_PROJECT_NAME ?? spec.name);
  return { spec, specFile, specDir, project, composeFile: join(specDir, spec.output ?? 'docker-compose.yml'), warnings };
}
