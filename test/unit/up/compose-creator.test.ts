// The gated Compose call is given a request timeout as long as the run may hold it: docker-compose 1.29
// gives up on a request after 60 s by default, and the gate holds its first change until the batch's
// release (after a backup and migrations: minutes). A stand-in Compose records what it was given.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HELD_HTTP_TIMEOUT_S, gatedCreator } from '../../../src/up/compose-creator.js';
import { buildPlan } from '../../../src/up/plan.js';
import { demoSpec } from './demo-spec.js';

afterEach(() => vi.unstubAllEnvs());

describe('gatedCreator', () => {
  it('runs Compose behind the gate with COMPOSE_HTTP_TIMEOUT as long as the run, whatever the user set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-creator-'));
    const fake = join(dir, 'compose');
    writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$COMPOSE_HTTP_TIMEOUT" "$DOCKER_HOST" "$*" > ${JSON.stringify(join(dir, 'seen'))}\n`);
    chmodSync(fake, 0o755);
    vi.stubEnv('DOCKER_HOST', `unix://${join(dir, 'engine.sock')}`); // a local socket: the gate is used
    vi.stubEnv('COMPOSE_HTTP_TIMEOUT', '60');
    const creator = gatedCreator({ cli: { argv: [fake] }, project: 'demo', file: join(dir, 'c.yml'), cwd: dir }, buildPlan(demoSpec));
    await creator.prepare(['postgres']).release();
    const [timeout, host, args] = readFileSync(join(dir, 'seen'), 'utf8').split('\n');
    expect(timeout).toBe(HELD_HTTP_TIMEOUT_S);
    expect(Number(HELD_HTTP_TIMEOUT_S)).toBeGreaterThanOrEqual(24 * 3600);
    expect(host).toMatch(/^unix:\/\/.*phase-compose-gate-.*\/docker\.sock$/);
    expect(args).toBe('-p demo -f ' + join(dir, 'c.yml') + ' up --no-start --no-deps postgres');
  });
});
