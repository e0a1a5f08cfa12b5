// Spec → the files `generate` writes (compose file, proxy config). Pure.
import { posix } from 'node:path';
import { renderNginx } from '../proxy/nginx.js';
import type { DeploymentSpec } from '../spec/types.js';
import { generateCompose } from './compose.js';
import { header, toYaml } from './emit.js';

export type OutputFile = { /** Relative to the spec's directory (POSIX). */ path: string; content: string };
export type RenderedOutputs = { files: OutputFile[]; warnings: string[] };

/**
 * Renders every generated file. `specName` is the spec's file name; `output` (relative to the spec's
 * directory) overrides `spec.output`.
 */
export function renderOutputs(spec: DeploymentSpec, specName: string, output?: string): RenderedOutputs {
  const composePath = posix.normalize(output ?? spec.output ?? 'docker-compose.yml');
  const outDir = posix.dirname(composePath);
  const { compose, warnings, features } = generateCompose(spec, { outputDirFromSpec: outDir });
  const specFromOut = posix.relative(outDir, specName) || specName;
  const files: OutputFile[] = [{ path: composePath, content: header(specFromOut, features) + toYaml(compose) }];
  if (spec.proxy) {
    const cfg = posix.normalize(spec.proxy.config);
    files.push({ path: cfg, content: renderNginx(spec.proxy, posix.relative(posix.dirname(cfg), specName) || specName) });
  }
  return { files, warnings };
}
