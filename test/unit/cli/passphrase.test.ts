import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PASSPHRASE_ENV, decryptPassphrase, encryptPassphrase, hiddenPrompt } from '../../../src/cli/passphrase.js';
import { INTERRUPT_KEYS, terminal } from './terminal.js';

const dir = mkdtempSync(join(tmpdir(), 'pc-pass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const LONG = 'a long enough passphrase';

describe('archive passphrase', () => {
  it('the file wins over the environment; its first line, without the line end', async () => {
    const f = join(dir, 'key');
    writeFileSync(f, `${LONG}\r\nsecond line\n`);
    expect(await encryptPassphrase({ file: f, env: { [PASSPHRASE_ENV]: 'from the environment' }, isTTY: false })).toBe(LONG);
    expect(await encryptPassphrase({ env: { [PASSPHRASE_ENV]: 'from the environment' }, isTTY: false })).toBe('from the environment');
  });

  it('without a source and a terminal: a usage error that names every way and --no-encrypt', async () => {
    const e = encryptPassphrase({ env: {}, isTTY: false });
    await expect(e).rejects.toMatchObject({ kind: 'usage', message: 'backup encrypts its archive and has no passphrase' });
    await expect(decryptPassphrase({ env: {}, isTTY: false })()).rejects.toMatchObject({ kind: 'usage', message: 'the archive is encrypted and there is no passphrase' });
  });

  it('on a terminal: asked twice for a new archive; two different answers write nothing', async () => {
    const answers = [LONG, LONG, LONG, 'typo'];
    const prompt = async () => answers.shift()!;
    expect(await encryptPassphrase({ env: {}, isTTY: true, prompt })).toBe(LONG);
    await expect(encryptPassphrase({ env: {}, isTTY: true, prompt })).rejects.toThrow('the two passphrases differ: nothing was written');
  });

  it('a short passphrase is refused for a new archive', async () => {
    await expect(encryptPassphrase({ env: { [PASSPHRASE_ENV]: 'short' }, isTTY: false })).rejects.toThrow('the passphrase is shorter than 12 characters');
  });

  it('reading asks once, only when called', async () => {
    let asked = 0;
    const get = decryptPassphrase({ env: {}, isTTY: true, prompt: async () => (asked++, 'x') });
    expect(asked).toBe(0);
    expect(await get()).toBe('x');
    expect(await get()).toBe('x');
    expect(asked).toBe(1);
  });

  it('an empty or missing file is a usage error', async () => {
    writeFileSync(join(dir, 'empty'), '\n');
    await expect(encryptPassphrase({ file: join(dir, 'empty'), env: {}, isTTY: false })).rejects.toThrow(/is empty/);
    await expect(encryptPassphrase({ file: join(dir, 'none'), env: {}, isTTY: false })).rejects.toThrow(/cannot read/);
  });

  describe('the hidden prompt (a terminal-like input)', () => {
    it('returns the line typed and never echoes it', async () => {
      const t = terminal();
      const got = hiddenPrompt('Passphrase of the archive: ', t);
      setImmediate(() => t.input.write('correct horse battery\r'));
      expect(await got).toBe('correct horse battery');
      expect(t.shown()).toBe('Passphrase of the archive: \n');
    });

    // Before, Ctrl-C there was "unexpected error: Aborted with Ctrl+C" (exit 1).
    it.each(INTERRUPT_KEYS)('%s is an interruption (exit 130) that changed nothing', async (_, how, key) => {
      const t = terminal();
      const got = hiddenPrompt('Passphrase of the archive: ', t);
      setImmediate(() => key(t.input));
      await expect(got).rejects.toMatchObject({ kind: 'interrupted', message: `interrupted (${how}) at a prompt; nothing was changed` });
    });
  });
});
