import type { ContainerInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import { appContainers, pgRestoreArgv, startOrder } from '../../../src/backup/restore.js';
import { demoSpec } from '../up/demo-spec.js';

const c = (service: string, state: string, role?: string) =>
  ({ Id: service, State: state, Names: [`/p_${service}_1`], Labels: { 'com.docker.compose.service': service, ...(role ? { 'dev.phase-compose.role': role } : {}) } }) as unknown as ContainerInfo;

describe('restore', () => {
  it('stops only running non-data containers', () => {
    const all = [c('postgres', 'running', 'data'), c('redis', 'running'), c('backend', 'running'), c('worker', 'running'), c('migrations', 'exited', 'migrations'), c('nginx', 'running')];
    expect(appContainers(all).map((x) => x.Id)).toEqual(['backend', 'worker', 'nginx']);
  });

  it('starts in dependency order (backend before the proxy, unknown services last) so stops run in reverse', () => {
    const running = [c('nginx', 'running'), c('stray', 'running'), c('worker', 'running'), c('backend', 'running'), c('migrations-post', 'running')];
    const order = startOrder(demoSpec, running).map((x) => x.Id);
    expect(order.indexOf('backend')).toBeLessThan(order.indexOf('nginx'));
    expect(order.indexOf('backend')).toBeLessThan(order.indexOf('migrations-post'));
    expect(order.at(-1)).toBe('stray');
    expect(order).toHaveLength(5);
  });

  it('restores all or nothing, dropping what exists', () => {
    expect(pgRestoreArgv('u', 'd')).toEqual(['pg_restore', '-U', 'u', '-d', 'd', '--clean', '--if-exists', '--no-owner', '--single-transaction', '--exit-on-error']);
  });
});
