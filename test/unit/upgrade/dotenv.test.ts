// upgrade --to writes the version variable into the .env beside the compose file.
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setDotEnv } from '../../../src/cli/commands/upgrade.js';

describe('setDotEnv', () => {
  it('writes through a .env that is a symbolic link, and its undo puts the shared file back', () => {
    // Until 2026-11-29 the link was replaced by a regular file: the shared file never got the new version.
    const shared = mkdtempSync(join(tmpdir(), 'pc-shared-'));
    const stack = mkdtempSync(join(tmpdir(), 'pc-stack-'));
    writeFileSync(join(shared, 'phase.env'), 'SECRET_KEY=k\nAPP_VERSION=v1\n', { mode: 0o600 });
    symlinkSync(join(shared, 'phase.env'), join(stack, '.env'));
    const undo = setDotEnv({ cwd: stack }, 'APP_VERSION', 'v2');
    expect(lstatSync(join(stack, '.env')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(stack, '.env'))).toBe(join(shared, 'phase.env'));
    expect(readFileSync(join(shared, 'phase.env'), 'utf8')).toMatch(/^APP_VERSION=v2$/m);
    expect(statSync(join(shared, 'phase.env')).mode & 0o777).toBe(0o600);
    undo();
    expect(lstatSync(join(stack, '.env')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(shared, 'phase.env'), 'utf8')).toBe('SECRET_KEY=k\nAPP_VERSION=v1\n');
  });

  it('a plain .env is written in place, 0600', () => {
    const stack = mkdtempSync(join(tmpdir(), 'pc-stack-'));
    writeFileSync(join(stack, '.env'), 'APP_VERSION=v1\n');
    setDotEnv({ cwd: stack }, 'APP_VERSION', 'v2');
    expect(readFileSync(join(stack, '.env'), 'utf8')).toMatch(/^APP_VERSION=v2$/m);
    expect(statSync(join(stack, '.env')).mode & 0o777).toBe(0o600);
  });
});
