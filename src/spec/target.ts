// What the target Compose and Engine support. Keys a target lacks are left out with a warning.
import type { TargetSpec } from './types.js';

export type Features = {
  compose: string;
  engine: string;
  /** docker-compose v1 (Python). */
  v1: boolean;
  /** healthcheck.start_interval: Compose >= 2.20.2 and Engine >= 25. */
  startInterval: boolean;
};

/** Compares dotted versions numerically: -1, 0 or 1. Not semver: targets are written "1.29" or "26.1", which semver rejects. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/** Resolves the features of a target (its versions filled by normaliseSpec). */
export function features({ compose, engine }: Required<TargetSpec>): Features {
  return {
    compose,
    engine,
    v1: compareVersions(compose, '2') < 0,
    startInterval: compareVersions(compose, '2.20.2') >= 0 && compareVersions(engine, '25') >= 0,
  };
}
