import { describe, expect, it } from 'vitest';
import { selfCommand, type InvocationFs } from '../../../src/cli/invocation.js';

const fsWith = (links: Record<string, string>, executable = true): InvocationFs => ({
  realpath: (p) => links[p],
  executable: () => executable,
});
const launcher = '/opt/phase compose/dist/cli.js';

describe('selfCommand', () => {
  it('is the bare name when PATH finds this launcher under it (npm install -g, npm link)', () => {
    const fs = fsWith({ [launcher]: launcher, '/usr/local/bin/phase-compose': launcher });
    expect(selfCommand(launcher, '/usr/bin:/usr/local/bin', fs)).toBe('phase-compose');
  });
  it('is the quoted absolute path when the name is not on PATH', () => {
    expect(selfCommand(launcher, '/usr/bin:/bin', fsWith({ [launcher]: launcher }))).toBe(`'/opt/phase compose/dist/cli.js'`);
  });
  it('is the absolute path when the first phase-compose on PATH is another program', () => {
    const fs = fsWith({ [launcher]: launcher, '/usr/bin/phase-compose': '/usr/lib/other/cli.js', '/usr/local/bin/phase-compose': launcher });
    expect(selfCommand(launcher, '/usr/bin:/usr/local/bin', fs)).toBe(`'/opt/phase compose/dist/cli.js'`);
  });
  it('runs the launcher through node when it is not executable', () => {
    expect(selfCommand('/srv/pc/dist/cli.js', '', fsWith({}, false))).toBe('node /srv/pc/dist/cli.js');
  });
});
