// `phase-compose exec` and its subcommands: options and help; the implementations are in
// src/cli/commands/exec.ts.
import { defineCommand, stackArgs } from '../command.js';
import { PhaseComposeError } from '../../util/errors.js';
import { count } from '../options.js';

const load = () => import('../commands/exec.js');

/** What Ctrl-C does to a running task (every exec subcommand but shell says it). */
const STOPS = 'Ctrl-C or SIGTERM stops the task itself: it gets the signal in its container (the same signal again, half a second or more later: SIGKILL), and exec exits 130 once it ended. During a purge\'s VACUUM, psql gets it and the server cancels the VACUUM.';

const purge = defineCommand({
  command: 'purge [organisation]',
  describe: 'Delete READ audit events older than --retain days (Phase\'s purge_app_logs), with a size report before and after',
  builder: (p, exitCodes) =>
    p
      .epilogue(exitCodes)
      .epilogue(STOPS)
      .positional('organisation', { type: 'string', describe: 'Organisation name (passed verbatim: spaces, quotes, ; are fine); one that starts with - goes as --org=NAME' })
      // A positional cannot start with `-` (yargs reads it as options): `--org=-Acme` can (until 2026-11-29 such an organisation could not be named).
      .option('org', { type: 'string', requiresArg: true, describe: 'The organisation, as an option: --org=NAME takes any name, also one starting with -' })
      .option('retain', { type: 'number', requiresArg: true, coerce: count('retain', 700_000, 'the app counts back from today in Python dates, which end at year 1'), describe: 'Days of READ events to keep (app default 30; 0 deletes all)' })
      .option('app-id', { type: 'string', requiresArg: true, describe: 'Only this app' })
      .option('batch-size', { type: 'number', requiresArg: true, coerce: count('batch-size', undefined, undefined, 1), describe: 'Rows per batch (app default 10000; at least 1)' })
      .option('sleep-ms', { type: 'number', requiresArg: true, coerce: count('sleep-ms'), describe: 'Pause between batches (app default 500)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Count what would be deleted; delete nothing' })
      .option('vacuum', { type: 'boolean', default: false, describe: 'VACUUM (ANALYZE) the table afterwards' })
      .option('vacuum-full', { type: 'boolean', default: false, describe: 'VACUUM FULL ANALYZE afterwards: returns disk space, LOCKS the table (asks first)' })
      .example('$0 exec purge "Acme Inc" --retain 90 --vacuum', 'Keep 90 days of read events')
      .example('$0 exec purge "Acme Inc" --retain 90 --dry-run', 'How many would go')
      .example('$0 exec purge --org=-Acme --dry-run', 'An organisation whose name starts with -'),
  run: async (a, { io }) => {
    // Two keys: yargs lets a positional silently win over an option of its name.
    if (a.organisation !== undefined && a.org !== undefined) throw new PhaseComposeError('usage', 'the organisation is given twice (as <organisation> and --org): give it once');
    const org = a.organisation ?? a.org;
    if (org === undefined || org === '') throw new PhaseComposeError('usage', 'name the organisation: exec purge <organisation>, or --org=NAME (for a name that starts with -)');
    return (await load()).runExecPurge({ ...a, ...stackArgs(a), yes: Boolean(a.yes), org: String(org) }, io);
  },
});

const sso = defineCommand({
  command: 'sso',
  describe: 'Show or undo an organisation\'s SSO set-up (Phase\'s disable_org_sso)',
  builder: (p, exitCodes) =>
    p
      .epilogue(exitCodes)
      .option('org', { type: 'string', requiresArg: true, demandOption: true, describe: 'Organisation name' })
      .option('show', { type: 'boolean', describe: 'Print the SSO state' })
      .option('disable-enforcement', { type: 'boolean', describe: 'Turn off "require SSO"' })
      .option('delete-providers', { type: 'boolean', describe: 'Delete the organisation\'s SSO providers' })
      .example('$0 exec sso --org "Acme Inc" --show', 'Print the SSO state')
      .example('$0 exec sso --org "Acme Inc" --disable-enforcement', 'Let members log in with a password again'),
  run: async (a, { io }) => (await load()).runExecSso({ ...a, ...stackArgs(a), yes: Boolean(a.yes), org: String(a.org) }, io),
});

const resetNetworkPolicies = defineCommand({
  command: 'reset-network-policies',
  describe: 'Make every network access policy non-global (Phase\'s documented reset) and report how many changed',
  builder: (p, exitCodes) =>
    p
      .epilogue(exitCodes)
      .option('service', { type: 'string', requiresArg: true, describe: 'Service to run it in (default: the spec\'s task, else the first app service)' })
      .example('$0 exec reset-network-policies', 'After a policy locked everyone out'),
  run: async (a, { io }) => (await load()).runExecReset({ ...stackArgs(a), yes: Boolean(a.yes), service: a.service }, io),
});

/** Words passed on as typed (until 2026-11-28 yargs turned 0x10 into 16 and a tag 1.10 into 1.1). */
const VERBATIM = { 'parse-numbers': false, 'parse-positional-numbers': false } as const;

const run = defineCommand({
  command: 'run <service> [argv..]',
  describe: 'Run any command (argv after --) in a service\'s running container',
  // The words are an argv as typed: yargs would make numbers of them (0x10 -> 16, 1.10 -> 1.1).
  builder: (p, exitCodes) => p.epilogue(exitCodes).epilogue(STOPS).parserConfiguration(VERBATIM).positional('service', { type: 'string' }).example('$0 exec run backend -- python manage.py check', 'Run Django\'s system check in the backend'),
  // `exec run svc -- a b`: the argv is what follows --. Words before it went through yargs, which took the
  // global options out of them (`exec run backend psql -p 5432` set the project name and ran `psql`): refused.
  run: async (a, { io }) => {
    const before = ((a.argv as unknown[]) ?? []).map(String);
    if (before.length) {
      throw new PhaseComposeError('usage', `exec run: put the command after --, e.g. \`exec run ${String(a.service)} -- ${before.join(' ')} ...\``, {
        details: ['before --, phase-compose reads its own options (-p, -f, -y) out of the words, so the command would not run as typed'],
      });
    }
    return (await load()).runExecRun({ ...stackArgs(a), service: String(a.service), argv: a._.slice(2).map(String) }, io);
  },
});

const shell = defineCommand({
  command: 'shell [service]',
  describe: 'Open an interactive shell in a service\'s running container',
  builder: (p, exitCodes) =>
    p
      .epilogue(exitCodes)
      .positional('service', { type: 'string' })
      .option('shell', { type: 'string', requiresArg: true, default: 'sh', describe: 'Shell program' })
      .example('$0 exec shell backend', 'A shell in the backend container')
      .example('$0 exec shell postgres --shell bash', 'Another shell program'),
  run: async (a, { io }) => (await load()).runExecShell({ ...stackArgs(a), service: a.service, shell: a.shell }, io),
});

/** `exec <task> [args..]`: the default subcommand; its words are parsed against the task's parameters, not by yargs. */
const task = defineCommand({
  command: '$0 <task> [args..]',
  describe: 'Any maintenance task in the spec: parameters as --name value (the first required one may be positional)',
  builder: (p) => p.strict(false).parserConfiguration({ ...VERBATIM, 'unknown-options-as-args': true, 'populate--': true }),
  run: async (a, { io }) => {
    const words = [...((a.args as unknown[]) ?? []), ...(a['--'] ? ['--', ...(a['--'] as unknown[])] : [])].map(String);
    return (await load()).runExecTask({ ...stackArgs(a), yes: Boolean(a.yes), task: String(a.task), words }, io);
  },
});

export default defineCommand({
  command: 'exec',
  describe: 'Run a maintenance task in the running stack: purge, sso, reset-network-policies, run, shell, or any task in the spec',
  builder: (y, exitCodes) =>
    y
      .epilogue(exitCodes)
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'Confirm destructive steps without asking' })
      .example('$0 exec purge "Acme Inc" --retain 90 --vacuum', 'Purge old read events, then VACUUM')
      .example('$0 exec sso --org "Acme Inc" --show', 'See why nobody can log in')
      .example('$0 exec purge --help', 'Each subcommand has its own help')
      .epilogue(STOPS),
  commands: [purge, sso, resetNetworkPolicies, run, shell, task],
});
