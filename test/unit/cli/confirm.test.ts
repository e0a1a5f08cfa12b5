// The confirmation of restore, upgrade, rollback and exec's tasks: --yes, a terminal's answer, no terminal,
// and Ctrl-C or Ctrl-D at the question (exit 130, nothing changed; before, readline's "Aborted with Ctrl+C"
// surfaced as an unexpected error, exit 1).
import { describe, expect, it } from 'vitest';
import { cliConfirm } from '../../../src/cli/prompt.js';
import { INTERRUPT_KEYS, terminal } from './terminal.js';

describe('cliConfirm', () => {
  it('--yes answers yes without asking; no terminal is a usage error naming --yes', async () => {
    expect(await cliConfirm(true, false)('Restore?')).toBe(true);
    await expect(cliConfirm(false, false)('Restore?')).rejects.toMatchObject({ kind: 'usage', details: ['Restore?', 'pass --yes to confirm'] });
  });

  it.each([
    ['y\r', true],
    ['YES\r', true],
    ['n\r', false],
    ['\r', false],
    ['yess\r', false],
  ])('a terminal answering %j confirms: %s', async (typed, want) => {
    const t = terminal();
    const got = cliConfirm(false, true, t.input, t.output)('Restore x into y?');
    setImmediate(() => t.input.write(typed));
    expect(await got).toBe(want);
    expect(t.shown()).toContain('Restore x into y? [y/N] ');
  });

  it.each(INTERRUPT_KEYS)('%s at the question is an interruption (exit 130) that changed nothing', async (_, how, key) => {
    const t = terminal();
    const got = cliConfirm(false, true, t.input, t.output)('Restore?');
    setImmediate(() => key(t.input));
    await expect(got).rejects.toMatchObject({ kind: 'interrupted', message: `interrupted (${how}) at a prompt; nothing was changed` });
  });
});
