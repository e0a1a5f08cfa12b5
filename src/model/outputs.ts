// Spec → the files `generate` writes (compose file, proxy config). Pure.
import { posix } from 'node:path';
import { renderNginx } from '../proxy/nginx.js';
import type { NormalisedSpec } from '../spec/normalise.js';
import { generateCompose, relativeToOutput } from './compose.js';
import { header, toYaml } from './emit.js';
import { sha256 } from '../util/hash.js';
import { PhaseComposeError } from '../util/errors.js';

export type OutputFile = { /** Relative to the spec's directory (POSIX). */ path: string; content: string };
export type RenderedOutputs = { files: OutputFile[]; warnings: string[] };

/**
 * Renders every generated file. `specName` is the spec's file name; `output` (relative to the spec's
 * directory) overrides `spec.output`; `specDir` is the spec's absolute directory (POSIX).
 */
export function renderOutputs(spec: NormalisedSpec, specName: string, output?: string, specDir = '/spec'): RenderedOutputs {
  const composePath = posix.normalize(output ?? spec.output); // -o overrides the spec (whose default normaliseSpec filled)
  const outDir = posix.dirname(composePath);
  let proxy: OutputFile | undefined;
  if (spec.proxy) {
    const cfg = posix.normalize(spec.proxy.config);
    proxy = { path: cfg, content: renderNginx(spec.proxy, posix.relative(posix.dirname(cfg), specName) || specName) };
  }
  // The proxy's container carries its config's hash: a changed config recreates it (see GenerateOptions).
  const proxyConfigSha256 = proxy && sha256(proxy.content);
  const { compose, warnings, features } = generateCompose(spec, { outputDirFromSpec: outDir, specDir, ...(proxyConfigSha256 ? { proxyConfigSha256 } : {}) });
  const specFromOut = relativeToOutput(specName, outDir, specDir).replace(/^\.\//, '');
  if (outDir !== '.' && (spec.env_file !== undefined || Object.values(spec.services).some((s) => s.env_file))) {
    warnings.push(
      `the compose file is not beside the spec: Compose fills \${VAR} from the .env in its own directory (or --env-file), ` +
        'not from env_file; phase-compose up passes the spec\'s env file',
    );
  }
  const files: OutputFile[] = [{ path: composePath, content: header(specFromOut, features) + toYaml(compose) }];
  if (proxy) {
    // One would be written over the other (until 2026-11-28 the nginx config replaced the compose file).
    if (proxy.path === composePath) {
      throw new PhaseComposeError('problem', `proxy.config and the compose file are both ${composePath}: name two different files`, { details: ['nothing was written'] });
    }
    files.push(proxy);
  }
  return { files, warnings };
}
