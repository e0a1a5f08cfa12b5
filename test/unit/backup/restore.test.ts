import type { ContainerInfo } from 'dockerode';
import { describe, expect, it } from 'vitest';
import { appContainers, pgRestoreArgv } from '../../../src/backup/restore.js';

const c = (service: string, state: string, role?: string) =>
  ({ Id: service, State: state, Names: [`/p_${service}_1`], Labels: { 'com.docker.compose.service': service, ...(role ? { 'dev.phase-compose.role': role } : {}) } }) as unknown as ContainerInfo;

describe('restore', () => {
  it('stops only running non-data containers', () => {
    const all = [c('postgres', 'running', 'data'), c('redis', 'running'), c('backend', 'running'), c('worker', 'running'), c('migrations', 'exited', 'migrations'), c('nginx', 'running')];
    expect(appContainers(all).map((x) => x.Id)).toEqual(['backend', 'worker', 'nginx']);
  });

  it('restores all or nothing, dropping what exists', () => {
    expect(pgRestoreArgv('u', 'd')).toEqual(['pg_restore', '-U', 'u', '-d', 'd', '--clean', '--if-exists', '--no-owner', '--single-transaction', '--exit-on-error']);
  });
});
