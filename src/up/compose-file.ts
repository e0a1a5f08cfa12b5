// Keeps the generated compose file (and proxy config) in step with the spec before Compose reads it.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { renderOutputs } from '../model/outputs.js';
import type { DeploymentSpec } from '../spec/types.js';
import { writeFileAtomic } from '../util/fs.js';

/** Writes generated files that are missing or differ from the spec; returns the paths written. */
export function syncGeneratedFiles(ctx: { spec: DeploymentSpec; specFile: string; specDir: string; composeFile: string }): string[] {
  const output = relative(ctx.specDir, ctx.composeFile).split('\\').join('/');
  const { files } = renderOutputs(ctx.spec, basename(ctx.specFile), output, ctx.specDir.split('\\').join('/'));
  const written: string[] = [];
  for (const f of files) {
    const path = join(ctx.specDir, f.path);
    if (existsSync(path) && readFileSync(path, 'utf8') === f.content) continue;
    writeFileAtomic(path, f.content);
    written.push(path);
  }
  return written;
}
