// A terminal-like input and output for the CLI's prompts (shared by the passphrase and confirm tests):
// the input says it is a TTY (readline reads it raw, so Ctrl-C and Ctrl-D arrive as keys), and `shown()`
// is everything written to the output.
import { PassThrough } from 'node:stream';

/** Ctrl-C and Ctrl-D (end of input): the test's name, the reason the prompt's error names, the key fed. */
export const INTERRUPT_KEYS = [
  ['Ctrl-C', 'Ctrl-C', (i: PassThrough) => i.write('\x03')],
  ['Ctrl-D (end of input)', 'end of input', (i: PassThrough) => i.end()],
] as const;

export function terminal() {
  const input = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: () => void };
  input.isTTY = true;
  input.setRawMode = () => {};
  const output = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  output.isTTY = true;
  output.columns = 80;
  let shown = '';
  output.on('data', (b: Buffer) => (shown += b.toString()));
  return { input, output, shown: () => shown };
}
