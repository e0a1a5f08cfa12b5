// The command table loads each implementation only when its command runs: `generate` never loads the
// Docker side (dockerode, execa, src/docker/client.ts); a Docker command does.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../src/cli/main.js';

const loaded = vi.hoisted(() => new Set<string>());
vi.mock('dockerode', async (orig) => (loaded.add('dockerode'), orig()));
vi.mock('execa', async (orig) => (loaded.add('execa'), orig()));
vi.mock('../../../src/docker/client.js', async (orig) => (loaded.add('docker/client'), orig()));
vi.mock('../../../src/cli/commands/exec.js', async (orig) => (loaded.add('commands/exec'), orig()));

const example = join(import.meta.dirname, '../../../examples/phase-single-host/phase-compose.yaml');
const quiet = { out: () => {}, err: () => {}, isTTY: false };

describe('lazy command implementations', () => {
  it('generate loads nothing of Docker; exec run then loads its implementation and the client', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-lazy-'));
    copyFileSync(example, join(dir, 'phase-compose.yaml'));
    expect(await runCli(['generate', '-q', '-f', join(dir, 'phase-compose.yaml')], quiet)).toBe(0);
    expect([...loaded]).toEqual([]);

    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${join(dir, 'no-such.sock')}`;
    try {
      expect(await runCli(['exec', 'run', 'backend', '-f', join(dir, 'phase-compose.yaml'), '--', 'true'], quiet)).toBe(3);
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
    expect([...loaded].sort()).toEqual(['commands/exec', 'docker/client', 'dockerode']);
  });
});
