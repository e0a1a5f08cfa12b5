// One command of the table (src/cli/table): its yargs definition and a `run` that loads the
// implementation only when the command is chosen, so `generate` never loads Docker's client.
import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { Io } from './io.js';
import type { ExitCodeOf, Outcome } from './outcome.js';
import type { GlobalArgv } from './options.js';

/** What main.ts hands a command that runs. */
export type RunContext = { io: Io; exitCodeOf: ExitCodeOf };

export type CommandDef<U = any> = {
  /** yargs command string: name, positionals, aliases. */
  command: string;
  describe: string;
  /** Options, positionals and examples; `exitCodes` is the table its help must show. */
  builder: (y: GlobalArgv, exitCodes: string) => Argv<U>;
  /** Runs the command with yargs's camel-cased arguments; none for a command that only groups others. */
  run?: (args: ArgumentsCamelCase<U>, cx: RunContext) => Promise<Outcome>;
  /** Its subcommands (exec's). */
  commands?: CommandDef[];
};

/** Types a command's `run` arguments from its builder. */
export const defineCommand = <U>(def: CommandDef<U>): CommandDef => def as CommandDef;

/** The global options as a stack command takes them. */
export const stackArgs = (a: { file?: string; projectName?: string }) => ({ file: String(a.file), projectName: a.projectName });
