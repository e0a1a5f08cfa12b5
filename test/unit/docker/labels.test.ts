import { describe, expect, it } from 'vitest';
import { driftedServices, noDepsHashDrifts } from '../../../src/docker/labels.js';

const c = (service: string, version: string) => ({ Labels: { 'com.docker.compose.service': service, 'com.docker.compose.version': version } });

describe('Compose v2 --no-deps hash drift (docker/compose#12069)', () => {
  it('holds for Compose 2.19 up to 2.29.2, with or without a packager suffix, and not around it', () => {
    for (const v of ['2.19.0', '2.20.2', '2.24.6', '2.26.1', '2.26.1-4', 'v2.26.1', '2.29.2', '2.29.2+ds1']) expect(noDepsHashDrifts(v), v).toBe(true);
    for (const v of ['1.29.2', '2.18.1', '2.15.1', '2.29.3', '2.30.0', '2.40.3', '5.0.0', '']) expect(noDepsHashDrifts(v), v).toBe(false);
  });

  it('refuses what is not a version instead of guessing', () => {
    for (const v of ['latest', '2.26.1; rm -rf /', 'x2.26.1', '2..26']) expect(noDepsHashDrifts(v), v).toBe(false);
  });

  it('names each service that waits on another and was created by an affected Compose, once, sorted', () => {
    const withDeps = new Set(['backend', 'worker', 'nginx', 'migrations']);
    const got = driftedServices([c('postgres', '2.26.1'), c('worker', '2.26.1'), c('backend', '2.26.1'), c('backend', '2.26.1'), c('nginx', '2.30.0')], withDeps);
    expect(got).toEqual({ services: ['backend', 'worker'], compose: '2.26.1' });
    expect(driftedServices([c('backend', '1.29.2'), c('worker', '2.29.3')], withDeps)).toEqual({ services: [] });
    expect(driftedServices([{ Labels: {} }], withDeps)).toEqual({ services: [] });
  });
});
