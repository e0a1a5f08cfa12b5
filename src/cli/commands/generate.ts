// `phase-compose generate`: spec → compose file (and proxy config), written atomically; `--check` for CI.
import { dirname, resolve } from 'node:path';
import { specEnvFiles } from '../../spec/env-files.js';
import { loadSpec } from '../../spec/load.js';
import { renderKubeStackFiles, renderStackFiles, staleFiles, writeStackFiles } from '../../stack/outputs.js';
import { formatProblem, PhaseComposeError } from '../../util/errors.js';
import { displayPath } from '../../util/fs.js';
import { shQuote } from '../../util/shell.js';
import type { Io } from '../io.js';
import { OK, reported, type Outcome } from '../outcome.js';

export type GenerateArgs = {
  file: string;
  /** `-o`: named on the command line, so it may point outside the spec's directory. */
  output?: string;
  check?: boolean;
  quiet?: boolean;
  /** Replace files phase-compose did not write (each kept as a .bak). */
  force?: boolean;
  /** Let the spec's `output:` and `proxy.config:` point outside its directory. */
  allowOutside?: boolean;
  /** `compose` (default) or `kubernetes`: then `output` is a directory. */
  target?: 'compose' | 'kubernetes';
  kubeVersion?: string;
  namespace?: string;
  withSecrets?: boolean;
};

/** Runs generate; `--check` reports stale files itself (a problem). */
export async function runGenerate(args: GenerateArgs, io: Io): Promise<Outcome> {
  const specFile = resolve(args.file);
  const { spec, warnings } = loadSpec(specFile);
  for (const w of warnings) io.err(formatProblem(w));
  const source = { spec, specFile, specDir: dirname(specFile) };
  const kube = args.target === 'kubernetes';
  if (!kube) {
    const only = [args.kubeVersion !== undefined && '--kube-version', args.namespace !== undefined && '--namespace', args.withSecrets && '--with-secrets'].filter(Boolean);
    if (only.length) throw new PhaseComposeError('usage', `${only.join(', ')} ${only.length === 1 ? 'is' : 'are'} for --target kubernetes`);
  }
  // The compose file (or manifest directory) named with -o is the user's explicit choice; the spec's own paths are bounded.
  const k = kube ? renderKubeStackFiles(source, { dir: args.output || undefined, kubeVersion: args.kubeVersion, namespace: args.namespace, withSecrets: args.withSecrets }) : undefined;
  const rendered = k ?? renderStackFiles(source, args.output || undefined);
  for (const w of rendered.warnings) io.err(`warning: ${w}`);

  if (args.check) {
    const stale = staleFiles(rendered.files);
    const { createTwoFilesPatch } = await import('diff');
    for (const f of stale) {
      const shown = displayPath(f.path);
      if (f.odd) io.out(`${shown}: ${f.odd}, not a file phase-compose generated (not read; move it away, then run \`phase-compose generate\`)`);
      else if (f.current === undefined) io.out(`${shown}: missing (run \`phase-compose generate\`)`);
      else if (f.secret) io.out(`${shown}: out of date (it holds secret values: no diff shown)`);
      else io.out(createTwoFilesPatch(`${shown} (on disk)`, `${shown} (from spec)`, f.current, f.content, '', '', { context: 3 }).trimEnd());
    }
    if (stale.length) {
      io.err(`${stale.length} generated file${stale.length === 1 ? ' is' : 's are'} out of date with ${displayPath(specFile)}; run \`phase-compose generate\``);
      return reported('problem');
    }
    if (!args.quiet) io.out(`up to date: ${rendered.files.map((f) => displayPath(f.path)).join(', ')}`);
    return OK;
  }

  const written = writeStackFiles(source, rendered.files, { force: args.force, allowOutside: args.allowOutside });
  if (!args.quiet) for (const w of written) io.out(`wrote ${displayPath(w.path)}${w.backup ? ` (previous kept as ${displayPath(w.backup)})` : ''}`);
  const same = rendered.files.filter((f) => !written.some((w) => w.path === resolve(f.path)));
  if (!args.quiet && same.length) io.out(`unchanged: ${same.map((f) => displayPath(f.path)).join(', ')}`);
  if (k && !args.quiet) {
    const dir = displayPath(k.dir);
    if (!args.withSecrets) {
      io.out(`next: create the Secret the manifests refer to, then apply:`);
      io.out(`  kubectl create namespace ${k.namespace} --dry-run=client -o yaml | kubectl apply -f -`);
      // Quoted for a shell (until 2026-11-29 a path with a space or a `$` broke the pasted command).
      const env = specEnvFiles(spec).map((f) => shQuote(`--from-env-file=${displayPath(resolve(source.specDir, f))}`)).join(' ') || '--from-literal=KEY=value';
      io.out(`  kubectl -n ${k.namespace} create secret generic ${k.secretName} ${env}`);
    } else io.out(`${dir}/secret.yaml holds the env file's values (mode 0600): keep it out of version control`);
    io.out(`  kubectl apply -k ${shQuote(dir)}`);
  }
  return OK;
}
