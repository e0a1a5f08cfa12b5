// The `phase-compose` entry point: parses arguments, runs a command, prints errors, picks the exit code.
// Commands are loaded on demand so `generate` never loads Docker's client.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CliError, ExitCode, SpecError, formatProblem } from '../util/errors.js';
import { processIo, type Io } from './io.js';

const EXIT_CODES = `Exit codes:
  0    success
  1    a problem was found (invalid spec, out-of-date file, refused overwrite)
  2    usage error (unknown option, missing file)
  3    Docker or Compose cannot be reached
  4    a service or job failed (a migration exited non-zero, a service turned unhealthy)
  5    timed out waiting
  6    another phase-compose run holds the project's lock
  130  interrupted (Ctrl-C)`;

/** Every command's help ends with the exit-code table. Use it in each command's builder. */
export const specOption = (y: Argv) => y.epilogue(EXIT_CODES);

/** Builds the yargs parser; `io` receives all output. */
export function buildCli(argv: string[], io: Io, exit: { code: number }): Argv {
  const run = (fn: () => Promise<number>) => async () => {
    exit.code = await fn();
  };
  return yargs(argv)
    .scriptName('phase-compose')
    // Global, so they work before or after the subcommand (`phase-compose -p x up` and `up -p x`).
    .option('file', { alias: 'f', type: 'string', default: 'phase-compose.yaml', describe: 'Deployment spec', normalize: true, global: true })
    .option('project-name', { alias: 'p', type: 'string', describe: 'Compose project name (default: COMPOSE_PROJECT_NAME, else the spec\'s name)', global: true })
    .usage('$0 <command> [options]\n\nGenerate and run Docker Compose stacks for self-hosted Phase (and apps like it): a dedicated migrations service, health-gated start-up, and safe maintenance commands.')
    .command(
      'init',
      'Scaffold a stack: spec, .env with generated secrets, compose file, nginx config',
      (y) =>
        specOption(y)
          .option('dir', { alias: 'd', type: 'string', default: '.', describe: 'Directory to write into (created if missing)' })
          .option('template', { alias: 't', type: 'string', default: 'phase', choices: ['phase'], describe: 'Stack template' })
          .option('host', { type: 'string', describe: 'Host name users reach the app at (prompted on a TTY; default localhost)' })
          .option('client-ip', { type: 'string', choices: ['direct', 'cloudflare', 'header'], describe: 'Where nginx takes the client IP from (prompted on a TTY; default direct)' })
          .option('proxy-header', { type: 'string', describe: 'With --client-ip header: the header carrying the client IP (default X-Forwarded-For)' })
          .option('trusted', { type: 'array', string: true, describe: 'With --client-ip header (or cloudflare): CIDR ranges of the proxies allowed to set it' })
          .option('tls', { type: 'string', choices: ['self-signed', 'none'], describe: 'TLS on 443: a self-signed certificate (default when openssl is installed) or none' })
          .option('compose-version', { type: 'string', describe: 'Target Compose version (default: the installed one)' })
          .option('engine-version', { type: 'string', describe: 'Target Docker Engine version (default: the running one)' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Accept defaults; never prompt' })
          .option('force', { type: 'boolean', default: false, describe: 'Overwrite existing files (each kept as <file>.bak; secrets in an existing .env are kept)' })
          .example('$0 init --dir my-phase --host phase.example.com --yes', 'Non-interactive set-up in ./my-phase')
          .example('$0 init --client-ip header --proxy-header X-Forwarded-For --trusted 10.0.0.0/8', 'Behind a load balancer'),
      (a) =>
        run(async () => {
          const { runInit } = await import('./commands/init.js');
          return runInit(
            {
              dir: a.dir, template: a.template, host: a.host, clientIp: a['client-ip'] as 'direct' | undefined,
              proxyHeader: a['proxy-header'], trusted: a.trusted, tls: a.tls as 'none' | undefined,
              composeVersion: a['compose-version'], engineVersion: a['engine-version'], yes: a.yes, force: a.force,
            },
            io,
          );
        })(),
    )
    .command(
      'generate',
      'Write the compose file (and proxy config) from the spec',
      (y) =>
        specOption(y)
          .option('output', { alias: 'o', type: 'string', describe: 'Compose file to write (default: the spec\'s `output`, else docker-compose.yml beside the spec)', normalize: true })
          .option('check', { type: 'boolean', default: false, describe: 'Write nothing; print a diff and exit 1 if the files on disk are out of date (for CI)' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print only warnings and errors' })
          .example('$0 generate', 'Read ./phase-compose.yaml, write ./docker-compose.yml')
          .example('$0 generate -f deploy/phase-compose.yaml -o deploy/compose.yml', 'Explicit paths')
          .example('$0 generate --check', 'In CI: fail when the committed compose file is stale'),
      (a) =>
        run(async () => {
          const { runGenerate } = await import('./commands/generate.js');
          return runGenerate({ file: String(a.file), output: a.output, check: a.check, quiet: a.quiet }, io);
        })(),
    )
    .command(
      'validate',
      'Check the spec: schema, references, cycles, health conditions, ports, secrets',
      (y) => specOption(y).example('$0 validate -f phase-compose.yaml', 'Print every problem with file:line:col'),
      (a) =>
        run(async () => {
          const { runValidate } = await import('./commands/validate.js');
          return runValidate({ file: String(a.file) }, io);
        })(),
    )
    .demandCommand(1, 'Name a command: init, generate, validate (see --help)')
    .strict()
    .recommendCommands()
    .epilogue(EXIT_CODES)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .help()
    .alias('help', 'h')
    .version()
    .fail((msg, err) => {
      if (err) throw err;
      throw new CliError(msg, { exitCode: ExitCode.usage, details: ['see `phase-compose --help`'] });
    });
}

/** Prints an error the way users should see it; returns the exit code. */
export function reportError(e: unknown, io: Io): number {
  if (e instanceof SpecError) {
    for (const p of e.problems) io.err(formatProblem(p));
    const n = e.problems.filter((p) => p.severity === 'error').length;
    io.err(`\n${n} error${n === 1 ? '' : 's'}; nothing was written.`);
    return ExitCode.problem;
  }
  if (e instanceof CliError) {
    io.err(`phase-compose: ${e.message}`);
    for (const d of e.details) io.err(`  ${d}`);
    return e.exitCode;
  }
  io.err(`phase-compose: internal error: ${(e as Error)?.message ?? String(e)}`);
  if (process.env.PHASE_COMPOSE_DEBUG) io.err(String((e as Error)?.stack));
  else io.err('  (set PHASE_COMPOSE_DEBUG=1 for a stack trace, and please report it)');
  return 70;
}

/** Runs the CLI with process arguments. */
export async function main(): Promise<void> {
  const io = processIo();
  const exit = { code: 0 };
  try {
    await buildCli(hideBin(process.argv), io, exit).parseAsync();
  } catch (e) {
    exit.code = reportError(e, io);
  }
  process.exitCode = exit.code;
}

await main();
