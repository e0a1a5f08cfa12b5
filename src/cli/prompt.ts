// One answer from a readline prompt, for every prompt of the CLI (init's questions, the passphrase).
import type { Interface } from 'node:readline';
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
