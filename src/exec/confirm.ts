// Yes/no confirmation for destructive commands: --yes answers yes; without a terminal we refuse rather than guess.
import { createInterface } from 'node:readline/promises';
import { PhaseComposeError } from '../util/errors.js';

/** A confirm function for the CLI: `yes` → always true; a TTY → ask; otherwise a usage error naming --yes. */
export function cliConfirm(yes: boolean, isTTY: boolean, input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stderr) {
  return async (question: string): Promise<boolean> => {
    if (yes) return true;
    if (!isTTY) {
      throw new PhaseComposeError('usage', 'this needs a confirmation and there is no terminal to ask on', { details: [question, 'pass --yes to confirm'] });
    }
    const rl = createInterface({ input, output });
    try {
      const a = await rl.question(`${question} [y/N] `);
      return /^y(es)?$/i.test(a.trim());
    } finally {
      rl.close();
    }
  };
}
