// One answer from a readline prompt, for every prompt of the CLI (init's questions, the passphrase, the
// confirmations of restore, upgrade, rollback and exec's tasks).
import { createInterface, type Interface } from 'node:readline';
import { PhaseComposeError } from '../util/errors.js';

/**
 * Asks `question` on `rl` and resolves with the line typed. Ctrl-C or Ctrl-D (end of input) rejects with
 * `interrupted` (exit 130), saying `nothing` (what was left undone). Before, Ctrl-C at the passphrase prompt
 * surfaced as "unexpected error: Aborted with Ctrl+C", exit 1.
 */
export function answer(rl: Interface, question: string, nothing: string): Promise<string> {
  return new Promise<string>((res, rej) => {
    const stop = (how: string) => () => rej(new PhaseComposeError('interrupted', `interrupted (${how}) at a prompt; ${nothing}`));
    rl.once('SIGINT', stop('Ctrl-C'));
    rl.once('close', stop('end of input'));
    rl.question(question, res);
  });
}

/**
 * A yes/no confirmation for destructive commands: `yes` (--yes) answers yes; a terminal is asked, where
 * Ctrl-C or Ctrl-D is exit 130 with nothing changed (before, readline's "Aborted with Ctrl+C" surfaced as an
 * unexpected error, exit 1); without a terminal it is a usage error naming --yes, rather than a guess.
 */
export function cliConfirm(yes: boolean, isTTY: boolean, input: NodeJS.ReadableStream = process.stdin, output: NodeJS.WritableStream = process.stderr) {
  return async (question: string): Promise<boolean> => {
    if (yes) return true;
    if (!isTTY) {
      throw new PhaseComposeError('usage', 'this needs a confirmation and there is no terminal to ask on', { details: [question, 'pass --yes to confirm'] });
    }
    const rl = createInterface({ input, output });
    try {
      return /^y(es)?$/i.test((await answer(rl, `${question} [y/N] `, 'nothing was changed')).trim());
    } finally {
      rl.close();
    }
  };
}
