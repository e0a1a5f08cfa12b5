// The `phase-compose` entry point: parses arguments, runs a command, prints errors, picks the exit code.
// Commands are loaded on demand so `generate` never loads Docker's client.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseCliDuration } from '../util/duration.js';
import { PhaseComposeError, SpecError, formatProblem } from '../util/errors.js';
import { EXIT_CODES, UNEXPECTED, exitCodeOf, helpTable } from './exit-codes.js';
import { processIo, type Io } from './io.js';
import type { Outcome } from './outcome.js';

/** The package's version, put in by scripts/build.mjs (and vitest.config.ts) from package.json. */
declare const __PHASE_COMPOSE_VERSION__: string | undefined;
const VERSION = typeof __PHASE_COMPOSE_VERSION__ === 'string' ? __PHASE_COMPOSE_VERSION__ : 'unknown';

// Argument checks, run by yargs while parsing: a bad value is a usage error (exit 2) before any
// command touches Docker or the disk. yargs wraps what they throw; `.fail` turns it into exit 2.

/** `-p`: Compose's own rule for project names, checked instead of silently normalising `../x` to `x`. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const projectName = (v: unknown) => {
  if (v === undefined) return v;
  if (typeof v !== 'string' || !PROJECT_NAME.test(v)) {
    throw new Error(`-p ${JSON.stringify(v)}: a Compose project name is lower-case letters, digits, "_" and "-", starting with a letter or digit`);
  }
  return v;
};
/** A duration option (`--timeout 90s`, a bare number is seconds), more than zero. */
const duration = (name: string) => (v: unknown) => {
  let ms: number;
  try {
    ms = parseCliDuration(String(v));
  } catch (e) {
    throw new Error(`--${name}: ${(e as Error).message}`);
  }
  if (!(ms > 0)) throw new Error(`--${name}: must be more than zero, got ${JSON.stringify(v)}`);
  return String(v);
};
/** A whole number option (`--retain 90`), zero or more. */
const count = (name: string) => (v: unknown) => {
  if (v === undefined) return v;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`--${name}: expected a whole number (0 or more)`);
  return v;
};

const EXIT_CODES_HELP = helpTable();

/** The global options every stack command takes: the spec and the Compose project name. */
const stackArgs = (a: Record<string, unknown>) => ({
  file: String(a.file),
  projectName: a['project-name'] as string | undefined,
});

/** Every command's help ends with the exit-code table. Use it in each command's builder. */
export const specOption = (y: Argv) => y.epilogue(EXIT_CODES_HELP);

/** Builds the yargs parser; `io` receives all output. */
export function buildCli(argv: string[], io: Io, exit: { code: number }): Argv {
  const run = (fn: () => Promise<Outcome>) => async () => {
    exit.code = exitCodeOf(await fn());
  };
  return yargs(argv)
    .scriptName('phase-compose')
    // Global, so they work before or after the subcommand (`phase-compose -p x up` and `up -p x`).
    .option('file', { alias: 'f', type: 'string', default: 'phase-compose.yaml', requiresArg: true, describe: 'Deployment spec', normalize: true, global: true })
    .option('project-name', { alias: 'p', type: 'string', requiresArg: true, coerce: projectName, describe: 'Compose project name: [a-z0-9][a-z0-9_-]* (default: COMPOSE_PROJECT_NAME, else the spec\'s name)', global: true })
    .usage('$0 <command> [options]\n\nGenerate and run Docker Compose stacks for self-hosted\nPhase and apps like it: a dedicated migrations service,\nhealth-gated start-up, and safe maintenance commands.\nStart with `$0 init`.')
    .command(
      'init',
      'Scaffold a stack: spec, .env with generated secrets, compose file, nginx config',
      (y) =>
        specOption(y)
          .option('dir', { alias: 'd', type: 'string', requiresArg: true, default: '.', describe: 'Directory to write into (created if missing)' })
          .option('template', { alias: 't', type: 'string', requiresArg: true, default: 'phase', choices: ['phase'], describe: 'Stack template' })
          .option('host', { type: 'string', requiresArg: true, describe: 'Host name users reach the app at (prompted on a TTY; default localhost)' })
          .option('client-ip', { type: 'string', requiresArg: true, choices: ['direct', 'cloudflare', 'header'], describe: 'Where nginx takes the client IP from (prompted on a TTY; default direct)' })
          .option('proxy-header', { type: 'string', requiresArg: true, describe: 'With --client-ip header: the header carrying the client IP (default X-Forwarded-For)' })
          .option('trusted', { type: 'array', string: true, describe: 'With --client-ip header (or cloudflare): CIDR ranges of the proxies allowed to set it' })
          .option('tls', { type: 'string', requiresArg: true, choices: ['self-signed', 'none'], describe: 'TLS on 443: a self-signed certificate (default when openssl is installed) or none' })
          .option('compose-version', { type: 'string', requiresArg: true, describe: 'Target Compose version (default: the installed one)' })
          .option('engine-version', { type: 'string', requiresArg: true, describe: 'Target Docker Engine version (default: the running one)' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Accept defaults; never prompt' })
          .option('force', { type: 'boolean', default: false, describe: 'Overwrite existing files (each kept as <file>.bak, .bak.1, ... never replacing an earlier backup); an existing .env keeps every entry (its secrets, extra keys, and HOST unless --host is given)' })
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
          .option('output', { alias: 'o', type: 'string', requiresArg: true, describe: 'Compose file to write (default: the spec\'s `output`, else docker-compose.yml beside the spec). Named here, it may lie outside the spec\'s directory', normalize: true })
          .option('force', { type: 'boolean', default: false, describe: 'Replace files phase-compose did not write (no "# Generated by phase-compose" header), keeping each as <file>.bak (.bak.1, ... when taken)' })
          .option('allow-outside', { type: 'boolean', default: false, describe: 'Let the spec\'s `output:` and `proxy.config:` point outside the spec\'s directory' })
          .option('check', { type: 'boolean', default: false, describe: 'Write nothing; print a diff and exit 1 if the files on disk are out of date (for CI)' })
          .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print only warnings and errors' })
          .example('$0 generate', 'Read ./phase-compose.yaml, write ./docker-compose.yml')
          .example('$0 generate -f deploy/phase-compose.yaml -o deploy/compose.yml', 'Explicit paths')
          .example('$0 generate --check', 'In CI: fail when the committed compose file is stale')
          .epilogue(`generate writes only files that do not exist yet or that carry its own "# Generated by phase-compose"
header; anything else is refused (exit 1) unless --force, which keeps the old file as <file>.bak first.
It never writes the spec itself or an env file (.env, or any env_file the spec names). The spec's
\`output:\` and \`proxy.config:\` must stay inside the spec's directory unless --allow-outside; a path
given with -o on the command line may be anywhere.`),
      (a) =>
        run(async () => {
          const { runGenerate } = await import('./commands/generate.js');
          return runGenerate({ file: String(a.file), output: a.output, check: a.check, quiet: a.quiet, force: a.force, allowOutside: a['allow-outside'] }, io);
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
    .command(
      'exec',
      'Run a maintenance task in the running stack: purge, sso, reset-network-policies, run, shell, or any task in the spec',
      (y) =>
        specOption(y)
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Confirm destructive steps without asking' })
          .example('$0 exec purge "Acme Inc" --retain 90 --vacuum', 'Purge old read events, then VACUUM')
          .example('$0 exec sso --org "Acme Inc" --show', 'See why nobody can log in')
          .example('$0 exec purge --help', 'Each subcommand has its own help')
          .command(
            'purge <org>',
            'Delete READ audit events older than --retain days (Phase\'s purge_app_logs), with a size report before and after',
            (p) =>
              specOption(p)
                .positional('org', { type: 'string', describe: 'Organisation name (passed verbatim: spaces, quotes, ; are fine)' })
                .option('retain', { type: 'number', requiresArg: true, coerce: count('retain'), describe: 'Days of READ events to keep (app default 30; 0 deletes all)' })
                .option('app-id', { type: 'string', requiresArg: true, describe: 'Only this app' })
                .option('batch-size', { type: 'number', requiresArg: true, coerce: count('batch-size'), describe: 'Rows per batch (app default 10000)' })
                .option('sleep-ms', { type: 'number', requiresArg: true, coerce: count('sleep-ms'), describe: 'Pause between batches (app default 500)' })
                .option('dry-run', { type: 'boolean', default: false, describe: 'Count what would be deleted; delete nothing' })
                .option('vacuum', { type: 'boolean', default: false, describe: 'VACUUM (ANALYZE) the table afterwards' })
                .option('vacuum-full', { type: 'boolean', default: false, describe: 'VACUUM FULL ANALYZE afterwards: returns disk space, LOCKS the table (asks first)' })
                .example('$0 exec purge "Acme Inc" --retain 90 --vacuum', 'Keep 90 days of read events')
                .example('$0 exec purge "Acme Inc" --retain 90 --dry-run', 'How many would go'),
            (a) =>
              run(async () => {
                const { runExecPurge } = await import('./commands/exec.js');
                return runExecPurge({ ...stackArgs(a), yes: Boolean(a.yes), org: String(a.org), retain: a.retain, appId: a['app-id'], batchSize: a['batch-size'], sleepMs: a['sleep-ms'], dryRun: a['dry-run'], vacuum: a.vacuum, vacuumFull: a['vacuum-full'] }, io);
              })(),
          )
          .command(
            'sso',
            'Show or undo an organisation\'s SSO set-up (Phase\'s disable_org_sso)',
            (p) =>
              specOption(p)
                .option('org', { type: 'string', requiresArg: true, demandOption: true, describe: 'Organisation name' })
                .option('show', { type: 'boolean', describe: 'Print the SSO state' })
                .option('disable-enforcement', { type: 'boolean', describe: 'Turn off "require SSO"' })
                .option('delete-providers', { type: 'boolean', describe: 'Delete the organisation\'s SSO providers' })
                .example('$0 exec sso --org "Acme Inc" --show', 'Print the SSO state')
                .example('$0 exec sso --org "Acme Inc" --disable-enforcement', 'Let members log in with a password again'),
            (a) =>
              run(async () => {
                const { runExecSso } = await import('./commands/exec.js');
                return runExecSso({ ...stackArgs(a), yes: Boolean(a.yes), org: String(a.org), show: a.show, disableEnforcement: a['disable-enforcement'], deleteProviders: a['delete-providers'] }, io);
              })(),
          )
          .command(
            'reset-network-policies',
            'Make every network access policy non-global (Phase\'s documented reset) and report how many changed',
            (p) =>
              specOption(p)
                .option('service', { type: 'string', requiresArg: true, describe: 'Service to run it in (default: the spec\'s task, else the first app service)' })
                .example('$0 exec reset-network-policies', 'After a policy locked everyone out'),
            (a) =>
              run(async () => {
                const { runExecReset } = await import('./commands/exec.js');
                return runExecReset({ ...stackArgs(a), yes: Boolean(a.yes), service: a.service }, io);
              })(),
          )
          .command(
            'run <service> [argv..]',
            'Run any command (argv after --) in a service\'s running container',
            (p) => specOption(p).positional('service', { type: 'string' }).example('$0 exec run backend -- python manage.py check', 'Run Django\'s system check in the backend'),
            (a) =>
              run(async () => {
                const { runExecRun } = await import('./commands/exec.js');
                return runExecRun({ ...stackArgs(a), service: String(a.service), argv: [...((a.argv as unknown[]) ?? []), ...a._.slice(2)].map(String) }, io);
              })(),
          )
          .command(
            'shell [service]',
            'Open an interactive shell in a service\'s running container',
            (p) =>
              specOption(p)
                .positional('service', { type: 'string' })
                .option('shell', { type: 'string', requiresArg: true, default: 'sh', describe: 'Shell program' })
                .example('$0 exec shell backend', 'A shell in the backend container')
                .example('$0 exec shell postgres --shell bash', 'Another shell program'),
            (a) =>
              run(async () => {
                const { runExecShell } = await import('./commands/exec.js');
                return runExecShell({ ...stackArgs(a), service: a.service, shell: a.shell }, io);
              })(),
          )
          .command(
            '$0 <task> [args..]',
            'Any maintenance task in the spec: parameters as --name value (the first required one may be positional)',
            (p) => p.strict(false).parserConfiguration({ 'unknown-options-as-args': true, 'populate--': true }),
            (a) =>
              run(async () => {
                const { runExecTask } = await import('./commands/exec.js');
                const words = [...((a.args as unknown[]) ?? []), ...(a['--'] ? ['--', ...(a['--'] as unknown[])] : [])].map(String);
                return runExecTask({ ...stackArgs(a), yes: a.yes, task: String(a.task), words }, io);
              })(),
          ),
      () => {},
    )
    .command(
      'backup',
      'Dump the database (pg_dump -Fc in the postgres container) to a verified file with a .sha256 beside it',
      (y) =>
        specOption(y)
          .option('out', { alias: 'o', type: 'string', requiresArg: true, describe: 'File to write (default: <dir>/<project>-<UTC time>.dump)', normalize: true })
          .option('dir', { type: 'string', requiresArg: true, describe: 'Directory for stamped backups (default: migrations.backup.dir, else backups/)' })
          .option('keep', { type: 'number', requiresArg: true, coerce: count('keep'), describe: 'Keep the newest N stamped backups (default: migrations.backup.keep, else all)' })
          .example('$0 backup', 'Write backups/<project>-<time>.dump and its .sha256')
          .example('$0 backup --out /srv/phase.dump', 'A file of your choice (never rotated)'),
      (a) =>
        run(async () => {
          const { runBackup } = await import('./commands/backup.js');
          return runBackup({ ...stackArgs(a), out: a.out, dir: a.dir, keep: a.keep }, io);
        })(),
    )
    .command(
      'restore <backup>',
      'Restore a backup: confirm, stop the app services (dependents first), pg_restore --clean in one transaction, start them again in dependency order',
      (y) =>
        specOption(y)
          .positional('backup', { type: 'string', describe: 'Dump file written by `backup`' })
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Do not ask' })
          .example('$0 restore backups/phase-20261123T120000Z.dump', 'Asks first; checks the .sha256 and the dump before stopping anything'),
      (a) =>
        run(async () => {
          const { runRestore } = await import('./commands/restore.js');
          return runRestore({ ...stackArgs(a), backup: String(a.backup), yes: a.yes }, io);
        })(),
    )
    .command(
      'up [services..]',
      'Start the stack in dependency order: data, pre-deploy migrations, app, post-deploy migrations, proxy',
      (y) =>
        y
          .positional('services', { type: 'string', array: true, describe: 'Only these services (and what they wait for)' })
          .option('timeout', { type: 'string', default: '5m', requiresArg: true, coerce: duration('timeout'), describe: 'Give up when not everything is ready after this long (e.g. 90s, 5m; a bare number is seconds)' })
          .option('force-migrations', { type: 'boolean', default: false, describe: 'Run the migration jobs even when their check says nothing is pending' })
          .option('json', { type: 'boolean', default: false, describe: 'JSON lines on stdout (state changes, then one result object)' })
          .example('$0 up', 'Start ./phase-compose.yaml\'s stack; migrations run only when pending, after a backup')
          .example('$0 -f deploy/phase-compose.yaml -p phase-staging up --timeout 2m', 'Another spec and project name')
          .example('$0 up --json | jq -c .', 'Machine-readable progress')
          .epilogue(`Compose creates every container (a plain \`docker compose up\` on the generated file keeps working);
phase-compose starts each one as soon as what it waits for is ready, seen from Docker events and from
running the service's own healthcheck at a short cadence. Nothing that waits on a failed job is created.
On a failure it prints the service, exit code, health log, last 50 lines and the \`docker logs\` command,
and keeps the failed container. Ctrl-C stops waiting and leaves containers as they are.
Before pending migrations run, the database is backed up when the spec asks for it (migrations.backup),
except a database whose volume this very run created: it holds nothing yet, and every migration is
taken as pending without running the check.

${EXIT_CODES_HELP}`),
      (a) =>
        run(async () => {
          const { runUpCommand } = await import('./commands/up.js');
          return runUpCommand({ ...stackArgs(a), timeout: a.timeout, forceMigrations: a['force-migrations'], json: a.json, services: a.services as string[] | undefined }, io, exitCodeOf);
        })(),
    )
    .command(
      'migrate',
      'Run the migration jobs alone (data services are started if needed); skipped when nothing is pending',
      (y) =>
        specOption(y)
          .option('phase', { type: 'string', requiresArg: true, choices: ['pre', 'post'], describe: 'Only this phase (default: pre, then post)' })
          .option('force', { type: 'boolean', default: false, describe: 'Run even when the check says nothing is pending' })
          .option('timeout', { type: 'string', default: '10m', requiresArg: true, coerce: duration('timeout'), describe: 'Give up after this long' })
          .option('json', { type: 'boolean', default: false, describe: 'JSON lines on stdout' })
          .example('$0 migrate', 'Pending pre- then post-deploy migrations, with the backup the spec asks for')
          .example('$0 migrate --phase post', 'Only the post-deploy phase, once the new code is live'),
      (a) =>
        run(async () => {
          const { runMigrateCommand } = await import('./commands/up.js');
          return runMigrateCommand({ ...stackArgs(a), timeout: a.timeout, forceMigrations: a.force, json: a.json, phase: a.phase as 'pre' | 'post' | undefined }, io, exitCodeOf);
        })(),
    )
    .command(
      'down',
      'Stop and remove the stack\'s containers and networks (volumes too with -v)',
      (y) =>
        specOption(y)
          .option('volumes', { alias: 'v', type: 'boolean', default: false, describe: 'Also remove named volumes: THE DATABASE IS DELETED' })
          .example('$0 down', 'Stop and remove containers; data volumes stay')
          .example('$0 down -v', 'Remove everything, data included'),
      (a) =>
        run(async () => {
          const { runDown } = await import('./commands/down.js');
          return runDown({ ...stackArgs(a), volumes: a.volumes }, io);
        })(),
    )
    .command(
      'status',
      'Table of service, role, state, health, since, and whether migrations are pending',
      (y) =>
        specOption(y)
          .option('json', { type: 'boolean', default: false, describe: 'One JSON object instead of the table' })
          .option('check-migrations', { type: 'boolean', default: true, describe: 'Run the migration checks (a throwaway container each); --no-check-migrations skips them' })
          .example('$0 status', 'What runs and whether migrations are pending')
          .example('$0 status --json', 'For scripts'),
      (a) =>
        run(async () => {
          const { runStatus } = await import('./commands/status.js');
          return runStatus({ ...stackArgs(a), json: a.json, checkMigrations: a['check-migrations'] }, io);
        })(),
    )
    .demandCommand(1, 'Name a command: init, generate, validate, up, down, status, migrate, ... (see --help)')
    .strict()
    .recommendCommands()
    .epilogue(EXIT_CODES_HELP)
    // No hard wrap: yargs's ESM build (the fast one to load) breaks lines mid-word; terminals soft-wrap.
    .wrap(null)
    .help()
    .alias('help', 'h')
    .version(VERSION)
    // --help and --version return like any command (exit code 0) instead of calling process.exit.
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs's own checks (and the argument checks above, which it wraps) are usage errors.
      if (err && err.name !== 'YError') throw err;
      throw new PhaseComposeError('usage', err?.message ?? msg, { details: ['see `phase-compose --help`'] });
    });
}

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
    exit.code = reportError(e, io);
  }
  return exit.code;
}

/** Runs the CLI with process arguments. */
export async function main(): Promise<void> {
  process.exitCode = await runCli(hideBin(process.argv), processIo());
}
