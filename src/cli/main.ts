// The `phase-compose` entry point: builds the parser from the command table, runs a command, prints
// errors, and picks the exit code (the only module that does; src/cli/exit-codes.ts holds the map).
// Commands are loaded on demand so `generate` never loads Docker's client.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { FILE_SYSTEM_REFUSALS, PhaseComposeError, SpecError, engineRefusal, formatProblem } from '../util/errors.js';
import type { CommandDef, RunContext } from './command.js';
import { EXIT_CODES, UNEXPECTED, exitCodeOf, helpTable } from './exit-codes.js';
import { afterLostOutput, keepGoingWhenOutputFails, processIo, type Io } from './io.js';
import { globalOptions, type GlobalArgv } from './options.js';
import { COMMANDS } from './table/index.js';

/** The package's version, put in by scripts/build.mjs (and vitest.config.ts) from package.json. */
declare const __PHASE_COMPOSE_VERSION__: string | undefined;
const VERSION = typeof __PHASE_COMPOSE_VERSION__ === 'string' ? __PHASE_COMPOSE_VERSION__ : 'unknown';

/** Adds a command (and its subcommands) to `y`; running it sets `exit.code` from its outcome. */
function addCommand(y: Argv, def: CommandDef, cx: RunContext, exit: { code: number }): Argv {
  return y.command(
    def.command,
    def.describe,
    (b) => (def.commands ?? []).reduce((c, sub) => addCommand(c, sub, cx, exit), def.builder(b as GlobalArgv, helpTable())),
    async (a) => {
      if (def.run) exit.code = exitCodeOf(await def.run(a, cx));
    },
  );
}

/** Builds the yargs parser; `io` receives all output. */
export function buildCli(argv: string[], io: Io, exit: { code: number }): Argv {
  const cx: RunContext = { io, exitCodeOf };
  const cli = globalOptions(yargs(argv).scriptName('phase-compose'))
    .usage('$0 <command> [options]\n\nGenerate and run Docker Compose stacks for self-hosted\nPhase and apps like it: a dedicated migrations service,\nhealth-gated start-up, and safe maintenance commands.\nStart with `$0 init`.');
  return COMMANDS.reduce<Argv>((y, def) => addCommand(y, def, cx, exit), cli)
    .demandCommand(1, 'Name a command: init, generate, validate, up, down, status, migrate, ... (see --help)')
    .strict()
    .recommendCommands()
    .epilogue(helpTable())
    // No hard wrap: yargs's ESM build (the fast one to load) breaks lines mid-word; terminals soft-wrap.
    .wrap(null)
    .help()
    .alias('help', 'h')
    .version(VERSION)
    // --help and --version return like any command (exit code 0) instead of calling process.exit.
    .exitProcess(false)
    // An option given twice that takes one value: refused (yargs made an array of it, which a command
    // then read as "A,B", an array where a path was due, or crashed on).
    .middleware(((a: Record<string, unknown>, y: { getOptions(): { array: string[] } }) => {
      // The second argument is the yargs of the command being run (its own array options included).
      const arrays = new Set(y.getOptions().array);
      const twice = Object.keys(a).find((k) => k !== '_' && k !== '--' && k !== '$0' && Array.isArray(a[k]) && !arrays.has(k) && /^[a-z]/i.test(k) && argv.some((w) => w === `--${k}` || w.startsWith(`--${k}=`) || (k.length === 1 && w === `-${k}`)));
      if (twice) throw givenTwice(twice);
    }) as unknown as Parameters<Argv['middleware']>[0], true)
    .fail((msg, err) => {
      // yargs's own checks (and the argument checks in options.ts, which it wraps) are usage errors.
      if (err instanceof PhaseComposeError) throw err;
      if (err && err.name !== 'YError') throw err;
      throw new PhaseComposeError('usage', err?.message ?? msg, { details: ['see `phase-compose --help`'] });
    });
}

/** yargs-parser's crash on a repeated option it normalises (-f a -f b: "Cannot redefine property: f"), as a usage error. */
function repeatedOption(e: unknown): PhaseComposeError | undefined {
  const m = e instanceof TypeError ? /^Cannot redefine property: (.+)$/.exec(e.message) : null;
  return m ? givenTwice(m[1]!) : undefined;
}

/** The usage error for an option that takes one value, given more than once. */
const givenTwice = (name: string) =>
  new PhaseComposeError('usage', `${name.length === 1 ? '-' : '--'}${name} is given more than once: give it once`, { details: ['see `phase-compose --help`'] });

/** Prints an error the way users should see it; returns the exit code. */
export function reportError(e: unknown, io: Io): number {
  if (e instanceof SpecError) {
    for (const p of e.problems) io.err(formatProblem(p));
    const n = e.problems.filter((p) => p.severity === 'error').length;
    io.err(`\n${n} error${n === 1 ? '' : 's'}; nothing was written.`);
    return EXIT_CODES[e.kind].code;
  }
  if (e instanceof PhaseComposeError) {
    io.err(`phase-compose: ${e.message}`);
    for (const d of e.details) io.err(`  ${d}`);
    return EXIT_CODES[e.kind].code;
  }
  // A file system that refuses a write (full, over quota, read-only) where no command said more: the
  // machine's state, not a bug. The command stopped at that write.
  const errno = e as NodeJS.ErrnoException | undefined;
  const refused = errno?.code ? FILE_SYSTEM_REFUSALS[errno.code] : undefined;
  if (refused) {
    io.err(`phase-compose: ${errno?.path ? `could not write ${errno.path}` : 'a write failed'}: ${refused}`);
    io.err('  the command stopped there; make room (or make it writable) and run it again');
    return EXIT_CODES.problem.code;
  }
  // The Docker Engine refused a request mid-command (a container paused or removed meanwhile): exit 4,
  // like the failures Docker reports in words we foresaw; before, an "unexpected error", exit 1.
  const refusal = engineRefusal(e);
  if (refusal) {
    io.err(`phase-compose: the Docker Engine refused a request: ${refusal}`);
    io.err('  the command stopped there; see `phase-compose status`, then run it again');
    return EXIT_CODES.failed.code;
  }
  // Not a case we foresaw: still a documented exit code (a problem), with the message and a way to report it.
  io.err(`phase-compose: unexpected error: ${(e as Error)?.message ?? String(e)}`);
  if (process.env.PHASE_COMPOSE_DEBUG) io.err(String((e as Error)?.stack));
  else io.err('  this is a bug in phase-compose: please report it (set PHASE_COMPOSE_DEBUG=1 for a stack trace)');
  return EXIT_CODES[UNEXPECTED].code;
}

/** Runs the CLI on `argv` (without node and the script); returns the exit code. Everything printed goes to `io`. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const exit = { code: 0 };
  try {
    await buildCli(argv, io, exit).parseAsync();
  } catch (e) {
    exit.code = reportError(repeatedOption(e) ?? e, io);
  }
  return exit.code;
}

/**
 * Runs the CLI with process arguments. A command that stops half-way with nothing left to wait for (a
 * promise nobody will settle: it was a full disk in `backup --dump-only`) would end the process with exit
 * code 0, as if it had succeeded: it ends with the unforeseen error's code and says so instead. A
 * stdout or stderr that fails (its reader gone) no longer ends it midway: the command runs to its end.
 */
export async function main(): Promise<void> {
  let finished = false;
  process.once('exit', () => {
    if (finished || process.exitCode) return;
    process.stderr.write('phase-compose: the command stopped before it finished, with nothing left to wait for\n  this is a bug in phase-compose: please report it, with the command you ran\n');
    process.exitCode = EXIT_CODES[UNEXPECTED].code;
  });
  const lost = keepGoingWhenOutputFails({ stdout: process.stdout, stderr: process.stderr });
  const code = await runCli(hideBin(process.argv), processIo());
  // A failed write is reported on the next tick: let the last one's come in first.
  await new Promise((res) => setImmediate(res));
  const after = afterLostOutput(code, lost(), EXIT_CODES.problem.code);
  if (after.line) process.stderr.write(`${after.line}\n`);
  process.exitCode = after.code;
  finished = true;
}
