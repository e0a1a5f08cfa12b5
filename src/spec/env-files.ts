// The env files a spec names (relative to the spec's directory). Pure.
import type { NormalisedSpec } from './normalise.js';

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Every `env_file` of the spec, its services and its migrations: files a generated file must never replace. */
export function specEnvFiles(spec: NormalisedSpec): string[] {
  return [...list(spec.env_file), ...Object.values(spec.services).flatMap((s) => list(s.env_file)), ...list(spec.migrations?.env_file)];
}
