// Keeps the generated compose file (and proxy config) in step with the spec before Compose reads it.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { renderOutputs } from '../model/outputs.js';
import type { DeploymentSpec } from '../spec/types.js';
import { writeGeneratedFiles } from '../util/generated-files.js';
import { specEnvFiles } from '../spec/env-files.js';

/**
 * Writes generated files that are missing or differ from the spec; returns the paths written. Like
 * `generate` without --force: a file phase-compose did not write is never replaced.
 */
export function syncGeneratedFiles(ctx: { spec: DeploymentSpec; specFile: string; specDir: string; composeFile: string }): string[] {
  const output = relative(ctx.specDir, ctx.composeFile).split('\\').join('/');
  const { files } = renderOutputs(ctx.spec, basename(ctx.specFile), output, ctx.specDir.split('\\').join('/'));
  const stale = files
    .map((f) => ({ path: join(ctx.specDir, f.path), content: f.content }))
    .filter((f) => !(existsSync(f.path) && readFileSync(f.path, 'utf8') === f.content));
  return writeGeneratedFiles(stale, { specFile: ctx.specFile, protect: specEnvFiles(ctx.spec) }).map((w) => w.path);
}
