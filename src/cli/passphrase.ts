// Where an archive's passphrase comes from: --passphrase-file, else $PHASE_COMPOSE_BACKUP_PASSPHRASE, else a
// prompt on a terminal (not echoed; asked twice when encrypting). Never printed, never taken from argv
// (argv is visible to every user of the host in ps).
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { PhaseComposeError } from '../util/errors.js';
import { readOnDisk } from '../util/fs.js';
import { answer } from './prompt.js';

/** A passphrase file holds one line; nothing past this is read. */
const PASSPHRASE_FILE_MAX_BYTES = 64 * 1024;

export const PASSPHRASE_ENV = 'PHASE_COMPOSE_BACKUP_PASSPHRASE';
/** Shortest passphrase accepted for a new archive (Argon2 slows guessing; it cannot save a short one). */
export const MIN_PASSPHRASE = 12;

export type PassphraseSource = { file?: string; env: NodeJS.ProcessEnv; isTTY: boolean; prompt?: (q: string) => Promise<string> };

/** Reads a passphrase file: its first line, without the line end. */
export function readPassphraseFile(file: string): string {
  const d = readOnDisk(file, PASSPHRASE_FILE_MAX_BYTES);
  if (d.kind !== 'file') throw new PhaseComposeError('usage', `--passphrase-file: cannot read ${file}: ${d.kind === 'missing' ? 'no such file' : d.why}`);
  const text = d.data.toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) throw new PhaseComposeError('usage', `--passphrase-file: ${file} is empty`);
  return line;
}

/** Asks on the terminal without echoing what is typed; Ctrl-C or Ctrl-D there is exit 130. */
export async function hiddenPrompt(question: string, streams: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream } = {}): Promise<string> {
  const output = streams.output ?? process.stderr;
  output.write(question);
  const mute = new Writable({ write: (_c, _e, cb) => cb() });
  const rl = createInterface({ input: streams.input ?? process.stdin, output: mute, terminal: true });
  try {
    return await answer(rl, '', 'nothing was changed');
  } finally {
    rl.close();
    output.write('\n');
  }
}

const NONE = `set ${PASSPHRASE_ENV}, pass --passphrase-file FILE, or run on a terminal to be asked`;

/** The passphrase for a new archive (checked for length; asked twice on a terminal). */
export async function encryptPassphrase(s: PassphraseSource): Promise<string> {
  const ask = s.prompt ?? hiddenPrompt;
  let p: string;
  if (s.file !== undefined) p = readPassphraseFile(s.file);
  else if (s.env[PASSPHRASE_ENV]) p = s.env[PASSPHRASE_ENV]!;
  else if (s.isTTY) {
    p = await ask('Passphrase for the archive: ');
    if ((await ask('Same passphrase again: ')) !== p) throw new PhaseComposeError('usage', 'the two passphrases differ: nothing was written');
  } else throw new PhaseComposeError('usage', 'backup encrypts its archive and has no passphrase', { details: [NONE, 'or pass --no-encrypt to write it unencrypted (it holds every secret of the instance)'] });
  if (p.length < MIN_PASSPHRASE) throw new PhaseComposeError('usage', `the passphrase is shorter than ${MIN_PASSPHRASE} characters`, { details: ['use a long random one, e.g. `openssl rand -base64 24`, and keep it apart from the archives'] });
  return p;
}

/** The passphrase to read an archive, asked for only when the archive turns out to be encrypted (then kept). */
export function decryptPassphrase(s: PassphraseSource): () => Promise<string> {
  let got: Promise<string> | undefined;
  return () =>
    (got ??= (async () => {
      if (s.file !== undefined) return readPassphraseFile(s.file);
      if (s.env[PASSPHRASE_ENV]) return s.env[PASSPHRASE_ENV]!;
      if (s.isTTY) return (s.prompt ?? hiddenPrompt)('Passphrase of the archive: ');
      throw new PhaseComposeError('usage', 'the archive is encrypted and there is no passphrase', { details: [NONE] });
    })());
}
