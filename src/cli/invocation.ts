// How a user runs this very CLI from wherever they stand, for the commands we print ("Next: …").
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { shQuote } from '../util/shell.js';

/** The file-system facts `selfCommand` needs; injected so the choice is testable. */
export type InvocationFs = {
  /** The resolved path of `p`, or undefined when it does not exist. */
  realpath(p: string): string | undefined;
  executable(p: string): boolean;
};

const realFs: InvocationFs = {
  realpath: (p) => {
    try {
      return realpathSync(p);
    } catch {
      return undefined;
    }
  },
  executable: (p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
};

/**
 * `phase-compose` when that name on PATH is this launcher (npm install -g, npm link), else the launcher's
 * absolute path (quoted for sh), run through node when it is not executable: never a bare name that
 * would run some other program, or ask npx to fetch a package from the registry.
 */
export function selfCommand(launcher: string, path: string | undefined, fs: InvocationFs = realFs): string {
  const self = fs.realpath(launcher);
  for (const dir of (path ?? '').split(delimiter).filter(Boolean)) {
    const found = fs.realpath(join(dir, 'phase-compose'));
    // The first match is the one the shell runs; it must be ours.
    if (found !== undefined) return found === self ? 'phase-compose' : commandFor(launcher, fs);
  }
  return commandFor(launcher, fs);
}

const commandFor = (launcher: string, fs: InvocationFs) => {
  const abs = resolve(launcher);
  return fs.executable(abs) ? shQuote(abs) : `node ${shQuote(abs)}`;
};
